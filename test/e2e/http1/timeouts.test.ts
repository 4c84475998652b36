/**
 * Client-side timeouts: a silent connection, a slowloris head, an idle
 * keep-alive connection and a stalled request body are each cut at their
 * configured deadline (300 ms here; the session sweeps deadlines every
 * 100 ms, so each fires within [300, 300 + 100 + scheduling slack]).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { RawClient } from '../harness/raw-client.js';

const TIMEOUT_MS = 300;
/** Sweep interval (SWEEP_MS in session-actor.ts) plus scheduling slack on a busy 2-core machine. */
const LATE_MS = 100 + 300;

let origin: RecordingOrigin;
let proxy: ProxyHandle;

before(async () => {
  origin = await startRecordingOrigin();
  proxy = await startProxy(proxyConfig({
    upstreams: { origin: [origin.port] },
    server: { timeouts: { headerMs: TIMEOUT_MS, clientIdleMs: TIMEOUT_MS, clientBodyMs: TIMEOUT_MS } },
  }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

function assertAround(elapsed: number, what: string): void {
  assert.ok(elapsed >= TIMEOUT_MS - 10 && elapsed <= TIMEOUT_MS + LATE_MS, `${what} after ${elapsed.toFixed(0)} ms, expected ${TIMEOUT_MS} ms`);
}

test('closes a connection that sends nothing at headerMs, without a response', async () => {
  const c = await RawClient.connect(proxy.port);
  const started = performance.now();
  assert.equal(await c.waitClosed(2000), true);
  assertAround(c.closedAt - started, 'closed');
  assert.equal(c.received.length, 0);
});

test('answers 408 to a slowloris head at headerMs, however often bytes trickle in', async () => {
  const c = await RawClient.connect(proxy.port);
  const started = performance.now();
  c.write('GET /slow HTTP/1.1\r\nHost: a\r\n');
  const trickle = setInterval(() => { if (!c.closed) c.write('X-A: 1\r\n'); }, 50);
  try {
    assert.equal(await c.waitClosed(2000), true);
  } finally {
    clearInterval(trickle);
  }
  assertAround(c.closedAt - started, 'closed');
  const [r] = await c.responses(1);
  assert.equal(r!.statusLine, 'HTTP/1.1 408 Request Timeout');
  assert.equal(r!.get('connection'), 'close');
  assert.equal(origin.requests.some((q) => q.url === '/slow'), false);
});

test('closes an idle keep-alive connection at clientIdleMs after its last response', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /idle HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.responses(1);
  const answered = performance.now();
  assert.equal(await c.waitClosed(2000), true);
  assertAround(c.closedAt - answered, 'closed');
  assert.equal(proxy.stats().connections, 0);
});

test('answers 408 to a request body that stalls for clientBodyMs and drops the upstream leg', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('POST /stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
  const started = performance.now();
  assert.equal(await c.waitClosed(2000), true);
  assertAround(c.closedAt - started, 'answered');
  const [r] = await c.responses(1, ['POST']);
  assert.equal(r!.statusLine, 'HTTP/1.1 408 Request Timeout');
  assert.equal(r!.body.toString().split('\n')[0], '408 Request Timeout: request body not received in time');
  // The pooled connection of the earlier tests (or a new one) carried the partial body: all are closed now.
  assert.ok(origin.connections >= 1);
  for (let i = 0; i < 100 && origin.closedConnections.size < origin.connections; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(origin.closedConnections.size, origin.connections, 'the upstream connection carrying the partial body is closed');
  assert.equal(origin.requests.some((q) => q.url === '/stalled'), false);
  assert.equal(proxy.upstream('origin').idle, 0);
});

test('a body that keeps flowing is not cut by clientBodyMs', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('POST /flowing HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n');
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 60)); // 600 ms in all, never 300 ms silent
    c.write(String(i));
  }
  const [r] = await c.responses(1, ['POST']);
  c.destroy();
  assert.equal(r!.status, 200);
  assert.equal(r!.body.toString(), 'POST /flowing 10');
});

test('a client that never closes its side after a 400 is released by the proxy', async () => {
  // allowHalfOpen: this client reads the proxy's FIN and keeps its own side open forever.
  const s = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
  let received = '';
  let ended = false;
  s.on('data', (d) => (received += d.toString('latin1')));
  s.on('end', () => (ended = true));
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  s.write('GET / HTTP/1.1\r\n\r\n');
  const started = performance.now();
  while (proxy.openSockets() > 0 && performance.now() - started < 2000) await new Promise((r) => setTimeout(r, 10));
  const releasedAfter = performance.now() - started;
  s.destroy();
  assert.match(received, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.equal(ended, true);
  assert.equal(proxy.openSockets(), 0, 'the proxy closed its half-closed socket');
  assert.ok(releasedAfter <= TIMEOUT_MS + LATE_MS, `released after ${releasedAfter.toFixed(0)} ms`);
});
