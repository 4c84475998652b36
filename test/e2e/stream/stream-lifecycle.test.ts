/**
 * Stream listeners across a reload and a drain: new connections follow the
 * new config while open ones keep their upstream; a drain lets streams run
 * until its deadline, then closes both legs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { parseConfig } from '../../../src/config/load-config.js';
import { startProxy } from '../harness/start-proxy.js';
import { exchange, startEchoOrigin, streamConfig, waitUntil } from './stream-harness.js';

/** An open connection through the proxy and everything it received so far. */
async function openHeld(port: number): Promise<{ socket: net.Socket; text: () => string; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  let isClosed = false;
  socket.on('data', (d: Buffer) => { text += d.toString(); });
  socket.on('error', () => {});
  socket.on('close', () => { isClosed = true; });
  await waitUntil(() => text.length > 0, 5000, 'the greeting');
  return { socket, text: () => text, closed: () => isClosed };
}

test('after a reload new connections go to the new upstream; an open one keeps its own', { timeout: 30_000 }, async () => {
  const a = await startEchoOrigin({ greeting: 'A;' });
  const b = await startEchoOrigin({ greeting: 'B;' });
  const proxy = await startProxy(streamConfig({ upstream: 'one' }, { one: { hosts: [`127.0.0.1:${a.port}`] } }));
  try {
    const held = await openHeld(proxy.port);
    assert.equal(held.text(), 'A;');
    await proxy.app.reload(parseConfig(streamConfig({ upstream: 'two' }, { two: { hosts: [`127.0.0.1:${b.port}`] } }), 'reload', {}));
    assert.equal((await exchange(proxy.port, (s) => s.end())).data.toString(), 'B;');
    held.socket.write('still-A');
    await waitUntil(() => held.text() === 'A;still-A', 5000, 'the echo on the connection opened before the reload');
    held.socket.destroy();
  } finally {
    await proxy.close();
    await a.close();
    await b.close();
  }
});

test('a drain waits for open streams until its deadline, then closes them', { timeout: 30_000 }, async () => {
  const a = await startEchoOrigin({ greeting: 'A;' });
  const proxy = await startProxy(streamConfig({ upstream: 'one' }, { one: { hosts: [`127.0.0.1:${a.port}`] } }));
  try {
    const held = await openHeld(proxy.port);
    const started = performance.now();
    const drained = proxy.app.drain(400);
    held.socket.write('during-drain');
    await waitUntil(() => held.text() === 'A;during-drain', 5000, 'traffic while draining');
    await drained;
    assert.ok(performance.now() - started >= 350, 'the drain waited for the open stream');
    await waitUntil(() => held.closed(), 5000, 'the stream closed at the drain deadline');
    await waitUntil(() => proxy.upstream('one').active === 0, 5000, 'the upstream leg closed');
  } finally {
    await proxy.close();
    await a.close();
  }
});
