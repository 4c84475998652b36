/**
 * Requests of every method reach the upstream with their bodies, and the
 * forwarding fields (X-Forwarded-*, Via) are added both ways.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { startScriptedOrigin, type ScriptedOrigin } from '../harness/scripted-origin.js';
import { RawClient } from '../harness/raw-client.js';
import { httpRequest } from '../harness/http-request.js';

let origin: RecordingOrigin;
let scripted: ScriptedOrigin;
let proxy: ProxyHandle;
let lastScriptedHead = Buffer.alloc(0);

before(async () => {
  origin = await startRecordingOrigin({
    respond(rec, res) {
      if (rec.url === '/via') res.setHeader('via', '1.0 origin-cache');
      if (rec.url === '/no-content') {
        res.statusCode = 204;
        res.end();
        return;
      }
      if (rec.url === '/not-modified') {
        res.statusCode = 304;
        res.setHeader('etag', '"v1"');
        res.end();
        return;
      }
      const body = `${rec.method} ${rec.url} ${rec.bodyBytes}`;
      res.setHeader('x-origin-body-sha256', rec.bodySha256);
      res.setHeader('content-length', Buffer.byteLength(body)); // node omits it on HEAD otherwise
      res.end(body);
    },
  });
  // Bodyless statuses that nonetheless announce a length, to check the proxy never waits for those bytes.
  scripted = await startScriptedOrigin(async (conn) => {
    for (;;) {
      const head = await conn.readRequest();
      const path = head.split(' ')[1];
      if (path === '/204') conn.write('HTTP/1.1 204 No Content\r\nx-n: 1\r\n\r\n');
      else if (path === '/304') conn.write('HTTP/1.1 304 Not Modified\r\ncontent-length: 50\r\netag: "x"\r\n\r\n');
      else if (path === '/head') conn.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n');
      else if (path === '/bytes') {
        lastScriptedHead = Buffer.from(head, 'latin1');
        conn.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nx-utf8: ', 'latin1'), Buffer.from('naïve ✓', 'utf8'), Buffer.from('\r\ncontent-length: 2\r\n\r\nok', 'latin1')]));
      }
      else conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    }
  });
  proxy = await startProxy(proxyConfig({
    upstreams: { origin: [origin.port], scripted: [scripted.port] },
    routes: [
      { name: 'scripted', path: '/s/*', upstream: 'scripted', rewrite: { path: '/*' } },
      { name: 'all', path: '/*', upstream: 'origin' },
    ],
  }));
});

after(async () => {
  await proxy.close();
  await origin.close();
  await scripted.close();
});

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

for (const [method, body] of [
  ['GET', undefined],
  ['POST', 'x'.repeat(70_000)],
  ['PUT', 'put-body'],
  ['PATCH', '{"op":"replace"}'],
  ['DELETE', undefined],
  ['OPTIONS', undefined],
  ['PROPFIND', '<propfind/>'],
] as const) {
  test(`forwards ${method}${body ? ' with its body' : ''} to the upstream byte for byte`, async () => {
    const before = origin.requests.length;
    const r = await httpRequest(proxy.port, { method, path: `/m/${method}?q=1`, body, headers: body ? { 'content-type': 'text/plain' } : {} });
    assert.equal(r.status, 200);
    const bytes = body ? Buffer.byteLength(body) : 0;
    assert.equal(r.body.toString(), `${method} /m/${method}?q=1 ${bytes}`);
    assert.equal(origin.requests.length, before + 1);
    const rec = origin.requests[before]!;
    assert.equal(rec.method, method);
    assert.equal(rec.bodyBytes, bytes);
    assert.equal(rec.bodySha256, sha256(body ?? ''));
  });
}

test('forwards HEAD and relays the head without a body', async () => {
  const r = await httpRequest(proxy.port, { method: 'HEAD', path: '/h' });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  assert.equal(r.headers['content-length'], String('HEAD /h 0'.length));
  assert.equal(origin.requests.at(-1)!.method, 'HEAD');
});

test('forwards OPTIONS * with the asterisk target', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.status, 200);
  assert.equal(r!.body.toString(), 'OPTIONS * 0');
});

test('HEAD, 204 and 304 responses carry no body and the connection stays usable', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('HEAD /s/head HTTP/1.1\r\nHost: a\r\n\r\n');
  const [head] = await c.responses(1, ['HEAD']);
  assert.equal(head!.status, 200);
  assert.equal(head!.get('content-length'), '1234');
  c.write('GET /s/204 HTTP/1.1\r\nHost: a\r\n\r\n');
  c.write('GET /s/304 HTTP/1.1\r\nHost: a\r\n\r\n');
  c.write('GET /s/ok HTTP/1.1\r\nHost: a\r\n\r\n');
  const rs = await c.responses(4, ['HEAD', 'GET', 'GET', 'GET']);
  assert.deepEqual(rs.map((r) => r.status), [200, 204, 304, 200]);
  assert.equal(rs[1]!.raw.toString('latin1').endsWith('\r\n\r\n'), true);
  assert.equal(rs[1]!.get('content-length'), undefined);
  assert.equal(rs[2]!.get('content-length'), '50'); // describes the selected representation, RFC 9110 8.6
  assert.equal(rs[3]!.body.toString(), 'ok');
  // Nothing after the last response: no stray body bytes were invented or relayed.
  assert.equal(c.received.length, rs.reduce((n, r) => n + r.raw.length, 0));
  assert.equal(c.closed, false);
  c.destroy();
});

test('node origin 204 and 304 answers pass through with no body', async () => {
  const r204 = await httpRequest(proxy.port, { path: '/no-content' });
  assert.equal(r204.status, 204);
  assert.equal(r204.body.length, 0);
  const r304 = await httpRequest(proxy.port, { path: '/not-modified', headers: { 'if-none-match': '"v1"' } });
  assert.equal(r304.status, 304);
  assert.equal(r304.headers.etag, '"v1"');
  assert.equal(r304.body.length, 0);
});

test('appends the client address to an existing X-Forwarded-For', async () => {
  await httpRequest(proxy.port, { path: '/xff', headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' } });
  assert.equal(origin.requests.at(-1)!.headers['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 127.0.0.1');
});

test('sets X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host, replacing client-sent proto and host', async () => {
  await httpRequest(proxy.port, { path: '/fwd', headers: { host: 'shop.example:8443', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } });
  const h = origin.requests.at(-1)!.headers;
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], 'shop.example:8443');
  assert.equal(h.host, 'shop.example:8443');
});

test('adds Via to the request and appends to the response Via', async () => {
  const r = await httpRequest(proxy.port, { path: '/via', headers: { via: '1.1 client-proxy' } });
  assert.equal(origin.requests.at(-1)!.headers.via, '1.1 client-proxy, 1.1 zproxy');
  assert.equal(r.headers.via, '1.0 origin-cache, 1.1 zproxy');
  const plain = await httpRequest(proxy.port, { path: '/plain' });
  assert.equal(plain.headers.via, '1.1 zproxy');
});

test('takes the upstream Host from an absolute-form target, not from the Host field', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET http://target.example/abs?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.status, 200);
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.url, '/abs?x=1');
  assert.equal(rec.headers.host, 'target.example');
  assert.equal(rec.headers['x-forwarded-host'], 'target.example');
});

test('an absolute-form target with a query and no path goes upstream as /?query (RFC 9112 3.2.2)', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET http://target.example?x=1 HTTP/1.1\r\nHost: target.example\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.status, 200);
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.url, '/?x=1');
  assert.equal(rec.headers.host, 'target.example');
});

test('sends a Host upstream for an HTTP/1.0 request that had none', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /no-host HTTP/1.0\r\n\r\n');
  const [r] = await c.responses(1);
  await c.waitClosed();
  assert.equal(r!.status, 200);
  assert.equal(r!.body.toString(), 'GET /no-host 0');
  assert.equal(origin.requests.at(-1)!.headers.host, `127.0.0.1:${origin.port}`);
});

test('forwards non-ASCII header bytes unchanged in both directions', async () => {
  const value = Buffer.from('café ✓', 'utf8');
  const c = await RawClient.connect(proxy.port);
  c.write(Buffer.concat([Buffer.from('GET /s/bytes HTTP/1.1\r\nHost: a\r\nX-Utf8: ', 'latin1'), value, Buffer.from('\r\n\r\n', 'latin1')]));
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(lastScriptedHead.includes(Buffer.concat([Buffer.from('X-Utf8: ', 'latin1'), value, Buffer.from('\r\n', 'latin1')])), true);
  assert.equal(c.received.includes(Buffer.concat([Buffer.from('x-utf8: ', 'latin1'), Buffer.from('naïve ✓', 'utf8'), Buffer.from('\r\n', 'latin1')])), true);
  assert.equal(r!.body.toString(), 'ok');
});

test('collapses repeated identical Content-Length values into one field upstream', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('POST /cl-twice HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc');
  const [r] = await c.responses(1, ['POST']);
  c.destroy();
  assert.equal(r!.body.toString(), 'POST /cl-twice 3');
  const raw = origin.requests.at(-1)!.rawHeaders;
  assert.deepEqual(raw.filter((_, i) => i % 2 === 0 && raw[i]!.toLowerCase() === 'content-length').length, 1);
  assert.equal(origin.requests.at(-1)!.headers['content-length'], '3');
});
