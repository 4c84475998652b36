import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { connectReadOption, directReader, readDirect, type ChunkHandler } from '../../src/platform/direct-read.js';

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

const copying = (handler: ChunkHandler): ReturnType<typeof directReader> => directReader(handler, { bulk: false });

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

describe('readDirect (accepted sockets)', () => {
  test('delivers each read as a private copy that later reads do not overwrite', async () => {
    const { client, accepted, close } = await pair();
    const chunks: Buffer[] = [];
    const received = copying(function (chunk: Buffer) { chunks.push(chunk); });
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
    readDirect(accepted, copying(function (chunk: Buffer) { bytes += chunk.length; }));
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
    readDirect(accepted, copying(function (chunk: Buffer) { bytes += chunk.length; }));
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
    assert.equal(readDirect(accepted, copying(() => {})), false);
    assert.equal(accepted.read()!.toString(), 'buffered');
    close();
  });
});

describe('connectReadOption (sockets we connect)', () => {
  test('one callback serves many sockets, each read arriving with its socket as this', async () => {
    const server = net.createServer((s) => s.end(`hello ${s.remotePort}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const got = new Map<net.Socket, string>();
    const option = connectReadOption(copying(function (this: net.Socket, chunk: Buffer) { got.set(this, (got.get(this) ?? '') + chunk.toString()); }));
    const sockets = [0, 1, 2].map(() => net.connect({ port, host: '127.0.0.1', onread: option }));
    const ports = await Promise.all(sockets.map(async (s) => { await once(s, 'connect'); return s.localPort; }));
    await Promise.all(sockets.map((s) => once(s, 'close')));
    sockets.forEach((s, i) => assert.equal(got.get(s), `hello ${ports[i]}`));
    server.close();
  });
});

describe('bulk mode (upstream sockets)', () => {
  for (const bulk of [true, false]) {
    test(`a 4 MiB body read into kept chunks arrives intact (bulk: ${bulk}): no read overwrites an earlier chunk`, async () => {
      const body = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
      const server = net.createServer((s) => s.end(body));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      const chunks: Buffer[] = [];
      const reader = directReader(function (chunk: Buffer) { chunks.push(chunk); }, { bulk });
      // Two sockets at once: the shared buffer and the per-socket ones must never mix.
      const a = net.connect({ port, host: '127.0.0.1', onread: connectReadOption(reader) });
      const other: Buffer[] = [];
      const b = net.connect({ port, host: '127.0.0.1', onread: connectReadOption(directReader(function (chunk: Buffer) { other.push(chunk); }, { bulk })) });
      await Promise.all([once(a, 'close'), once(b, 'close')]);
      server.close();
      assert.ok(chunks.length > 1, 'the body came in several reads');
      assert.ok(Buffer.concat(chunks).equals(body), 'first socket: bytes differ');
      assert.ok(Buffer.concat(other).equals(body), 'second socket: bytes differ');
    });
  }
});
