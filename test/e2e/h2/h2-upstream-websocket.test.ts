/**
 * WebSocket over HTTP/2 (RFC 8441): a raw node:http2 client sends an
 * extended CONNECT (:protocol websocket) to zproxy, which runs the route's
 * middleware and tunnels it to a `ws` WebSocketServer as an HTTP/1.1
 * Upgrade. Frames are written by hand on the stream (client frames masked,
 * RFC 6455 5.3).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';

let server: http.Server;
let wss: WebSocketServer;
let proxy: ProxyHandle;
const upgrades: http.IncomingHttpHeaders[] = [];

before(async () => {
  server = http.createServer((_req, res) => { res.statusCode = 404; res.end('not a websocket'); });
  wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
    verifyClient: (info, cb) => cb(!info.req.url?.startsWith('/reject'), 403, 'Forbidden'),
  });
  wss.on('connection', (ws, req) => {
    upgrades.push(req.headers);
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo: ${String(data)}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const cfg = proxyConfig({
    upstreams: { ws: [(server.address() as AddressInfo).port] },
    routes: [
      { path: '/guarded', upstream: 'ws', middleware: ['key'] },
      { path: '/*', upstream: 'ws' },
    ],
    middleware: { key: { type: 'api-key', keys: [{ name: 'tester', key: 'sesame' }] } },
  });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['h2c'];
  proxy = await startProxy(cfg);
});

after(async () => {
  await proxy?.close();
  wss?.close();
  await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
});

/** An h2c session to the proxy once its SETTINGS (with ENABLE_CONNECT_PROTOCOL) arrived. */
function connect(): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${proxy.port}`);
    s.once('error', reject);
    s.once('remoteSettings', (settings) => {
      s.removeListener('error', reject);
      if (settings.enableConnectProtocol !== true) reject(new Error('the proxy did not enable extended CONNECT'));
      else resolve(s);
    });
  });
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  assert.ok(payload.length < 126);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** Reads one unmasked server frame (payload < 126 bytes) from the stream. */
function readFrame(stream: http2.ClientHttp2Stream): Promise<{ opcode: number; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 2) return;
      const len = buf[1]! & 0x7f;
      if (buf.length < 2 + len) return;
      stream.removeListener('data', onData);
      resolve({ opcode: buf[0]! & 0x0f, payload: buf.subarray(2, 2 + len) });
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}

function extendedConnect(s: http2.ClientHttp2Session, path: string, extra: http2.OutgoingHttpHeaders = {}): Promise<{ stream: http2.ClientHttp2Stream; headers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': path, ':authority': 'chat.test', 'sec-websocket-version': '13', ...extra }, { endStream: false });
    stream.once('response', (headers) => resolve({ stream, headers }));
    stream.once('error', reject);
  });
}

test('an extended CONNECT is tunnelled to a WebSocket upstream: 200, subprotocol, frames both ways, clean close', async () => {
  const s = await connect();
  try {
    const { stream, headers } = await extendedConnect(s, '/chat?room=1', { 'sec-websocket-protocol': 'chat' });
    assert.equal(headers[':status'], 200);
    assert.equal(headers['sec-websocket-protocol'], 'chat');
    const up = upgrades.at(-1)!;
    assert.equal(up.upgrade, 'websocket');
    assert.match(String(up['sec-websocket-key']), /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(up.host, 'chat.test');
    assert.equal(up['x-forwarded-for'], '127.0.0.1');
    stream.write(maskedFrame(0x1, Buffer.from('hello over h2')));
    const reply = await readFrame(stream);
    assert.equal(reply.opcode, 0x1);
    assert.equal(reply.payload.toString(), 'echo: hello over h2');
    const ended = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    stream.write(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
    const close = await readFrame(stream);
    assert.equal(close.opcode, 0x8);
    assert.equal(close.payload.readUInt16BE(0), 1000);
    stream.end();
    await ended;
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
  } finally {
    s.destroy(); // a failed assertion may leave a tunnel open: close() would wait for it
  }
});

test('the middleware chain answers an extended CONNECT before the upstream sees it', async () => {
  const before = upgrades.length;
  const s = await connect();
  try {
    const refused = await extendedConnect(s, '/guarded');
    assert.equal(refused.headers[':status'], 401);
    refused.stream.close();
    const allowed = await extendedConnect(s, '/guarded', { 'x-api-key': 'sesame' });
    assert.equal(allowed.headers[':status'], 200);
    assert.equal(upgrades.length, before + 1);
    allowed.stream.close();
  } finally {
    s.destroy(); // a failed assertion may leave a tunnel open: close() would wait for it
  }
});

test('an upstream that does not switch protocols answers the stream with its status', async () => {
  const before = upgrades.length;
  const s = await connect();
  try {
    const r = await extendedConnect(s, '/reject');
    assert.equal(r.headers[':status'], 403);
    assert.equal(upgrades.length, before);
  } finally {
    s.destroy(); // a failed assertion may leave a tunnel open: close() would wait for it
  }
});
