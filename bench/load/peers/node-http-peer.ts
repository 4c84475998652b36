// The Node baseline: the least a node:http reverse proxy can do. Hop-by-hop
// headers are dropped both ways (RFC 9110 §7.6.1) so the upstream connection
// stays pooled even when the client sends Connection: close; bodies are piped.
// With TLS files it serves h2 through node:http2's compatibility API (same
// handler); upgrades are spliced as raw bytes to the origin.

import { createServer, request, Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { exitOnSigterm, readPeerOptions } from './peer-options.js';

const options = readPeerOptions(process.argv.slice(2));
const UPSTREAM_HOST = '127.0.0.1';
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    // ':' starts HTTP/2 pseudo-headers, which have no place in HTTP/1.1.
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58) continue;
    out[name] = headers[name];
  }
  return out;
}

function ignore(): void {}

function forward(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const upstreamReq = request(
    { host: UPSTREAM_HOST, port: options.upstreamPort, method: req.method, path: req.url, headers: endToEnd(req.headers), agent },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, endToEnd(upstreamRes.headers));
      // pipeline, not pipe: when the client goes away mid-response the
      // upstream response is destroyed too, instead of sitting paused and
      // holding one of the agent's sockets forever.
      pipeline(upstreamRes, res as NodeJS.WritableStream, ignore);
    },
  );
  upstreamReq.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-length': 0 });
      res.end();
    } else {
      res.destroy();
    }
  });
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  (req as NodeJS.ReadableStream).pipe(upstreamReq);
}

function spliceUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const upstream: Socket = connect(options.upstreamPort, UPSTREAM_HOST, () => {
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    upstream.write(`${lines}\r\n`);
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  });
  upstream.setNoDelay(true);
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
}

if (options.tls === null) {
  const server = createServer(forward);
  server.keepAliveTimeout = 120_000;
  server.on('upgrade', spliceUpgrade);
  server.listen(options.port, '127.0.0.1');
} else {
  createSecureServer({ key: options.tls.key, cert: options.tls.cert, allowHTTP1: true }, forward).listen(options.port, '127.0.0.1');
}
exitOnSigterm();
