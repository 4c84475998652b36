/**
 * WebSocket test pieces: a `ws` echo server as the upstream (records the
 * handshake requests it saw) and a config with one route to it.
 */
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

export interface WsOrigin {
  readonly port: number;
  readonly server: WebSocketServer;
  /** Handshake requests the origin received, in order. */
  readonly upgrades: http.IncomingMessage[];
  /** Server-side sockets, in connection order. */
  readonly sockets: WebSocket[];
  close(): Promise<void>;
}

/**
 * Echoes every message (text stays text). `protocol` picks the subprotocol
 * from those offered; `refuse` answers the upgrade with that status instead.
 */
export async function startWsOrigin(opts: { pick?: (offered: Set<string>) => string | false; refuse?: number } = {}): Promise<WsOrigin> {
  const upgrades: http.IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  const httpServer = http.createServer((_req, res) => res.end('not a websocket request'));
  const server = new WebSocketServer({
    server: httpServer,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (offered) => (opts.pick ? opts.pick(offered) : false),
    verifyClient: (info, done) => {
      upgrades.push(info.req);
      if (opts.refuse !== undefined) done(false, opts.refuse, 'refused by origin');
      else done(true);
    },
  });
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    port: (httpServer.address() as net.AddressInfo).port,
    server,
    upgrades,
    sockets,
    async close() {
      for (const ws of server.clients) ws.terminate();
      server.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** Opens a client; resolves once open, rejects with the status of a refused handshake. */
export function openClient(url: string, protocols: string[] = [], headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, headers, maxPayload: 64 * 1024 * 1024 });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { statusCode: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** The next message on `ws`. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

/** Resolves with the close code and reason the peer sent (1006 when the connection just dropped). */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

/** Config with one catch-all route to `origin` and the given extras. */
export function wsConfig(originPort: number, extra: { group?: Record<string, unknown>; server?: Record<string, unknown>; middleware?: Record<string, unknown>; routeMiddleware?: string[]; route?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    server: { workers: 1, ...extra.server },
    listeners: [{ name: 'http', address: '127.0.0.1', port: 0 }],
    upstreams: { ws: { hosts: [`127.0.0.1:${originPort}`], ...extra.group } },
    routes: [{ name: 'ws', path: '/*', upstream: 'ws', middleware: extra.routeMiddleware ?? [], ...extra.route }],
    middleware: extra.middleware ?? {},
    logging: { access: { enabled: false } },
    admin: { enabled: false },
    demo: { enabled: false },
  };
}
