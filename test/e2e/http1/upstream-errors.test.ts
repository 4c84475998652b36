/**
 * What a client sees when the upstream misbehaves: broken response heads are
 * 502s, a body cut short closes the client connection (never a hang), broken
 * connections are never pooled, connect failures move on to the next host,
 * a silent upstream is a 504 at the read timeout, and a pooled connection the
 * upstream closed does not fail the next request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig, upstreamGroup } from '../harness/config-json.js';
import { startScriptedOrigin, refusedPort, answerEvery, type Script, type ScriptedOrigin } from '../harness/scripted-origin.js';
import { startRecordingOrigin } from '../harness/recording-origin.js';
import { RawClient } from '../harness/raw-client.js';
import { httpRequest } from '../harness/http-request.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn against a proxy in front of one scripted origin, then tears both down. */
async function withScripted(script: Script, fn: (proxy: ProxyHandle, origin: ScriptedOrigin) => Promise<void>, group: Record<string, unknown> = {}): Promise<void> {
  const origin = await startScriptedOrigin(script);
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([origin.port], group) } }));
  try {
    await fn(proxy, origin);
    assert.deepEqual(origin.scriptErrors, []);
  } finally {
    await proxy.close();
    await origin.close();
  }
}

async function get(port: number, path = '/'): Promise<{ client: RawClient; status: number; body: string; detail: string }> {
  const client = await RawClient.connect(port);
  client.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
  const [r] = await client.responses(1);
  return { client, status: r!.status, body: r!.body.toString(), detail: r!.body.toString().split('\n')[0]! };
}

async function until(cond: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(5);
  }
  return true;
}

for (const [name, response] of [
  ['a malformed status line', 'HTTP/1.1 2OO OK\r\ncontent-length: 2\r\n\r\nok'],
  ['a status line in another protocol', 'ICY 200 OK\r\n\r\n'],
  ['Content-Length together with Transfer-Encoding', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  ['conflicting Content-Length values', 'HTTP/1.1 200 OK\r\ncontent-length: 2, 3\r\n\r\nok'],
  ['a bare LF in the response head', 'HTTP/1.1 200 OK\r\nx-a: 1\ncontent-length: 2\r\n\r\nok'],
  ['obs-fold in the response head', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n  2\r\ncontent-length: 2\r\n\r\nok'],
] as const) {
  test(`answers 502 to ${name} and closes the upstream connection`, async () => {
    await withScripted(answerEvery(response), async (proxy, origin) => {
      const r = await get(proxy.port);
      assert.equal(r.status, 502);
      assert.equal(r.detail, '502 Bad Gateway: invalid response from upstream');
      assert.equal(await r.client.waitClosed(1000), true);
      assert.equal(await origin.connections[0]!.whenClosed.then(() => true), true);
      assert.equal(proxy.upstream('up').idle, 0);
      assert.equal(proxy.upstream('up').active, 0);
    });
  });
}

test('answers 502 when the upstream closes before answering', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
    conn.socket.end();
  }, async (proxy) => {
    const r = await get(proxy.port);
    assert.equal(r.status, 502);
    assert.equal(r.detail, '502 Bad Gateway: upstream closed the connection before answering');
  });
});

test('a body cut short by the upstream closes the client connection instead of hanging', async () => {
  await withScripted(async (conn) => {
    if (conn.index > 0) return answerEvery('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')(conn);
    await conn.readRequest();
    conn.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789');
    await sleep(20);
    conn.socket.end();
  }, async (proxy, origin) => {
    const c = await RawClient.connect(proxy.port);
    c.write('GET /cut HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await c.waitClosed(1500), true, 'the client connection is closed, not left waiting for 90 bytes');
    const text = c.received.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), '0123456789');
    assert.equal(proxy.upstream('up').idle, 0);
    assert.equal(proxy.stats().connections, 0);
    // The next request gets a new upstream connection.
    const again = await get(proxy.port);
    again.client.destroy();
    assert.equal(origin.connections.length, 2);
  });
});

test('a chunked body with broken framing closes both connections and nothing is pooled', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
    conn.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n');
    await conn.whenClosed;
  }, async (proxy, origin) => {
    const c = await RawClient.connect(proxy.port);
    c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await c.waitClosed(1500), true);
    assert.equal(await until(() => origin.connections[0]!.closed), true, 'the upstream connection is closed');
    assert.equal(proxy.upstream('up').idle, 0);
    assert.equal(proxy.upstream('up').active, 0);
  });
});

test('an upstream that sends more than its Content-Length is not reused', async () => {
  await withScripted(async (conn) => {
    for (;;) {
      await conn.readRequest();
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA-BYTES');
    }
  }, async (proxy, origin) => {
    const first = await get(proxy.port);
    assert.equal(first.body, 'ok');
    const second = await get(proxy.port);
    assert.equal(second.body, 'ok');
    first.client.destroy();
    second.client.destroy();
    assert.equal(origin.connections.length, 2, 'the first connection was dropped, not pooled');
    assert.equal(await until(() => origin.connections[0]!.closed), true);
    assert.equal(proxy.upstream('up').reuses, 0);
  });
});

test('a refused connect moves on to the next host', async () => {
  const dead = await refusedPort();
  const live = await startRecordingOrigin();
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup([dead, live.port], { strategy: 'first' }) } }));
  try {
    const r = await httpRequest(proxy.port, { path: '/failover' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'GET /failover 0');
    const s = proxy.upstream('up');
    assert.equal(s.connectFailures, 1);
    assert.equal(s.active, 0);
  } finally {
    await proxy.close();
    await live.close();
  }
});

