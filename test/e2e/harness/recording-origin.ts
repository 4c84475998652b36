/**
 * A node:http origin that records every request it receives: method, url,
 * headers (raw pairs too), body length and SHA-256, trailers. Its default
 * answer echoes what it saw, so a test can check both ends. `connections`
 * counts TCP connections accepted, so "the upstream received nothing" is
 * `connections === 0`.
 */
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';

export interface RecordedRequest {
  method: string;
  url: string;
  httpVersion: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  bodySha256: string;
  trailers: NodeJS.Dict<string>;
  /** Index of the TCP connection (0-based, in accept order) that carried it. */
  connection: number;
}

export interface RecordingOriginOptions {
  /** Answers a request once its body was read; default: 200 with `METHOD URL BYTES` as the body. */
  respond?: (rec: RecordedRequest, res: http.ServerResponse, req: http.IncomingMessage) => void;
  /** Takes over a request as soon as its head arrives (the body is still recorded). */
  onHead?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** node:http 'checkContinue': a request with Expect: 100-continue; default writes 100 then records. */
  checkContinue?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

export interface RecordingOrigin {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Sockets whose 'close' was seen, by connection index. */
  readonly closedConnections: Set<number>;
  readonly server: http.Server;
  close(): Promise<void>;
}

export function defaultRespond(rec: RecordedRequest, res: http.ServerResponse): void {
  const body = `${rec.method} ${rec.url} ${rec.bodyBytes}`;
  res.setHeader('content-type', 'text/plain');
  res.setHeader('x-origin-body-sha256', rec.bodySha256);
  res.end(body);
}

/** defaultRespond, after `ms` for a path /delay/<ms>...: a connection that is mid-exchange on purpose. */
export function delayedRespond(rec: RecordedRequest, res: http.ServerResponse): void {
  const m = /^\/delay\/(\d+)/.exec(rec.url);
  if (m) setTimeout(() => defaultRespond(rec, res), Number(m[1]));
  else defaultRespond(rec, res);
}

export async function startRecordingOrigin(options: RecordingOriginOptions = {}): Promise<RecordingOrigin> {
  const requests: RecordedRequest[] = [];
  const closed = new Set<number>();
  const connectionIndex = new WeakMap<net.Socket, number>();
  let connections = 0;
  const respond = options.respond ?? defaultRespond;

  const record = (req: http.IncomingMessage, res: http.ServerResponse, after: ((rec: RecordedRequest) => void) | undefined): void => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        trailers: req.trailers,
        connection: connectionIndex.get(req.socket) ?? -1,
      };
      requests.push(rec);
      after?.(rec);
    });
    req.on('error', () => {});
    res.on('error', () => {});
  };

  const server = http.createServer((req, res) => {
    if (options.onHead) {
      record(req, res, undefined);
      options.onHead(req, res);
      return;
    }
    record(req, res, (rec) => respond(rec, res, req));
  });
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (options.checkContinue) {
      options.checkContinue(req, res);
      return;
    }
    res.writeContinue();
    record(req, res, (rec) => respond(rec, res, req));
  });
  server.on('connection', (socket: net.Socket) => {
    const i = connections++;
    connectionIndex.set(socket, i);
    socket.on('close', () => closed.add(i));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  // Unref'd: a test that fails before its cleanup must not keep the test file's process alive (a hang, not a failure).
  server.unref();
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    get connections() { return connections; },
    closedConnections: closed,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Records the SHA-256 and length of a request body without holding it (for the caller's own handler). */
export function hashStream(stream: NodeJS.ReadableStream): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    stream.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.on('error', reject);
  });
}
