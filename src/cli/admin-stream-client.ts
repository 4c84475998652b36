/**
 * Client of the admin listener's live stats stream (GET /stream, a
 * WebSocket pushing one LiveSnapshot a second). Reconnects after a second
 * when the connection drops, so `zproxy top` survives a proxy restart.
 */
import WebSocket from 'ws';
import type { LiveSnapshot } from '../protocol/admin-stream.js';
import { LIVE_SNAPSHOT_VERSION } from '../protocol/admin-stream.js';

/** Wait before reconnecting: the stream's own period, so a restart shows within a refresh or two. */
const RECONNECT_MS = 1000;

export interface StreamHandlers {
  onSnapshot(snapshot: LiveSnapshot): void;
  /** The stream is down (refused, dropped, bad token): a message for the screen. */
  onTrouble(message: string): void;
}

/** ws://host:port/stream from the admin's http://host:port. */
export function streamUrl(admin: URL): string {
  const u = new URL('/stream', admin);
  u.protocol = admin.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

function parseSnapshot(data: WebSocket.RawData): LiveSnapshot | string {
  let value: unknown;
  try {
    value = JSON.parse(data.toString());
  } catch {
    return 'the admin stream sent something that is not JSON';
  }
  const v = value as { v?: unknown; error?: unknown };
  if (typeof v.error === 'string') return `the proxy could not build a snapshot: ${v.error}`;
  if (v.v !== LIVE_SNAPSHOT_VERSION) return `the admin stream speaks version ${String(v.v)}, this zproxy top reads ${LIVE_SNAPSHOT_VERSION}`;
  return value as LiveSnapshot;
}

export class AdminStreamClient {
  private ws: WebSocket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly admin: URL, private readonly token: string | undefined, private readonly handlers: StreamHandlers) {}

  connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(streamUrl(this.admin), { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, handshakeTimeout: 3000 });
    this.ws = ws;
    ws.on('message', (data) => {
      const s = parseSnapshot(data);
      if (typeof s === 'string') this.handlers.onTrouble(s);
      else this.handlers.onSnapshot(s);
    });
    ws.on('unexpected-response', (_req, res) => {
      this.handlers.onTrouble(res.statusCode === 401 ? 'the admin listener refused the token (pass --token or set ZPROXY_ADMIN_TOKEN)' : `the admin listener answered HTTP ${res.statusCode} to /stream`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => this.handlers.onTrouble(`cannot reach ${this.admin.origin}: ${err.code ?? err.message}`));
    ws.on('close', () => {
      if (this.ws !== ws || this.closed) return;
      this.retry = setTimeout(() => this.connect(), RECONNECT_MS);
    });
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.ws?.terminate();
  }
}

/**
 * The first `count` snapshots (for --once), or a rejection naming the
 * first trouble (refused, dropped, bad token) or the timeout.
 */
export function collectSnapshots(admin: URL, token: string | undefined, count: number, timeoutMs: number): Promise<LiveSnapshot[]> {
  return new Promise((resolve, reject) => {
    const got: LiveSnapshot[] = [];
    const client = new AdminStreamClient(admin, token, {
      onSnapshot(s) {
        got.push(s);
        if (got.length < count) return;
        clearTimeout(timer);
        client.close();
        resolve(got);
      },
      // A script wants an answer now, not retries: any trouble ends it.
      onTrouble(message) {
        clearTimeout(timer);
        client.close();
        reject(new Error(message));
      },
    });
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no snapshot within ${timeoutMs} ms`));
    }, timeoutMs);
    client.connect();
  });
}
