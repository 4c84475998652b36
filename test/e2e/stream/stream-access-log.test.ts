/**
 * Stream connections in the access log, through the real CLI (workers,
 * logger thread, file): one line per connection at close, with the bytes
 * both ways, the duration, the upstream, the listener and the SNI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { startCli, tempDir, waitFor, writeJson } from '../cli/cli-process.js';
import { cliConfig, freePorts, startOrigin } from '../cli/cli-config.js';
import { exchange, startEchoOrigin } from './stream-harness.js';

const FORMAT = '$protocol $status $bytes_sent $bytes_received $upstream_addr $route $tls_sni $request_time $client_addr';
const CERTS = new URL('../../../../conf/examples/certs/', import.meta.url);

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

test('each stream connection writes one access line with bytes both ways, duration, upstream and SNI', { timeout: 60_000 }, async () => {
  const web = await startOrigin('web');
  const echo = await startEchoOrigin({ greeting: 'hello;' });
  const backend = tls.createServer({ cert: fs.readFileSync(new URL('localhost.crt', CERTS)), key: fs.readFileSync(new URL('localhost.key', CERTS)) }, (s) => {
    s.on('error', () => {});
    s.end('tls-ok');
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as net.AddressInfo).port;
  const [listenerPort, adminPort, tcpPort, tlsPort, deadPort] = await freePorts(5);
  const dir = tempDir('stream-log');
  const log = path.join(dir, 'access.log');
  const file = path.join(dir, 'zproxy.json');
  const config = cliConfig({
    listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { web: web.port, echo: echo.port, secure: backendPort, dead: deadPort! },
    routes: [{ path: '/*', upstream: 'web' }],
    extraListeners: [
      { name: 'tcp', address: '127.0.0.1', port: tcpPort, mode: 'stream', upstream: 'echo' },
      { name: 'tls', address: '127.0.0.1', port: tlsPort, mode: 'stream', tls: { passthrough: true }, sni: { 'secure.test': 'secure' }, defaultUpstream: 'dead' },
    ],
    access: { enabled: true, path: log, format: FORMAT },
  });
  (config.upstreams as Record<string, Record<string, unknown>>).dead!.retries = 0;
  writeJson(file, config);
  let proxy: Awaited<ReturnType<typeof startCli>> | undefined;
  try {
    // Started inside the try: a start that fails must still close the origins, or the test process never exits.
    proxy = await startCli(file);
    const got = await exchange(tcpPort!, (s) => s.end('0123456789'));
    assert.equal(got.data.toString(), 'hello;0123456789');
    await waitFor(() => readLines(log).length === 1, 5000, 'the tcp line');
    const [proto, status, sent, received, upstream, route, sni, seconds, client] = readLines(log)[0]!.split(' ');
    assert.deepEqual([proto, status, sent, received, upstream, route, sni, client], ['TCP', '200', '16', '10', `127.0.0.1:${echo.port}`, 'tcp', '-', '127.0.0.1']);
    assert.match(seconds!, /^\d+\.\d{3}$/);

    const tlsText = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort!, servername: 'secure.test', rejectUnauthorized: false });
      s.on('data', (d: Buffer) => { text += d.toString(); });
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.equal(tlsText, 'tls-ok');
    await waitFor(() => readLines(log).length === 2, 5000, 'the tls line');
    const tlsLine = readLines(log)[1]!.split(' ');
    assert.deepEqual([tlsLine[0], tlsLine[1], tlsLine[4], tlsLine[5], tlsLine[6]], ['TLS', '200', `127.0.0.1:${backendPort}`, 'tls', 'secure.test']);
    assert.ok(Number(tlsLine[2]) > 6 && Number(tlsLine[3]) > 100, `TLS records counted both ways: ${tlsLine.join(' ')}`);

    // An unknown name goes to the default group, which refuses: 502, no upstream byte.
    const refused = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort!, servername: 'other.test', rejectUnauthorized: false });
      s.on('error', () => resolve(true));
      s.on('secureConnect', () => resolve(false));
    });
    assert.equal(refused, true);
    await waitFor(() => readLines(log).length === 3, 5000, 'the failed connection line');
    const failed = readLines(log)[2]!.split(' ');
    assert.deepEqual([failed[0], failed[1], failed[2], failed[6]], ['TLS', '502', '0', 'other.test']);
  } finally {
    await proxy?.kill();
    await web.close();
    await echo.close();
    backend.close();
  }
});