test('answers 502 when every host refuses, after trying each once', async () => {
  const ports = [await refusedPort(), await refusedPort()];
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup(ports, { retries: 2 }) } }));
  try {
    const r = await get(proxy.port);
    r.client.destroy();
    assert.equal(r.status, 502);
    assert.equal(r.detail, '502 Bad Gateway: upstream connect failed');
    assert.equal(proxy.upstream('up').connectFailures, 2);
    assert.equal(proxy.upstream('up').active, 0);
  } finally {
    await proxy.close();
  }
});

test('answers 503 once every host is ejected by passive health checks', async () => {
  const ports = [await refusedPort(), await refusedPort()];
  const proxy = await startProxy(proxyConfig({ upstreams: { up: upstreamGroup(ports, { passive: { maxFailures: 1, cooldownMs: 60000 } }) } }));
  try {
    const first = await get(proxy.port);
    first.client.destroy();
    assert.equal(first.status, 502);
    const second = await get(proxy.port);
    second.client.destroy();
    assert.equal(second.status, 503);
    assert.equal(second.detail, '503 Service Unavailable: no upstream available');
    assert.equal(proxy.upstream('up').connectFailures, 2, 'ejected hosts are not dialled again');
    assert.deepEqual(proxy.upstream('up').hosts.map((h) => h.ejected), [true, true]);
  } finally {
    await proxy.close();
  }
});

test('answers 504 at the read timeout when the upstream accepts but never answers', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
  }, async (proxy, origin) => {
    const started = performance.now();
    const r = await get(proxy.port);
    const elapsed = performance.now() - started;
    assert.equal(r.status, 504);
    assert.equal(r.detail, '504 Gateway Timeout: upstream did not answer in time');
    assert.ok(elapsed >= 290 && elapsed < 1000, `answered after ${elapsed.toFixed(0)} ms, readMs is 300`);
    assert.equal(await until(() => origin.connections[0]!.closed), true, 'the silent upstream connection is closed');
    assert.equal(proxy.upstream('up').active, 0);
  }, { timeouts: { readMs: 300 } });
});

test('an upstream that stalls mid-body past the read timeout gets the client connection closed', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
    conn.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n01234');
  }, async (proxy, origin) => {
    const c = await RawClient.connect(proxy.port);
    const started = performance.now();
    c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await c.waitClosed(1500), true);
    const elapsed = c.closedAt - started;
    assert.ok(elapsed >= 290 && elapsed < 1000, `closed after ${elapsed.toFixed(0)} ms, readMs is 300`);
    assert.equal(await until(() => origin.connections[0]!.closed), true);
  }, { timeouts: { readMs: 300 } });
});

test('a pooled connection the upstream closed while idle does not fail the next request', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
    conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    await sleep(20);
    conn.socket.end(); // keep-alive timeout on the upstream side
  }, async (proxy, origin) => {
    const first = await get(proxy.port);
    assert.equal(first.status, 200);
    assert.equal(await until(() => origin.connections[0]!.closed), true);
    await sleep(20);
    first.client.write('GET /again HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await first.client.responses(2);
    first.client.destroy();
    assert.equal(rs[1]!.status, 200);
    assert.equal(origin.connections.length, 2);
  });
});

test('a reused connection the upstream closes as the request arrives is retried once for a GET', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
    conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    if (conn.index === 0) {
      await conn.readRequest(); // the race: the request arrives as the upstream gives up on the connection
      conn.socket.destroy();
    }
  }, async (proxy, origin) => {
    const c = await RawClient.connect(proxy.port);
    c.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.responses(1);
    c.write('GET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await c.responses(2);
    c.destroy();
    assert.deepEqual(rs.map((r) => r.status), [200, 200]);
    assert.equal(origin.connections.length, 2);
  });
});

test('a non-idempotent request on a reused connection closed before answering is not retried', async () => {
  await withScripted(async (conn) => {
    await conn.readRequest();
    conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    if (conn.index === 0) {
      await conn.readRequest(); // the upstream may have acted on it before dying
      conn.socket.destroy();
    }
  }, async (proxy, origin) => {
    const c = await RawClient.connect(proxy.port);
    c.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.responses(1);
    c.write('POST /charge HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await c.responses(2, ['GET', 'POST']);
    c.destroy();
    assert.equal(rs[1]!.status, 502);
    assert.equal(origin.connections.length, 1, 'RFC 9110 9.2.2: a non-idempotent request is not replayed');
  });
});

test('an upstream that sends a body after a HEAD response is not reused', async () => {
  await withScripted(async (conn) => {
    for (;;) {
      await conn.readRequest();
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'); // the body a HEAD must not carry
    }
  }, async (proxy, origin) => {
    const c = await RawClient.connect(proxy.port);
    c.write('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n');
    const [head] = await c.responses(1, ['HEAD']);
    assert.equal(head!.get('content-length'), '5');
    c.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const rs = await c.responses(2, ['HEAD', 'GET']);
    c.destroy();
    assert.equal(rs[1]!.body.toString(), 'hello');
    // Nothing but the two responses reached the client: the stray body was not relayed.
    assert.equal(c.received.length, rs[0]!.raw.length + rs[1]!.raw.length);
    assert.equal(origin.connections.length, 2, 'the HEAD connection was dropped, not pooled');
  });
});
