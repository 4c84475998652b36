/**
 * TLS passthrough on a stream listener: the ClientHello's server name picks
 * the upstream group (exact, wildcard, default) and the TLS session runs end
 * to end between the client and that backend; zproxy never decrypts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { exchange, streamConfig } from './stream-harness.js';

const CERTS = fileURLToPath(new URL('../../../../conf/examples/certs/', import.meta.url));
const cert = fs.readFileSync(CERTS + 'localhost.crt');
const key = fs.readFileSync(CERTS + 'localhost.key');

interface TlsBackend { readonly port: number; readonly names: string[]; close(): Promise<void> }

/** A TLS server that answers `<name>:<servername it saw>;` after the handshake, then echoes. */
async function startTlsBackend(name: string): Promise<TlsBackend> {
  const names: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert, key }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const sni = (s as tls.TLSSocket & { servername?: string | false }).servername || '-';
    names.push(sni);
    s.write(`${name}:${sni};`);
    s.on('data', (d: Buffer) => s.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    names,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects through the proxy with `servername`, reads the backend's greeting, sends `echo`, reads it back. */
function talk(port: number, servername: string | undefined, echo = 'ping'): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => s.write(echo));
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer for ${servername}`)); }, 10_000);
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.endsWith(echo)) {
        clearTimeout(timer);
        s.end();
        resolve(text);
      }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); reject(new Error(`closed before the echo; got ${JSON.stringify(text)}`)); });
  });
}

const backends: Record<string, TlsBackend> = {};
let proxy: ProxyHandle;
let strict: ProxyHandle;

before(async () => {
  for (const n of ['A', 'B', 'W', 'D', 'H1', 'H2']) backends[n] = await startTlsBackend(n);
  const group = (n: string): Record<string, unknown> => ({ hosts: [`127.0.0.1:${backends[n]!.port}`] });
  proxy = await startProxy(streamConfig(
    { tls: { passthrough: true }, sni: { 'a.test': 'a', 'b.test': 'b', '*.wild.test': 'w', 'hashed.test': 'hashed' }, defaultUpstream: 'd' },
    {
      a: group('A'), b: group('B'), w: group('W'), d: group('D'),
      hashed: { hosts: [`127.0.0.1:${backends.H1!.port}`, `127.0.0.1:${backends.H2!.port}`], strategy: 'sni' },
    },
    { timeouts: { headerMs: 400 } },
  ));
  strict = await startProxy(streamConfig({ tls: { passthrough: true }, sni: { 'a.test': 'a' } }, { a: group('A') }, { timeouts: { headerMs: 400 } }));
});

after(async () => {
  await proxy.close();
  await strict.close();
  for (const b of Object.values(backends)) await b.close();
});

describe('tls passthrough routed by SNI', { timeout: 60_000 }, () => {
  test('a.test and b.test reach two different backends, with the TLS session end to end', async () => {
    assert.equal(await talk(proxy.port, 'a.test'), 'A:a.test;ping');
    assert.equal(await talk(proxy.port, 'b.test'), 'B:b.test;ping');
    assert.equal(await talk(proxy.port, 'A.TEST', 'x'), 'A:A.TEST;x'); // routed case-insensitively, the hello forwarded unchanged
  });

  test('a wildcard takes any name under it, not the bare domain', async () => {
    assert.equal(await talk(proxy.port, 'x.wild.test'), 'W:x.wild.test;ping');
    assert.equal(await talk(proxy.port, 'deep.x.wild.test'), 'W:deep.x.wild.test;ping');
    assert.equal(await talk(proxy.port, 'wild.test'), 'D:wild.test;ping');
  });

  test('an unknown name and a hello without SNI go to defaultUpstream', async () => {
    assert.equal(await talk(proxy.port, 'nobody.test'), 'D:nobody.test;ping');
    assert.equal(await talk(proxy.port, undefined), 'D:-;ping'); // an IP host: node sends no SNI
  });

  test('without defaultUpstream an unknown name is closed without a byte', async () => {
    assert.equal(await talk(strict.port, 'a.test'), 'A:a.test;ping');
    await assert.rejects(talk(strict.port, 'other.test'));
    assert.ok(!backends.A!.names.includes('other.test'));
  });

  test('the sni strategy keeps one server name on one host', async () => {
    const first = await talk(proxy.port, 'hashed.test');
    for (let i = 0; i < 4; i++) assert.equal(await talk(proxy.port, 'hashed.test'), first);
    assert.match(first, /^H[12]:hashed\.test;ping$/);
  });

  test('a malformed ClientHello (plain HTTP) is closed without reaching any backend', async () => {
    const before = Object.values(backends).reduce((n, b) => n + b.names.length, 0);
    const got = await exchange(proxy.port, (s) => s.write('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n'));
    assert.equal(got.data.length, 0);
    assert.equal(Object.values(backends).reduce((n, b) => n + b.names.length, 0), before);
  });

  test('a client that sends nothing is closed at the header timeout', async () => {
    const started = performance.now();
    const got = await exchange(proxy.port, () => {});
    assert.equal(got.data.length, 0);
    assert.ok(performance.now() - started >= 350, 'closed before headerMs');
  });
});
