/**
 * WebSocket through zproxy with real `ws` clients and servers: the handshake
 * is routed and passes the route's middleware, then frames go both ways
 * unchanged (echo, large messages, ping/pong, close codes, subprotocols).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy } from '../harness/start-proxy.js';
import { RawClient } from '../harness/raw-client.js';
import { closed, nextMessage, openClient, startWsOrigin, wsConfig } from './ws-harness.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('websocket through zproxy', { timeout: 90_000 }, () => {
  test('echoes text and binary messages, and a 4 MiB message unchanged', async () => {
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port));
    try {
      const ws = await openClient(`ws://127.0.0.1:${proxy.port}/chat`);
      ws.send('hello');
      const text = await nextMessage(ws);
      assert.deepEqual([text.data.toString(), text.isBinary], ['hello', false]);
      const big = randomBytes(4 * 1024 * 1024);
      ws.send(big);
      const echoed = await nextMessage(ws);
      assert.equal(echoed.isBinary, true);
      assert.equal(echoed.data.length, big.length);
      assert.equal(sha(echoed.data), sha(big));
      assert.equal(origin.upgrades[0]!.url, '/chat');
      ws.close();
      await closed(ws);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('ping and pong cross in both directions with their payloads', async () => {
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port));
    try {
      const ws = await openClient(`ws://127.0.0.1:${proxy.port}/`);
      const pong = new Promise<string>((resolve) => ws.once('pong', (d: Buffer) => resolve(d.toString())));
      ws.ping('from-client');
      assert.equal(await pong, 'from-client');
      const server = origin.sockets[0]!;
      const serverPong = new Promise<string>((resolve) => server.once('pong', (d: Buffer) => resolve(d.toString())));
      const clientPing = new Promise<string>((resolve) => ws.once('ping', (d: Buffer) => resolve(d.toString())));
      server.ping('from-server');
      assert.equal(await clientPing, 'from-server');
      assert.equal(await serverPong, 'from-server');
      ws.terminate();
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('close codes and reasons reach the other side, both ways', async () => {
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port));
    try {
      const a = await openClient(`ws://127.0.0.1:${proxy.port}/`);
      const serverSaw = closed(origin.sockets[0]!);
      const clientSaw = closed(a);
      a.close(4001, 'bye from client');
      assert.deepEqual(await serverSaw, { code: 4001, reason: 'bye from client' });
      assert.deepEqual(await clientSaw, { code: 4001, reason: 'bye from client' }); // the server echoes the close

      const b = await openClient(`ws://127.0.0.1:${proxy.port}/`);
      const bClosed = closed(b);
      origin.sockets[1]!.close(4002, 'bye from server');
      assert.deepEqual(await bClosed, { code: 4002, reason: 'bye from server' });
      for (let i = 0; i < 200 && proxy.stats().connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(proxy.stats().connections, 0, 'both tunnels closed on the proxy');
      assert.equal(proxy.upstream('ws').active, 0);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('a connection dropped without a close frame is dropped on the other side too (1006), both ways', async () => {
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port));
    try {
      const a = await openClient(`ws://127.0.0.1:${proxy.port}/`);
      const aClosed = closed(a);
      origin.sockets[0]!.terminate();
      assert.equal((await aClosed).code, 1006);

      const b = await openClient(`ws://127.0.0.1:${proxy.port}/`);
      const serverClosed = closed(origin.sockets[1]!);
      b.terminate();
      assert.equal((await serverClosed).code, 1006);
      for (let i = 0; i < 200 && proxy.upstream('ws').active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(proxy.upstream('ws').active, 0);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('every offered subprotocol reaches the upstream, and its choice reaches the client', async () => {
    let offeredSeen: string[] = [];
    const origin = await startWsOrigin({ pick: (offered) => { offeredSeen = [...offered]; return offered.has('chat.v1') ? 'chat.v1' : false; } });
    const proxy = await startProxy(wsConfig(origin.port));
    try {
      const ws = await openClient(`ws://127.0.0.1:${proxy.port}/`, ['chat.v2', 'chat.v1', 'json']);
      assert.equal(ws.protocol, 'chat.v1');
      assert.deepEqual(offeredSeen, ['chat.v2', 'chat.v1', 'json']);
      ws.terminate();

      // Offered on two header lines (RFC 6455 11.3.4 allows it): both lines go upstream.
      const c = await RawClient.connect(proxy.port);
      c.write('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: a.v1\r\nSec-WebSocket-Protocol: chat.v1, b.v1\r\n\r\n');
      await c.waitFor('\r\n\r\n');
      assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 101 /);
      assert.match(c.received.toString('latin1'), /\r\nsec-websocket-protocol: chat\.v1\r\n/i);
      assert.deepEqual(offeredSeen, ['a.v1', 'chat.v1', 'b.v1']);
      c.destroy();
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('a refused upgrade: the upstream answer reaches the client and both connections close', async () => {
    const origin = await startWsOrigin({ refuse: 403 });
    const proxy = await startProxy(wsConfig(origin.port));
    try {
      await assert.rejects(openClient(`ws://127.0.0.1:${proxy.port}/`), { statusCode: 403 });
      const c = await RawClient.connect(proxy.port);
      c.write('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      assert.equal(await c.waitClosed(5000), true, 'the client connection is closed after a refused upgrade');
      assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 403 /);
      for (let i = 0; i < 200 && proxy.upstream('ws').active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(proxy.upstream('ws').active, 0);
      assert.equal(proxy.upstream('ws').idle, 0, 'the connection that carried a refused upgrade is not reused');
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('a middleware answer refuses the upgrade before the upstream sees it', async () => {
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port, {
      middleware: { auth: { type: 'api-key', keys: [{ name: 'app', key: 'k-123' }], header: 'x-api-key' } },
      routeMiddleware: ['auth'],
    }));
    try {
      await assert.rejects(openClient(`ws://127.0.0.1:${proxy.port}/`), { statusCode: 401 });
      assert.equal(origin.upgrades.length, 0);
      const ws = await openClient(`ws://127.0.0.1:${proxy.port}/`, [], { 'x-api-key': 'k-123' });
      ws.send('authorised');
      assert.equal((await nextMessage(ws)).data.toString(), 'authorised');
      assert.equal(origin.upgrades.length, 1);
      ws.terminate();
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  test('an open WebSocket outlives the header, idle and read timeouts; only the tunnel idle timeout closes it', async () => {
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port, {
      server: { timeouts: { headerMs: 300, clientIdleMs: 300, clientBodyMs: 300 } },
      group: { timeouts: { readMs: 300, writeMs: 300, idleMs: 2000 } },
    }));
    try {
      const ws = await openClient(`ws://127.0.0.1:${proxy.port}/`);
      await new Promise((r) => setTimeout(r, 1000)); // silent for 3x every request timeout
      ws.send('still here');
      assert.equal((await nextMessage(ws)).data.toString(), 'still here');
      const started = performance.now();
      const { code } = await closed(ws);
      const silentMs = performance.now() - started;
      assert.equal(code, 1006, 'the tunnel is cut, no close frame');
      assert.ok(silentMs >= 1800, `closed after ${Math.round(silentMs)} ms of silence, before idleMs`);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });
});
