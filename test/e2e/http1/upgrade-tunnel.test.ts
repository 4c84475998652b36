/**
 * Upgrade (RFC 9110 7.8): a 101 from the upstream turns the exchange into a
 * byte tunnel both ways; a 101 nobody asked for is a 502.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startScriptedOrigin, type ScriptedOrigin } from '../harness/scripted-origin.js';
import { RawClient } from '../harness/raw-client.js';

let origin: ScriptedOrigin;
let proxy: ProxyHandle;
const heads: string[] = [];

before(async () => {
  origin = await startScriptedOrigin(async (conn) => {
    const head = await conn.readHead();
    heads.push(head);
    conn.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello-from-origin;');
    // Echo what comes through the tunnel, upper-cased so the test sees it went round.
    conn.socket.on('data', (d: Buffer) => {
      if (heads.length > 0) conn.socket.write(d.toString('latin1').toUpperCase());
    });
  });
  proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

test('a 101 answer to an Upgrade request opens a tunnel carrying bytes both ways', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
  await c.waitFor('hello-from-origin;');
  const text = c.received.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(text, /\r\nupgrade: echo\r\n/i);
  assert.match(text, /\r\nconnection: upgrade\r\n/i);
  assert.match(heads.at(-1)!, /\r\nupgrade: echo\r\nconnection: upgrade\r\n/i);
  c.write('ping over the tunnel');
  await c.waitFor('PING OVER THE TUNNEL');
  c.destroy();
  const conn = origin.connections.at(-1)!;
  for (let i = 0; i < 100 && !conn.closed; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(conn.closed, true, 'closing the client side closes the tunnel upstream');
});

test('a 101 to a request that did not ask to upgrade is a 502', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /plain HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.statusLine, 'HTTP/1.1 502 Bad Gateway');
  assert.doesNotMatch(heads.at(-1)!, /upgrade/i);
});
