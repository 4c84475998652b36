/**
 * TCP stream listeners (mode "stream"): bytes copied both ways unchanged,
 * half-close carried through, load balanced over the group, connect failure
 * and idle timeout closing the client.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { startProxy } from '../harness/start-proxy.js';
import { exchange, startEchoOrigin, streamConfig, waitUntil } from './stream-harness.js';

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('tcp stream listener', { timeout: 60_000 }, () => {
  test('echoes a 1 MiB payload unchanged both ways (sha256) and counts the connection', async () => {
    const origin = await startEchoOrigin();
    const proxy = await startProxy(streamConfig({ upstream: 'echo' }, { echo: { hosts: [`127.0.0.1:${origin.port}`] } }));
    try {
      const payload = randomBytes(1024 * 1024);
      const got = await exchange(proxy.port, (s) => {
        s.write(payload.subarray(0, 300_000));
        s.end(payload.subarray(300_000));
      });
      assert.equal(got.error, undefined);
      assert.equal(got.ended, true, 'the upstream FIN reached the client as a FIN');
      assert.equal(got.data.length, payload.length);
      assert.equal(sha256(got.data), sha256(payload));
      assert.equal(origin.receivedBytes(), payload.length);
      await waitUntil(() => proxy.stats().upstreams[0]!.active === 0, 5000, 'the upstream connection released');
      assert.equal(proxy.upstream('echo').idle, 0, 'a stream connection never goes back to the keep-alive pool');
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('half-close: after the client ends, it still receives the rest of the upstream reply', async () => {
    const tail = 'reply written after the client FIN\n';
    const origin = await startEchoOrigin({ tail });
    const proxy = await startProxy(streamConfig({ upstream: 'echo' }, { echo: { hosts: [`127.0.0.1:${origin.port}`] } }));
    try {
      const got = await exchange(proxy.port, (s) => s.end('last words;'));
      assert.equal(got.data.toString(), 'last words;' + tail);
      assert.equal(got.ended, true);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('half-close the other way: after the upstream ends, the client can still send to it', async () => {
    // The origin greets, sends its FIN at once, and reports what it got afterwards by count.
    let afterFin = '';
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.end('bye-first;');
      socket.on('data', (d: Buffer) => { afterFin += d.toString(); });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const proxy = await startProxy(streamConfig({ upstream: 'up' }, { up: { hosts: [`127.0.0.1:${port}`] } }));
    try {
      const got = await exchange(proxy.port, (s) => {
        s.once('end', () => s.end('sent after your FIN'));
      }, 15_000, false);
      assert.equal(got.data.toString(), 'bye-first;');
      await waitUntil(() => afterFin === 'sent after your FIN', 5000, 'the bytes sent after the upstream FIN');
    } finally {
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('round-robin spreads connections over two upstreams', async () => {
    const a = await startEchoOrigin({ greeting: 'A' });
    const b = await startEchoOrigin({ greeting: 'B' });
    const proxy = await startProxy(streamConfig({ upstream: 'pair' }, { pair: { hosts: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], strategy: 'round-robin' } }));
    try {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const got = await exchange(proxy.port, (s) => s.end());
        seen.push(got.data.toString());
      }
      assert.deepEqual(seen.slice().sort(), ['A', 'A', 'A', 'B', 'B', 'B']);
      for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `alternates: ${seen.join('')}`);
      assert.equal(a.accepted(), 3);
      assert.equal(b.accepted(), 3);
    } finally {
      await proxy.close();
      await a.close();
      await b.close();
    }
  });

  test('least-connections sends a new connection to the host with fewer open ones', async () => {
    const a = await startEchoOrigin({ greeting: 'A' });
    const b = await startEchoOrigin({ greeting: 'B' });
    const proxy = await startProxy(streamConfig({ upstream: 'pair' }, { pair: { hosts: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], strategy: 'least-connections' } }));
    try {
      // Hold one connection open, note which host it got; the next three all go to the other host.
      const held = net.connect(proxy.port, '127.0.0.1');
      const first = await new Promise<string>((resolve) => held.once('data', (d: Buffer) => resolve(d.toString())));
      const others: string[] = [];
      for (let i = 0; i < 3; i++) others.push((await exchange(proxy.port, (s) => s.end())).data.toString());
      assert.deepEqual(others, [first === 'A' ? 'B' : 'A', first === 'A' ? 'B' : 'A', first === 'A' ? 'B' : 'A']);
      held.destroy();
    } finally {
      await proxy.close();
      await a.close();
      await b.close();
    }
  });

  test('first strategy: a refused host is retried on the next one', async () => {
    const b = await startEchoOrigin({ greeting: 'B' });
    const dead = net.createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const proxy = await startProxy(streamConfig({ upstream: 'pair' }, { pair: { hosts: [`127.0.0.1:${deadPort}`, `127.0.0.1:${b.port}`], strategy: 'first', retries: 1 } }));
    try {
      const got = await exchange(proxy.port, (s) => s.end());
      assert.equal(got.data.toString(), 'B');
    } finally {
      await proxy.close();
      await b.close();
    }
  });

  test('a connect failure closes the client without sending a byte', async () => {
    const dead = net.createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const proxy = await startProxy(streamConfig({ upstream: 'dead' }, { dead: { hosts: [`127.0.0.1:${deadPort}`], retries: 0 } }));
    try {
      const got = await exchange(proxy.port, (s) => s.write('anyone?'));
      assert.equal(got.data.length, 0);
      assert.equal(got.ended, false, 'closed without a FIN: the client must not take it for a normal end');
      assert.equal(proxy.upstream('dead').connectFailures, 1);
      await waitUntil(() => proxy.openSockets() === 0, 5000, 'the client socket closed on the proxy side');
    } finally {
      await proxy.close();
    }
  });

  test('a connection with no traffic either way for the group idleMs is closed, both legs', async () => {
    const origin = await startEchoOrigin();
    const proxy = await startProxy(streamConfig({ upstream: 'echo' }, { echo: { hosts: [`127.0.0.1:${origin.port}`], timeouts: { idleMs: 300 } } }));
    try {
      const started = performance.now();
      const got = await exchange(proxy.port, (s) => s.write('one;'));
      const elapsed = performance.now() - started;
      assert.equal(got.data.toString(), 'one;');
      assert.ok(elapsed >= 250, `closed after ${elapsed} ms, before the idle timeout`);
      await waitUntil(() => proxy.upstream('echo').active === 0, 5000, 'the upstream leg closed');
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('traffic keeps a connection past the idle timeout', async () => {
    const origin = await startEchoOrigin();
    const proxy = await startProxy(streamConfig({ upstream: 'echo' }, { echo: { hosts: [`127.0.0.1:${origin.port}`], timeouts: { idleMs: 800 } } }));
    try {
      const got = await exchange(proxy.port, (s) => {
        let n = 0;
        const tick = setInterval(() => {
          s.write(`${n};`);
          if (++n === 12) {
            clearInterval(tick);
            s.end();
          }
        }, 150); // 12 x 150 ms = 1.8 s, over twice the idle timeout
      });
      assert.equal(got.data.toString(), '0;1;2;3;4;5;6;7;8;9;10;11;');
      assert.equal(got.ended, true);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });
});
