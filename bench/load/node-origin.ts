// The Node origin process: serves the fixed bodies, a POST sink that reads
// the whole body before answering, and (with --ws) a WebSocket echo. Used
// when nginx is not installed, and always for the WebSocket scenario, where
// nginx cannot echo. Usage: node node-origin.js --port P [--ws]

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { ORIGIN_BODIES, POST_REPLY, originBody } from './body-sizes.js';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1]);
const withWs = args.includes('--ws');

const bodies = new Map<string, Buffer>();
for (const { path, sizeBytes } of ORIGIN_BODIES) bodies.set(path, originBody(sizeBytes));
const postReply = Buffer.from(POST_REPLY);

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'POST' && req.url === '/post') {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': postReply.length });
      res.end(postReply);
    });
    return;
  }
  const body = req.url === undefined ? undefined : bodies.get(req.url);
  if (body === undefined) {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
}

const server = createServer(handle);
// Proxies keep pooled connections to the origin between rounds; Node's 5 s
// default idle timeout would close them mid-run and charge reconnects to the proxy.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
if (withWs) {
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('error', () => socket.terminate());
  });
}
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
