// fastify + @fastify/http-proxy with its defaults (undici upstream pool via
// @fastify/reply-from), logger off. With TLS files it serves h2 (and
// HTTP/1.1 by ALPN); WebSocket forwarding through the plugin's ws support.

import { fastify } from 'fastify';
import fastifyHttpProxy from '@fastify/http-proxy';
import { exitOnSigterm, readPeerOptions } from './peer-options.js';

const options = readPeerOptions(process.argv.slice(2));
const upstream = `http://127.0.0.1:${options.upstreamPort}`;

const listen = { host: '127.0.0.1', port: options.port };

// Two branches because the HTTP/1.1 and HTTP/2 instances have different types.
if (options.tls === null) {
  const app = fastify({ logger: false });
  await app.register(fastifyHttpProxy, { upstream, websocket: true });
  await app.listen(listen);
} else {
  const app = fastify({ logger: false, http2: true, https: { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true } });
  await app.register(fastifyHttpProxy, { upstream });
  await app.listen(listen);
}
exitOnSigterm();
