/**
 * Flow control end to end: when one side stops reading, the proxy stops
 * reading the other side instead of buffering (a flood of response bytes, a
 * flood of request body, a flood of pipelined requests), and a peer that
 * stops reading for writeMs is cut off.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig, upstreamGroup } from '../harness/config-json.js';
import { startScriptedOrigin, type ScriptedOrigin, type ScriptedConnection } from '../harness/scripted-origin.js';
import { RawClient } from '../harness/raw-client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** What the proxy may hold per direction: one socket read (64 KiB) above the writable high-water mark, rounded up. */
const MAX_PROXY_QUEUE_BYTES = 256 * 1024;
/** Long enough that the stall checks finish first; a paused client's close is only seen when it fires. */
const WRITE_TIMEOUT_MS = 1500;

let origin: ScriptedOrigin;
let proxy: ProxyHandle;

async function flood(conn: ScriptedConnection): Promise<void> {
  // An endless body written with backpressure: blocked exactly while the proxy does not read.
  conn.write('HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n');
  const block = Buffer.alloc(64 * 1024, 0x62);
  while (!conn.closed) {
    if (!conn.socket.write(block)) await new Promise((r) => { conn.socket.once('drain', r); conn.socket.once('close', r); });
  }
}

before(async () => {
  origin = await startScriptedOrigin(async (conn) => {
    const head = await conn.readHead();
    if (head.startsWith('GET /flood ')) await flood(conn);
    if (head.startsWith('POST /sink ')) conn.socket.pause(); // takes the head, never reads the body
  });
  proxy = await startProxy(proxyConfig({ upstreams: { origin: upstreamGroup([origin.port], { timeouts: { writeMs: WRITE_TIMEOUT_MS } }) } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

async function until(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** True once `bytesWritten` of `socket` has not moved for 300 ms while it has bytes queued. */
function blockedFor300ms(socket: { bytesWritten: number; writableLength: number }): () => boolean {
  let last = -1;
  let since = performance.now();
  return () => {
    if (socket.bytesWritten !== last) {
      last = socket.bytesWritten;
      since = performance.now();
    }
    return socket.writableLength > 0 && performance.now() - since > 300;
  };
}

async function closedAndClean(c: RawClient): Promise<void> {
  c.destroy();
  assert.equal(await until(() => proxy.stats().connections === 0 && proxy.openSockets() === 0), true);
  const up = proxy.upstream('origin');
  assert.equal(up.active, 0);
  assert.equal(up.idle, 0);
}

test('a client that stops reading makes the proxy stop reading the upstream instead of buffering', async () => {
  const n = origin.connections.length;
  const c = await RawClient.connect(proxy.port);
  c.socket.pause(); // kernel buffers fill, then the proxy must stop reading the upstream
  c.write('GET /flood HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(await until(() => origin.connections.length > n), true);
  const conn = origin.connections[n]!;
  const stalled = await until(blockedFor300ms(conn.socket), 3000);
  const queued = proxy.clientSockets()[0]?.writableLength ?? -1;
  assert.equal(stalled, true, `the origin was never blocked: it wrote ${conn.socket.bytesWritten} bytes`);
  assert.ok(queued >= 0 && queued < MAX_PROXY_QUEUE_BYTES, `the proxy queued ${queued} bytes for the client`);
  await closedAndClean(c);
  assert.equal(await until(() => conn.closed), true);
});

test('an upstream that stops reading a request body makes the proxy stop reading the client', async () => {
  const n = origin.connections.length;
  const c = await RawClient.connect(proxy.port);
  c.write('POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n');
  assert.equal(await until(() => origin.connections.length > n), true);
  // The client writes with backpressure until it is blocked for good.
  const block = Buffer.alloc(64 * 1024, 0x63);
  let stop = false;
  void (async () => {
    while (!stop && !c.closed) {
      if (!c.socket.write(block)) await new Promise((r) => { c.socket.once('drain', r); c.socket.once('close', r); });
    }
  })();
  const stalled = await until(blockedFor300ms(c.socket), 3000);
  stop = true;
  assert.equal(stalled, true, `the client was never blocked: it wrote ${c.socket.bytesWritten} bytes`);
  // The proxy's upstream socket is not on the listener: its queue shows in what the origin has not
  // read plus what the kernel holds, so the bound is checked on the session's side instead: the
  // client is blocked while the origin has read nothing at all.
  assert.equal(origin.connections[n]!.received.length < 128 * 1024, true);
  await closedAndClean(c);
});

test('a flood of pipelined requests behind a blocked response is not read into memory', async () => {
  const c = await RawClient.connect(proxy.port);
  c.socket.pause();
  c.write('GET /flood HTTP/1.1\r\nHost: a\r\n\r\n');
  const pipelined = Buffer.from('GET /next HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(32 * 1024), 'latin1'); // 1 MiB per write
  let stop = false;
  void (async () => {
    while (!stop && !c.closed) {
      if (!c.socket.write(pipelined)) await new Promise((r) => { c.socket.once('drain', r); c.socket.once('close', r); });
    }
  })();
  const stalled = await until(blockedFor300ms(c.socket), 4000);
  stop = true;
  assert.equal(stalled, true, `the proxy kept reading: the client wrote ${c.socket.bytesWritten} bytes`);
  await closedAndClean(c);
});

test('a client that stops reading for writeMs is disconnected and the upstream leg closed', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: upstreamGroup([origin.port], { timeouts: { writeMs: 300 } }) } }));
  try {
    const n = origin.connections.length;
    const c = await RawClient.connect(p.port);
    c.socket.pause();
    c.write('GET /flood HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await until(() => origin.connections.length > n), true);
    const conn = origin.connections[n]!;
    // Once the buffers are full the proxy waits writeMs (300 ms + sweep) for the client, then gives up.
    assert.equal(await until(() => conn.closed, 5000), true, 'the upstream leg was closed');
    assert.equal(await until(() => p.openSockets() === 0, 1000), true, 'the client connection was closed');
    c.destroy();
    assert.equal(p.upstream('origin').active, 0);
  } finally {
    await p.close();
  }
});
