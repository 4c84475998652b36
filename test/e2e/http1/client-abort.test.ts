/**
 * A client that goes away mid-exchange takes the upstream leg with it: the
 * upstream sees its connection closed (never pooled half-used) and the
 * proxy's books return to zero: no session, no active upstream connection.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startScriptedOrigin, type ScriptedOrigin } from '../harness/scripted-origin.js';
import { RawClient } from '../harness/raw-client.js';

let origin: ScriptedOrigin;
let proxy: ProxyHandle;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  origin = await startScriptedOrigin(async (conn) => {
    const head = await conn.readHead();
    const path = head.split(' ')[1];
    if (path === '/stream') {
      // An endless body, 16 KiB every 5 ms, until the proxy hangs up.
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n');
      const block = Buffer.alloc(16 * 1024, 0x61);
      while (!conn.closed) {
        conn.write(block);
        await sleep(5);
      }
    }
    // '/silent' and '/upload': never answer.
  });
  proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

async function until(cond: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(5);
  }
  return true;
}

function assertNothingHeld(): void {
  const s = proxy.stats();
  assert.equal(s.connections, 0, 'no session left');
  assert.equal(proxy.openSockets(), 0, 'no client socket left');
  const up = proxy.upstream('origin');
  assert.equal(up.active, 0, 'no active upstream connection');
  assert.equal(up.idle, 0, 'nothing half-used went back to the pool');
  assert.equal(up.hosts[0]!.activeAllWorkers, 0, 'the shared active counter is back to zero');
}

test('a client abort mid-response closes the upstream connection and leaks nothing', async () => {
  const n = origin.connections.length;
  const c = await RawClient.connect(proxy.port);
  c.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
  await c.waitFor('aaaa');
  await until(() => c.received.length > 100_000);
  c.destroy();
  const conn = origin.connections[n]!;
  assert.equal(await until(() => conn.closed), true, 'the origin saw its connection closed');
  assert.equal(await until(() => proxy.stats().connections === 0 && proxy.openSockets() === 0), true);
  assertNothingHeld();
});

test('a client abort while the upstream has not answered closes the upstream connection', async () => {
  const n = origin.connections.length;
  const c = await RawClient.connect(proxy.port);
  c.write('GET /silent HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(await until(() => origin.connections.length > n && origin.connections[n]!.received.length > 0), true);
  c.destroy();
  assert.equal(await until(() => origin.connections[n]!.closed), true);
  assert.equal(await until(() => proxy.stats().connections === 0 && proxy.openSockets() === 0), true);
  assertNothingHeld();
});

test('a client abort mid-upload closes the upstream connection', async () => {
  const n = origin.connections.length;
  const c = await RawClient.connect(proxy.port);
  c.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n');
  c.write(Buffer.alloc(256 * 1024, 0x62));
  assert.equal(await until(() => origin.connections.length > n && origin.connections[n]!.received.length > 200_000), true);
  c.destroy();
  assert.equal(await until(() => origin.connections[n]!.closed), true);
  assert.equal(await until(() => proxy.stats().connections === 0 && proxy.openSockets() === 0), true);
  assertNothingHeld();
});
