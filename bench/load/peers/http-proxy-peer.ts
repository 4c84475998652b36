// node-http-proxy (the `http-proxy` package) as most Node users deploy it:
// one proxy.web() per request, proxy.ws() for upgrades, a keep-alive agent.
// No h2: http-proxy only serves node:http servers.

import { createServer, Agent, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import httpProxy from 'http-proxy';
import { exitOnSigterm, readPeerOptions } from './peer-options.js';

const options = readPeerOptions(process.argv.slice(2));
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${options.upstreamPort}`, agent, ws: true });

proxy.on('error', (_err, _req, res) => {
  const response = res as ServerResponse | Socket;
  if ('writeHead' in response && !response.headersSent) {
    response.writeHead(502, { 'content-length': 0 });
    response.end();
  } else {
    response.destroy();
  }
});

const server = createServer((req, res) => proxy.web(req, res));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
server.keepAliveTimeout = 120_000;
server.listen(options.port, '127.0.0.1');
exitOnSigterm();
