/**
 * The admin listener: health, stats, the running config (secrets redacted),
 * reload and stop. Loopback-only by default; a bearer token is required
 * whenever it is bound elsewhere (the config loader refuses a non-loopback
 * admin without a token). Never on the request path. GET /metrics and the
 * GET /stream WebSocket (live stats for `zproxy top`) are served when the
 * backend provides them.
 */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { AdminConfig } from '../../src/config/types.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus-text.js';
import { StatsStream } from './stats-stream.js';

export interface AdminBackend {
  ready(): boolean;
  stats(): Promise<unknown>;
  config(): unknown;
  reload(): Promise<{ ok: true; generation: number } | { ok: false; error: string }>;
  stop(): void;
  /** /readyz with a reason; when absent, ready() alone decides. */
  readiness?(): { ready: boolean; detail: string };
  /** GET /metrics: Prometheus text exposition. */
  metrics?(): Promise<string>;
  /** One snapshot for the GET /stream WebSocket, pushed every second. */
  liveSnapshot?(): Promise<unknown>;
  /** POST /cache/purge: removes cached responses by key, key prefix or all; resolves to how many. Absent: no cache runs. */
  cachePurge?(req: { key: string } | { prefix: string } | { all: true }): Promise<number>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Admin request bodies are tiny; past this the request is refused rather than buffered. */
const PURGE_BODY_LIMIT = 64 * 1024;

function readPurgeRequest(req: http.IncomingMessage): Promise<{ key: string } | { prefix: string } | { all: true } | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= PURGE_BODY_LIMIT) chunks.push(c);
    });
    req.on('end', () => {
      if (size > PURGE_BODY_LIMIT) return resolve(undefined);
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        if (typeof v.key === 'string') return resolve({ key: v.key });
        if (typeof v.prefix === 'string') return resolve({ prefix: v.prefix });
        if (v.all === true) return resolve({ all: true });
      } catch { /* not JSON: refused below */ }
      resolve(undefined);
    });
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

export function startAdminServer(config: AdminConfig, backend: AdminBackend): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    if (config.token !== undefined && !tokenMatches(req.headers.authorization, config.token)) {
      res.setHeader('www-authenticate', 'Bearer realm="zproxy-admin"');
      return send(res, 401, 'admin token required\n');
    }
    const url = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${url}`;
    switch (route) {
      case 'GET /healthz':
        return send(res, 200, 'ok\n');
      case 'GET /readyz': {
        if (!backend.readiness) return backend.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
        const r = backend.readiness();
        return send(res, r.ready ? 200 : 503, r.ready ? 'ready\n' : `not ready: ${r.detail}\n`);
      }
      case 'GET /metrics':
        if (!backend.metrics) return send(res, 404, 'metrics are off\n');
        backend.metrics().then((text) => {
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
          res.end(text);
        }, (e: Error) => send(res, 500, `metrics failed: ${e.message}\n`));
        return;
      case 'GET /stats':
        backend.stats().then((s) => send(res, 200, s), (e: Error) => send(res, 500, `stats failed: ${e.message}\n`));
        return;
      case 'GET /config':
        return send(res, 200, backend.config());
      case 'POST /reload':
        backend.reload().then((r) => send(res, r.ok ? 200 : 422, r), (e: Error) => send(res, 500, { ok: false, error: e.message }));
        return;
      case 'POST /cache/purge':
        if (!backend.cachePurge) return send(res, 404, 'no cache is running\n');
        readPurgeRequest(req).then((p) => {
          if (p === undefined) return send(res, 400, 'expected a JSON body {"key": "host/path"}, {"prefix": "host/path-prefix"} or {"all": true}\n');
          return backend.cachePurge!(p).then((purged) => send(res, 200, { purged }));
        }).catch((e: Error) => send(res, 500, `purge failed: ${e.message}\n`));
        return;
      case 'POST /stop':
        send(res, 202, 'stopping\n');
        setImmediate(() => backend.stop());
        return;
      default:
        return send(res, 404, 'unknown admin endpoint; try /healthz /readyz /stats /metrics /config /stream, POST /reload, POST /stop\n');
    }
  });
  // GET /stream: the live stats WebSocket, under the same token rule as every other endpoint.
  const stream = backend.liveSnapshot ? new StatsStream(() => backend.liveSnapshot!()) : undefined;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: string, extra = ''): void => { socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n${extra}\r\n`); };
    if (config.token !== undefined && !tokenMatches(req.headers.authorization, config.token)) return refuse('401 Unauthorized', 'www-authenticate: Bearer realm="zproxy-admin"\r\n');
    if ((req.url ?? '/').split('?')[0] !== '/stream' || !stream) return refuse('404 Not Found');
    stream.handleUpgrade(req, socket, head);
  });
  server.on('close', () => stream?.close());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
