/**
 * server.overload (load shedding): while a threshold is exceeded, a request
 * on a connection already open gets 503 + Retry-After and the connection
 * closes, a new connection is refused the same way, and an HTTP/2 stream is
 * answered 503 while its session stays up; the upstream sees none of them.
 * When the pressure is gone, requests flow again. The threshold used is
 * the V8 heap (1 byte: surely exceeded), switched on and off by reload.
 * Also: the rebalancing side of the worker app, closeConnections().
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProxy } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { delayedRespond, startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { RawClient } from '../harness/raw-client.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { ZproxyConfig } from '../../../src/config/types.js';

let origin: RecordingOrigin;
// The harness's servers are unref'd; this keeps the loop alive while a test awaits a close.
let keepAlive: NodeJS.Timeout;

before(async () => {
  keepAlive = setInterval(() => {}, 1000);
  origin = await startRecordingOrigin({ respond: delayedRespond });
});

after(async () => {
  clearInterval(keepAlive);
  await origin.close();
});

function config(overload: Record<string, unknown>): Record<string, unknown> {
  const c = proxyConfig({ upstreams: { origin: [origin.port] } });
  (c.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['http1', 'h2c'];
  (c.server as Record<string, unknown>).overload = overload;
  return c;
}

const SHEDDING = { maxHeapUsedBytes: 1, sampleIntervalMs: 10 };

/** RawClient parses everything received on the connection: the nth GET's answer is the nth response. */
const sent = new WeakMap<RawClient, string[]>();

async function get(c: RawClient, path: string) {
  const methods = sent.get(c) ?? [];
  methods.push('GET');
  sent.set(c, methods);
  c.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  const all = await c.responses(methods.length, methods);
  return all[methods.length - 1]!;
}

function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':authority': 'a' });
    let body = '';
    let status = 0;
    let retryAfter: string | undefined;
    req.setEncoding('utf8');
    req.on('response', (h) => { status = Number(h[':status']); retryAfter = h['retry-after'] as string | undefined; });
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => resolve({ status, retryAfter, body }));
    req.on('error', reject);
    req.end();
  });
}

test('while overloaded, a request on an open connection and a new connection get 503 with Retry-After and a close; the upstream sees none; service resumes after', async () => {
  const p = await startProxy(config({}));
  const keep = await RawClient.connect(p.port);
  const fresh: RawClient[] = [];
  try {
    assert.equal((await get(keep, '/before')).statusLine, 'HTTP/1.1 200 OK');
    const seen = origin.requests.length;

    await p.app.reload(parseConfig(config(SHEDDING), 'overload-on', {}) as ZproxyConfig);
    await sleep(60); // a few samples

    const shed = await get(keep, '/shed');
    assert.equal(shed.statusLine, 'HTTP/1.1 503 Service Unavailable');
    assert.equal(shed.get('retry-after'), '1');
    assert.equal(shed.get('connection'), 'close');
    assert.equal(await keep.waitClosed(2000), true, 'the shed connection closes');

    const refused = await RawClient.connect(p.port);
    fresh.push(refused);
    const r = await get(refused, '/refused');
    assert.equal(r.statusLine, 'HTTP/1.1 503 Service Unavailable');
    assert.equal(r.get('retry-after'), '1');
    assert.equal(await refused.waitClosed(2000), true, 'a refused connection closes');

    assert.equal(origin.requests.length, seen, 'the upstream saw nothing while the proxy shed load');
    const stats = p.app.stats() as { overload: { overloaded: boolean; reason: string; shed: number } };
    assert.equal(stats.overload.overloaded, true);
    assert.equal(stats.overload.reason, 'heap-used');
    assert.equal(stats.overload.shed, 2);

    await p.app.reload(parseConfig(config({}), 'overload-off', {}) as ZproxyConfig);
    const again = await RawClient.connect(p.port);
    fresh.push(again);
    assert.equal((await get(again, '/after')).statusLine, 'HTTP/1.1 200 OK');
  } finally {
    keep.destroy();
    for (const c of fresh) c.destroy();
    await p.close();
  }
});

test('an event-loop stall past maxEventLoopDelayMs sheds for one sample: an HTTP/2 stream gets 503 while its session stays up, then streams flow again', async () => {
  const p = await startProxy(config({ maxEventLoopDelayMs: 100, sampleIntervalMs: 1000 }));
  const session = http2.connect(`http://127.0.0.1:${p.port}`);
  session.on('error', () => undefined);
  const overload = () => (p.app.stats() as { overload: { overloaded: boolean; reason: string; eventLoopDelayMs: number } }).overload;
  try {
    assert.equal((await h2Get(session, '/before-h2')).status, 200);
    assert.equal(overload().overloaded, false);
    const blockedUntil = Date.now() + 250;
    while (Date.now() < blockedUntil) { /* a stall the size of a slow synchronous plugin */ }
    const deadline = Date.now() + 3000;
    while (!overload().overloaded && Date.now() < deadline) await sleep(10);
    assert.equal(overload().reason, 'event-loop-delay', `delay seen: ${overload().eventLoopDelayMs} ms`);

    const h2 = await h2Get(session, '/shed-h2');
    assert.equal(h2.status, 503);
    assert.equal(h2.retryAfter, '1');
    assert.match(h2.body, /overloaded/);
    assert.equal(session.closed || session.destroyed, false, 'the HTTP/2 session stays up');

    // The next sample sees a quick loop again.
    const until = Date.now() + 3000;
    while (overload().overloaded && Date.now() < until) await sleep(20);
    assert.equal(overload().overloaded, false);
    assert.equal((await h2Get(session, '/after-h2')).status, 200);
  } finally {
    session.destroy();
    await p.close();
  }
});

test('closeConnections (rebalancing) closes idle keep-alive connections now and a busy one after its response, with connection: close', async () => {
  const p = await startProxy(config({}));
  const idle = [await RawClient.connect(p.port), await RawClient.connect(p.port)];
  const busy = await RawClient.connect(p.port);
  try {
    for (const c of idle) assert.equal((await get(c, '/warm')).statusLine, 'HTTP/1.1 200 OK');
    busy.write('GET /delay/400 HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(100);
    const closeConnections = (p.app as unknown as { closeConnections(n: number): number }).closeConnections.bind(p.app);
    assert.equal(closeConnections(3), 3);
    for (const c of idle) assert.equal(await c.waitClosed(2000), true, 'an idle connection closes at once');
    const [r] = await busy.responses(1, ['GET']);
    assert.equal(r!.statusLine, 'HTTP/1.1 200 OK', 'the busy connection finishes its response');
    assert.equal(r!.get('connection'), 'close');
    assert.equal(await busy.waitClosed(2000), true);
  } finally {
    for (const c of idle) c.destroy();
    busy.destroy();
    await p.close();
  }
});
