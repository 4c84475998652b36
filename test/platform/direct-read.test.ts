import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { connectReadOption, readCallback, readDirect } from '../../src/platform/direct-read.js';

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

describe('readDirect (accepted sockets)', () => {
  test('delivers each read as a private copy that later reads do not overwrite', async () => {
    const { client, accepted, close } = await pair();
    const chunks: Buffer[] = [];
    const received = readCallback(function (chunk) { chunks.push(chunk); });
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
    readDirect(accepted, readCallback(function (chunk) { bytes += chunk.length; }));
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
    readDirect(accepted, readCallback(function (chunk) { bytes += chunk.length; }));
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
    assert.equal(readDirect(accepted, readCallback(() => {})), false);
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
    const option = connectReadOption(readCallback(function (chunk) { got.set(this, (got.get(this) ?? '') + chunk.toString()); }));
    const sockets = [0, 1, 2].map(() => net.connect({ port, host: '127.0.0.1', onread: option }));
    const ports = await Promise.all(sockets.map(async (s) => { await once(s, 'connect'); return s.localPort; }));
    await Promise.all(sockets.map((s) => once(s, 'close')));
    sockets.forEach((s, i) => assert.equal(got.get(s), `hello ${ports[i]}`));
    server.close();
  });
});
