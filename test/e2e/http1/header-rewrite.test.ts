/**
 * Header edits on the way through: hop-by-hop fields removed in both
 * directions (also those a Connection field names, but never the framing
 * fields or Host), route add/set/remove rules and the `headers` middleware
 * on requests and responses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { startScriptedOrigin, type ScriptedOrigin } from '../harness/scripted-origin.js';
import { RawClient, type ParsedResponse } from '../harness/raw-client.js';

let origin: RecordingOrigin;
let scripted: ScriptedOrigin;
let proxy: ProxyHandle;
const scriptedHeads: string[] = [];

before(async () => {
  origin = await startRecordingOrigin({
    respond(rec, res) {
      res.setHeader('server', 'origin/1.0');
      res.setHeader('x-resp-set', 'from-origin');
      res.setHeader('x-resp-keep', 'kept');
      res.end(`${rec.method} ${rec.url} ${rec.bodyBytes}`);
    },
  });
  scripted = await startScriptedOrigin(async (conn) => {
    for (;;) {
      const head = await conn.readRequest();
      scriptedHeads.push(head);
      const path = head.split(' ')[1];
      if (path === '/s/conn-te') {
        conn.write('HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
        continue;
      }
      if (path === '/s/conn-cl') {
        conn.write('HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\nabc');
        continue;
      }
      conn.write('HTTP/1.1 200 OK\r\nConnection: X-Private, keep-alive\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\n'
        + 'Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nTrailer: X-T\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\nok');
    }
  });
  proxy = await startProxy(proxyConfig({
    upstreams: { origin: [origin.port], scripted: [scripted.port] },
    routes: [
      { name: 'scripted', path: '/s/*', upstream: 'scripted' },
      {
        name: 'rules', path: '/rules/*', upstream: 'origin',
        headers: {
          request: { remove: ['X-Remove-Me'], set: { 'X-Set': 'route-value' }, add: { 'X-Add': 'added' } },
          response: { remove: ['Server'], set: { 'X-Resp-Set': 'route-value' }, add: { 'X-Resp-Add': 'added' } },
        },
      },
      { name: 'mw', path: '/mw/*', upstream: 'origin', middleware: ['edit'] },
      { name: 'all', path: '/*', upstream: 'origin' },
    ],
    middleware: {
      edit: { type: 'headers', request: { set: { 'X-Mw': 'req' }, remove: ['Cookie'] }, response: { add: { 'X-Mw-Resp': 'resp' }, remove: ['X-Resp-Keep'] } },
    },
  }));
});

after(async () => {
  await proxy.close();
  await origin.close();
  await scripted.close();
});

async function send(wire: string, method = 'GET'): Promise<ParsedResponse[]> {
  const c = await RawClient.connect(proxy.port);
  c.write(wire);
  const rs = await c.responses(1, [method]);
  c.destroy();
  return rs;
}

test('removes hop-by-hop request fields, including those named in Connection', async () => {
  await send('GET /hop HTTP/1.1\r\nHost: a\r\nConnection: X-Secret, keep-alive, X-Other\r\nX-Secret: 1\r\nX-Other: 2\r\n'
    + 'Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n'
    + 'Proxy-Authorization: Basic eA==\r\nX-End-To-End: kept\r\n\r\n');
  const h = origin.requests.at(-1)!.headers;
  for (const name of ['x-secret', 'x-other', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'proxy-authorization']) {
    assert.equal(h[name], undefined, `${name} must not reach the upstream`);
  }
  assert.equal(h['x-end-to-end'], 'kept');
  // node:http fills in its own Connection for the upstream leg; the client's is never forwarded.
  assert.notEqual(h.connection, 'X-Secret, keep-alive, X-Other');
});

test('removes hop-by-hop response fields, including those named in Connection', async () => {
  const [r] = await send('GET /s/hop HTTP/1.1\r\nHost: a\r\n\r\n');
  for (const name of ['connection', 'x-private', 'keep-alive', 'proxy-authenticate', 'upgrade', 'trailer']) {
    assert.equal(r!.get(name), undefined, `${name} must not reach the client`);
  }
  assert.equal(r!.get('x-public'), 'yes');
  assert.equal(r!.body.toString(), 'ok');
});

test('Connection naming Content-Length, Transfer-Encoding or Host does not strip them', async () => {
  const before = scriptedHeads.length;
  await send('POST /s/cl HTTP/1.1\r\nHost: a.test\r\nConnection: Content-Length, Host\r\nContent-Length: 5\r\n\r\nhello', 'POST');
  const cl = scriptedHeads[before]!;
  assert.match(cl, /\r\nContent-Length: 5\r\n/);
  assert.match(cl, /\r\nhost: a\.test\r\n/i);

  const c = await RawClient.connect(proxy.port);
  c.write('POST /te HTTP/1.1\r\nHost: a\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  const [r] = await c.responses(1, ['POST']);
  c.destroy();
  assert.equal(r!.body.toString(), 'POST /te 5');
  assert.equal(origin.requests.at(-1)!.headers['transfer-encoding'], 'chunked');
});

test('Connection naming the framing fields of a response does not strip them', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/conn-te HTTP/1.1\r\nHost: a\r\n\r\nGET /s/conn-cl HTTP/1.1\r\nHost: a\r\n\r\nGET /s/after HTTP/1.1\r\nHost: a\r\n\r\n');
  const rs = await c.responses(3);
  c.destroy();
  assert.equal(rs[0]!.get('transfer-encoding'), 'chunked');
  assert.equal(rs[0]!.body.toString(), 'ok');
  assert.equal(rs[1]!.get('content-length'), '3');
  assert.equal(rs[1]!.body.toString(), 'abc');
  assert.equal(rs[2]!.body.toString(), 'ok');
  assert.equal(c.received.length, rs.reduce((n, r) => n + r.raw.length, 0));
});

test('applies route request rules: remove, set and add', async () => {
  await send('GET /rules/x HTTP/1.1\r\nHost: a\r\nX-Remove-Me: 1\r\nX-Set: client-1\r\nx-set: client-2\r\nX-Add: client\r\n\r\n');
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.headers['x-remove-me'], undefined);
  assert.equal(rec.headers['x-set'], 'route-value');
  assert.equal(rec.headers['x-add'], 'client, added');
});

test('applies route response rules: remove, set and add', async () => {
  const [r] = await send('GET /rules/y HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(r!.get('server'), undefined);
  assert.deepEqual(r!.all('x-resp-set'), ['route-value']);
  assert.equal(r!.get('x-resp-add'), 'added');
  assert.equal(r!.get('x-resp-keep'), 'kept');
});

test('applies the headers middleware to request and response', async () => {
  const [r] = await send('GET /mw/z HTTP/1.1\r\nHost: a\r\nCookie: session=1\r\n\r\n');
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.headers['x-mw'], 'req');
  assert.equal(rec.headers.cookie, undefined);
  assert.equal(r!.get('x-mw-resp'), 'resp');
  assert.equal(r!.get('x-resp-keep'), undefined);
  assert.equal(r!.get('server'), 'origin/1.0');
});

test('refuses a config whose header rules edit Content-Length or Transfer-Encoding', async () => {
  for (const rules of [{ request: { remove: ['Content-Length'] } }, { request: { set: { 'transfer-encoding': 'identity' } } }, { response: { add: { 'Content-Length': '0' } } }]) {
    let error: (Error & { code?: string }) | undefined;
    try {
      const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, routes: [{ path: '/*', upstream: 'origin', headers: rules }] }));
      await p.close();
    } catch (err) {
      error = err as Error & { code?: string };
    }
    // Refused by the config loader with the JSON path (HeaderRules refuses them again at build time: code 'middleware.framing-header').
    assert.equal(error?.code, 'config.invalid', JSON.stringify(rules));
    assert.match(error!.message, /\/routes\/0\/headers\/(request|response)\/(remove\/0|set\/transfer-encoding|add\/Content-Length): .* is message framing/);
  }
});
