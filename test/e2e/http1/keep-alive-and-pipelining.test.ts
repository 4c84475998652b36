/**
 * Persistent connections on both legs: many requests on one client
 * connection over one reused upstream connection, pipelined requests
 * answered in order however their bytes are split, and the HTTP/1.0 and
 * Connection: close rules for when a connection ends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { RawClient, parseResponses } from '../harness/raw-client.js';
import { httpRequest } from '../harness/http-request.js';

let origin: RecordingOrigin;
let proxy: ProxyHandle;

before(async () => {
  origin = await startRecordingOrigin({
    respond(rec, res) {
      const body = `${rec.method} ${rec.url} ${rec.bodyBytes}`;
      // A slow first answer makes the later pipelined requests wait behind it.
      const delay = rec.url.includes('very-slow') ? 150 : rec.url.includes('slow') ? 30 : 0;
      setTimeout(() => {
        res.setHeader('content-length', Buffer.byteLength(body));
        res.end(body);
      }, delay);
    },
  });
  proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

test('serves 50 requests on one client connection over one reused upstream connection', async () => {
  // First test of the file: the pool starts empty.
  assert.equal(origin.connections, 0);
  const before = proxy.upstream('origin');
  const beforeConnections = proxy.stats().connectionsTotal;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 50; i++) {
    const r = await httpRequest(proxy.port, { path: `/ka/${i}`, agent, method: i % 2 ? 'POST' : 'GET', body: i % 2 ? `body-${i}` : undefined });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), i % 2 ? `POST /ka/${i} ${`body-${i}`.length}` : `GET /ka/${i} 0`);
  }
  agent.destroy();
  const after = proxy.upstream('origin');
  assert.equal(proxy.stats().connectionsTotal - beforeConnections, 1);
  assert.equal(after.requests - before.requests, 50);
  assert.equal(after.connects - before.connects, 1);
  assert.equal(after.reuses - before.reuses, 49);
  assert.equal(origin.connections, 1);
  assert.equal(after.active, 0);
  assert.equal(after.idle, 1);
});

test('answers three pipelined requests sent in one write in order', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /p/slow-1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p/2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /p/3 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /p/4 HTTP/1.1\r\nHost: a\r\n\r\n');
  const rs = await c.responses(4);
  assert.deepEqual(rs.map((r) => r.body.toString()), ['GET /p/slow-1 0', 'GET /p/2 0', 'POST /p/3 5', 'GET /p/4 0']);
  assert.equal(c.closed, false);
  c.destroy();
});

test('answers pipelined requests split across writes at every awkward boundary', async () => {
  const wire = 'GET /q/slow-1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /q/2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /q/3 HTTP/1.1\r\nHost: a\r\n\r\n';
  // Cuts inside the request line, inside CRLFCRLF, inside the chunk framing, and between requests.
  const cuts = [5, 33, 34, 60, 90, 101, 104, 110, 118];
  const c = await RawClient.connect(proxy.port);
  let from = 0;
  for (const cut of [...cuts, wire.length]) {
    c.write(wire.slice(from, cut));
    from = cut;
    await new Promise((r) => setTimeout(r, 5));
  }
  const rs = await c.responses(3);
  assert.deepEqual(rs.map((r) => r.body.toString()), ['GET /q/slow-1 0', 'POST /q/2 3', 'GET /q/3 0']);
  c.destroy();
});

test('answers 20 pipelined requests written in 7-byte pieces in order', async () => {
  let wire = '';
  for (let i = 0; i < 20; i++) wire += `GET /b/${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
  const c = await RawClient.connect(proxy.port);
  c.socket.setNoDelay(true);
  for (let i = 0; i < wire.length; i += 7) c.write(wire.slice(i, i + 7));
  const rs = await c.responses(20);
  assert.deepEqual(rs.map((r) => r.body.toString()), Array.from({ length: 20 }, (_, i) => `GET /b/${i} 0`));
  c.destroy();
});

test('closes after answering a request with Connection: close', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /c/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const [r] = await c.responses(1);
  assert.equal(r!.get('connection'), 'close');
  assert.equal(await c.waitClosed(1000), true);
});

test('ignores requests pipelined after one with Connection: close', async () => {
  const before = origin.requests.length;
  const c = await RawClient.connect(proxy.port);
  c.write('GET /d/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /d/2 HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(await c.waitClosed(1000), true);
  const rs = parseResponses(c.received, [], true);
  assert.equal(rs.length, 1);
  assert.equal(rs[0]!.body.toString(), 'GET /d/1 0');
  assert.deepEqual(origin.requests.slice(before).map((r) => r.url), ['/d/1']);
});

test('closes an HTTP/1.0 connection after the response unless keep-alive was asked for', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /e/1 HTTP/1.0\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  assert.equal(r!.status, 200);
  assert.equal(await c.waitClosed(1000), true);
});

test('keeps an HTTP/1.0 connection that asked for keep-alive and says so in the response', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /f/1 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
  const [r1] = await c.responses(1);
  assert.equal(r1!.body.toString(), 'GET /f/1 0');
  // An HTTP/1.0 client only keeps the connection when the response says keep-alive (RFC 9112 9.3).
  assert.equal(r1!.get('connection')?.toLowerCase(), 'keep-alive');
  c.write('GET /f/2 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
  const rs = await c.responses(2);
  assert.equal(rs[1]!.body.toString(), 'GET /f/2 0');
  assert.equal(c.closed, false);
  c.destroy();
});

test('closes the client connection after maxRequestsPerConnection requests', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, server: { limits: { maxRequestsPerConnection: 3 } } }));
  try {
    const c = await RawClient.connect(p.port);
    c.write('GET /g/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /g/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /g/3 HTTP/1.1\r\nHost: a\r\n\r\nGET /g/4 HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await c.waitClosed(2000), true);
    const rs = parseResponses(c.received, [], true);
    assert.deepEqual(rs.map((r) => r.body.toString()), ['GET /g/1 0', 'GET /g/2 0', 'GET /g/3 0']);
    assert.equal(rs[2]!.get('connection'), 'close');
  } finally {
    await p.close();
  }
});

test('answers 10000 pipelined requests that the proxy answers itself (404) without exhausting the stack', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, routes: [{ path: '/only', upstream: 'origin' }] }));
  try {
    const count = 10_000;
    const c = await RawClient.connect(p.port);
    c.write('GET /missing HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(count));
    const rs = await c.responses(count, [], 10_000);
    c.destroy();
    assert.equal(rs.length, count);
    assert.equal(rs.every((r) => r.status === 404), true);
  } finally {
    await p.close();
  }
});

test('resumes a client paused for pipelining when its buffered bytes end mid-head', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, routes: [{ path: '/r/*', upstream: 'origin' }] }));
  try {
    // While a slow request is in flight: 40 requests of ~2 KiB that the proxy answers itself
    // (404), more than the 64 KiB it buffers before pausing the client, and the write ends
    // inside the next head.
    const pad = 'x'.repeat(2000);
    let wire = '';
    for (let i = 1; i <= 40; i++) wire += `GET /missing/${i} HTTP/1.1\r\nHost: a\r\nX-Pad: ${pad}\r\n\r\n`;
    const c = await RawClient.connect(p.port);
    c.write('GET /r/very-slow-0 HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50)); // upstream connected, answer due in 100 ms more
    c.write(wire + 'GET /r/last HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 300));
    c.write('st: a\r\n\r\n');
    const rs = await c.responses(42, [], 3000);
    c.destroy();
    assert.equal(rs[0]!.body.toString(), 'GET /r/very-slow-0 0');
    assert.equal(rs.slice(1, 41).every((r) => r.status === 404), true);
    assert.equal(rs[41]!.body.toString(), 'GET /r/last 0');
  } finally {
    await p.close();
  }
});
