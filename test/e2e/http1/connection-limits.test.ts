/**
 * server.limits.maxConnectionsPerWorker and maxConnections: a connection
 * past the limit gets a 503 and is closed before the upstream sees anything;
 * a closed connection frees its place. The global limit is shared through
 * the shared slots, proven with two worker apps on one SharedSlots buffer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { RawClient } from '../harness/raw-client.js';
import { SharedSlots } from '../../../src/kernel/shared-slots.js';

let origin: RecordingOrigin;
// The harness's servers and the client's timers are unref'd; this keeps the loop alive while a test awaits a close.
let keepAlive: NodeJS.Timeout;

before(async () => {
  keepAlive = setInterval(() => {}, 1000);
  origin = await startRecordingOrigin();
});

after(async () => {
  clearInterval(keepAlive);
  await origin.close();
});

/** A keep-alive connection that has completed one request (so it is surely counted). */
async function openConnection(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1, ['GET']);
  assert.equal(r!.statusLine, 'HTTP/1.1 200 OK');
  return c;
}

async function expectRefused(port: number): Promise<void> {
  const before = origin.requests.length;
  const c = await RawClient.connect(port);
  c.write('GET /refused HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1, ['GET']);
  assert.equal(r!.statusLine, 'HTTP/1.1 503 Service Unavailable');
  assert.equal(r!.get('retry-after'), '1');
  assert.equal(await c.waitClosed(2000), true, 'the refused connection is closed');
  assert.equal(origin.requests.length, before, 'the upstream saw nothing of a refused connection');
}

test('maxConnectionsPerWorker: the connection past the limit gets 503 and a close; closing one frees its place', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, server: { limits: { maxConnectionsPerWorker: 2 } } }));
  const open: RawClient[] = [];
  try {
    open.push(await openConnection(p.port), await openConnection(p.port));
    await expectRefused(p.port);
    open.shift()!.destroy();
    const deadline = Date.now() + 3000;
    for (;;) {
      // The close reaches the proxy asynchronously; retry until the place is free.
      try {
        open.push(await openConnection(p.port));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.equal((p.app.stats() as { connectionsRefused: number }).connectionsRefused >= 1, true);
  } finally {
    for (const c of open) c.destroy();
    await p.close();
  }
});

test('maxConnections holds across workers: two worker apps on one shared memory admit 3 connections in all', async () => {
  const slots = SharedSlots.create();
  const cfg = () => proxyConfig({ upstreams: { origin: [origin.port] }, server: { limits: { maxConnections: 3 } } });
  const w0 = await startProxy(cfg(), { workerId: 0, appData: { sharedSlots: slots.buffer } });
  const w1 = await startProxy(cfg(), { workerId: 1, appData: { sharedSlots: slots.buffer } });
  const open: RawClient[] = [];
  try {
    open.push(await openConnection(w0.port), await openConnection(w0.port), await openConnection(w1.port));
    await expectRefused(w1.port);
    await expectRefused(w0.port);
  } finally {
    for (const c of open) c.destroy();
    await w0.close();
    await w1.close();
  }
});
