import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { directReader, readDirect } from '../../src/platform/direct-read.js';

/** A listening server and a connected client; `accepted` is the server's side. */
async function pair(): Promise<{ client: net.Socket; accepted: net.Socket; close: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  await once(client, 'connect');
  return { client, accepted, close: () => { client.destroy(); accepted.destroy(); server.close(); } };
}

function until(check: () => boolean, ms = 2000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('condition not met in time'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

// A regression here shows as an event that never comes: fail at the timeout instead of hanging the run.
const BOUNDED = { timeout: 10_000 };

describe('readDirect (accepted sockets)', BOUNDED, () => {
  test('delivers each read as a private copy that later reads do not overwrite', async () => {
    const { client, accepted, close } = await pair();
    const chunks: Buffer[] = [];
    const received = directReader(function (chunk: Buffer) { chunks.push(chunk); });
    accepted.on('data', () => assert.fail("'data' must not fire once reads are direct"));
    assert.equal(readDirect(accepted, received), true);
    client.write('first read');
    await until(() => chunks.length === 1);
    client.write('a second, longer read that lands in the same shared buffer');
    await until(() => Buffer.concat(chunks).length === 'first read'.length + 58);
    assert.equal(chunks[0]!.toString(), 'first read');
    assert.equal(Buffer.concat(chunks.slice(1)).toString(), 'a second, longer read that lands in the same shared buffer');
    close();
  });

  test("still ends: the peer's FIN gives 'end' and 'close'", async () => {
    const { client, accepted, close } = await pair();
    let bytes = 0;
    accepted.on('data', () => {}); // the session keeps a 'data' listener: it keeps the socket flowing
    readDirect(accepted, directReader(function (chunk: Buffer) { bytes += chunk.length; }));
    const ended = once(accepted, 'end');
    const closed = once(accepted, 'close');
    client.end('bye');
    await ended;
    await closed;
    assert.equal(bytes, 3);
    close();
  });

  test('pause() stops delivery and resume() delivers what waited in the kernel', async () => {
    const { client, accepted, close } = await pair();
    let bytes = 0;
    accepted.on('data', () => {});
    readDirect(accepted, directReader(function (chunk: Buffer) { bytes += chunk.length; }));
    accepted.pause();
    client.write(Buffer.alloc(1000, 1));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bytes, 0, 'nothing is read while paused');
    accepted.resume();
    await until(() => bytes === 1000);
    close();
  });

  test('refuses a socket whose Readable already holds bytes (they would be skipped)', async () => {
    const { client, accepted, close } = await pair();
    accepted.pause();
    client.write('buffered');
    await until(() => { accepted.read(0); return accepted.readableLength > 0; });
    assert.equal(readDirect(accepted, directReader(() => {})), false);
    assert.equal(accepted.read()!.toString(), 'buffered');
    close();
  });
});

describe('readDirect with several sockets', BOUNDED, () => {
  test('one reader serves many sockets, each read arriving with its socket as this', async () => {
    const got = new Map<net.Socket, string>();
    const reader = directReader(function (this: net.Socket, chunk: Buffer) { got.set(this, (got.get(this) ?? '') + chunk.toString()); });
    const pairs = await Promise.all([0, 1, 2].map(() => pair()));
    for (const p of pairs) { p.accepted.on('data', () => {}); readDirect(p.accepted, reader); }
    pairs.forEach((p, i) => p.client.write(`hello ${i}`));
    await until(() => pairs.every((p, i) => got.get(p.accepted) === `hello ${i}`));
    for (const p of pairs) p.close();
  });

  test('a 4 MiB upload on two sockets at once arrives intact on each: no read overwrites a kept chunk', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
    const a = await pair();
    const b = await pair();
    const chunks = new Map<net.Socket, Buffer[]>([[a.accepted, []], [b.accepted, []]]);
    const reader = directReader(function (this: net.Socket, chunk: Buffer) { chunks.get(this)!.push(chunk); });
    for (const p of [a, b]) { p.accepted.on('data', () => {}); readDirect(p.accepted, reader); }
    const ended = [once(a.accepted, 'end'), once(b.accepted, 'end')];
    a.client.end(body);
    b.client.end(body);
    await Promise.all(ended);
    a.close();
    b.close();
    assert.ok(chunks.get(a.accepted)!.length > 1, 'the body came in several reads');
    assert.ok(Buffer.concat(chunks.get(a.accepted)!).equals(body), 'first socket: bytes differ');
    assert.ok(Buffer.concat(chunks.get(b.accepted)!).equals(body), 'second socket: bytes differ');
  });
});
