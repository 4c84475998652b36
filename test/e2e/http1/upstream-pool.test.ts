/**
 * The upstream keep-alive pool as traffic sees it: idle connections expire
 * after pool.idleTimeoutMs, at most pool.maxIdle stay parked, requests
 * beyond pool.maxConnections wait for a free connection, and round-robin
 * spreads requests over the hosts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../harness/start-proxy.js';
import { proxyConfig, upstreamGroup } from '../harness/config-json.js';
import { startRecordingOrigin } from '../harness/recording-origin.js';
import { httpRequest } from '../harness/http-request.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** An origin that holds each answer for `delayMs`, so requests overlap. */
function slowOrigin(delayMs: number): ReturnType<typeof startRecordingOrigin> {
  return startRecordingOrigin({
    respond(rec, res) {
      setTimeout(() => res.end(`${rec.method} ${rec.url} ${rec.bodyBytes}`), delayMs);
    },
  });
}

test('closes pooled upstream connections idle longer than pool.idleTimeoutMs', async () => {
  const origin = await startRecordingOrigin();
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([origin.port], { pool: { idleTimeoutMs: 200 } }) } }));
  try {
    await httpRequest(proxy.port, { path: '/a' });
    assert.equal(proxy.upstream('up').idle, 1);
    const parked = performance.now();
    // The sweep runs every max(250 ms, timeout / 4): closed between 200 and ~500 ms after parking.
    assert.equal(await until(() => origin.closedConnections.has(0), 2000), true);
    const after = performance.now() - parked;
    assert.ok(after >= 190 && after < 1000, `closed after ${after.toFixed(0)} ms`);
    assert.equal(proxy.upstream('up').idle, 0);
    const r = await httpRequest(proxy.port, { path: '/b' });
    assert.equal(r.status, 200);
    assert.equal(origin.connections, 2);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test('keeps at most pool.maxIdle connections parked after a burst', async () => {
  const origin = await slowOrigin(50);
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([origin.port], { pool: { maxIdle: 1 } }) } }));
  try {
    const rs = await Promise.all([1, 2, 3].map((i) => httpRequest(proxy.port, { path: `/burst/${i}` })));
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
    assert.equal(origin.connections, 3);
    assert.equal(await until(() => origin.closedConnections.size === 2), true, 'two of the three were closed, not parked');
    const s = proxy.upstream('up');
    assert.equal(s.idle, 1);
    assert.equal(s.active, 0);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test('queues requests beyond pool.maxConnections and serves them on the freed connection', async () => {
  const origin = await slowOrigin(50);
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([origin.port], { pool: { maxConnections: 1 } }) } }));
  try {
    const rs = await Promise.all([1, 2, 3].map((i) => httpRequest(proxy.port, { path: `/queued/${i}` })));
    assert.deepEqual(rs.map((r) => r.body.toString()), ['GET /queued/1 0', 'GET /queued/2 0', 'GET /queued/3 0']);
    assert.equal(origin.connections, 1, 'never more than one upstream connection');
    assert.equal(proxy.upstream('up').reuses, 2);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test('round-robin spreads requests evenly over two hosts', async () => {
  const a = await startRecordingOrigin();
  const b = await startRecordingOrigin();
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([a.port, b.port]) } }));
  try {
    for (let i = 0; i < 6; i++) await httpRequest(proxy.port, { path: `/rr/${i}` });
    assert.equal(a.requests.length, 3);
    assert.equal(b.requests.length, 3);
    assert.deepEqual(proxy.upstream('up').hosts.map((h) => h.idle), [1, 1]);
  } finally {
    await proxy.close();
    await a.close();
    await b.close();
  }
});

test('a request waiting for a pool slot gets 503 at connectMs even when no connection frees up', async () => {
  const origin = await slowOrigin(1500);
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([origin.port], { pool: { maxConnections: 1 }, timeouts: { connectMs: 300, readMs: 5000 } }) } }));
  try {
    const first = httpRequest(proxy.port, { path: '/slow' });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const second = await httpRequest(proxy.port, { path: '/waits' });
    const waited = Date.now() - t0;
    assert.equal(second.status, 503);
    assert.ok(waited >= 250 && waited < 1000, `503 after ${waited} ms (connectMs 300)`);
    assert.equal((await first).status, 200);
  } finally {
    await proxy.close();
    await origin.close();
  }
});

test('past pool.maxPending waiting requests, the next one gets 503 at once instead of queueing', async () => {
  const origin = await slowOrigin(800);
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([origin.port], { pool: { maxConnections: 1, maxPending: 1 }, timeouts: { connectMs: 5000, readMs: 5000 } }) } }));
  try {
    const first = httpRequest(proxy.port, { path: '/slow' });
    await new Promise((r) => setTimeout(r, 50));
    const queued = httpRequest(proxy.port, { path: '/queued' });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const shed = await httpRequest(proxy.port, { path: '/shed' });
    const waited = Date.now() - t0;
    assert.equal(shed.status, 503);
    assert.ok(waited < 500, `the third request was answered after ${waited} ms, not queued (the slow answer takes 800 ms)`);
    assert.equal((await first).status, 200);
    assert.equal((await queued).status, 200, 'the one waiting request is served on the freed connection');
    const stats = proxy.upstream('up') as unknown as { pendingRejected: number; pending: number };
    assert.equal(stats.pendingRejected, 1);
    assert.equal(stats.pending, 0);
  } finally {
    await proxy.close();
    await origin.close();
  }
});
