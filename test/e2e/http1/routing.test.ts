/**
 * Routing as a client sees it: 404 and 405 (with Allow) answered by the
 * proxy, the most specific route winning, and path/host rewrites reaching
 * the upstream with the query intact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { RawClient } from '../harness/raw-client.js';
import { httpRequest } from '../harness/http-request.js';

let origin: RecordingOrigin;
let proxy: ProxyHandle;

const tag = (name: string): Record<string, unknown> => ({ request: { set: { 'x-route': name } } });

before(async () => {
  origin = await startRecordingOrigin();
  proxy = await startProxy(proxyConfig({
    upstreams: { origin: [origin.port] },
    routes: [
      { name: 'api', path: '/api/*', upstream: 'origin', headers: tag('api') },
      { name: 'user', path: '/api/users/:id', upstream: 'origin', rewrite: { path: '/users/:id' }, headers: tag('user') },
      { name: 'user-me', path: '/api/users/me', upstream: 'origin', headers: tag('user-me') },
      { name: 'static', path: '/static/*', methods: ['GET'], upstream: 'origin', rewrite: { path: '/assets/*' }, headers: tag('static') },
      { name: 'forms', path: '/forms/submit', methods: ['POST', 'PUT'], upstream: 'origin', headers: tag('forms') },
      { name: 'docs', path: '/docs/*', methods: ['GET'], upstream: 'origin', headers: tag('docs') },
      { name: 'internal', path: '/internal/*', upstream: 'origin', rewrite: { host: 'backend.internal' }, headers: tag('internal') },
      { name: 'host-a', host: ['a.example'], path: '/*', upstream: 'origin', headers: tag('host-a') },
      { name: 'host-wild', host: ['*.example'], path: '/*', upstream: 'origin', headers: tag('host-wild') },
    ],
  }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

async function routeOf(path: string, host = 'other.test', method = 'GET'): Promise<{ route: string | undefined; url: string; status: number }> {
  const before = origin.requests.length;
  const r = await httpRequest(proxy.port, { path, method, headers: { host } });
  const rec = origin.requests.length > before ? origin.requests.at(-1)! : undefined;
  return { status: r.status, route: rec?.headers['x-route'] as string | undefined, url: rec?.url ?? '' };
}

test('answers 404 when no route matches and keeps the connection', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /nothing/here HTTP/1.1\r\nHost: other.test\r\n\r\n');
  const [r] = await c.responses(1);
  assert.equal(r!.statusLine, 'HTTP/1.1 404 Not Found');
  assert.equal(r!.body.toString().split('\n')[0], '404 Not Found: no route');
  assert.match(r!.get('x-request-id')!, /\S+/);
  assert.equal(r!.get('connection'), undefined);
  c.write('GET /api/ok HTTP/1.1\r\nHost: other.test\r\n\r\n');
  const rs = await c.responses(2);
  assert.equal(rs[1]!.status, 200);
  c.destroy();
  assert.equal(origin.requests.some((q) => q.url === '/nothing/here'), false);
});

test('answers 405 with the exact Allow header of the routes matching the path', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /forms/submit HTTP/1.1\r\nHost: other.test\r\n\r\nDELETE /docs/a HTTP/1.1\r\nHost: other.test\r\n\r\n');
  const [forms, docs] = await c.responses(2);
  c.destroy();
  assert.equal(forms!.statusLine, 'HTTP/1.1 405 Method Not Allowed');
  assert.deepEqual(forms!.all('allow'), ['POST, PUT']);
  assert.equal(docs!.statusLine, 'HTTP/1.1 405 Method Not Allowed');
  assert.deepEqual(docs!.all('allow'), ['GET, HEAD']);
  assert.equal(origin.requests.some((q) => q.url.startsWith('/forms') || q.url.startsWith('/docs')), false);
});

test('a 405 to a request with an unread body closes the connection', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('DELETE /docs/a HTTP/1.1\r\nHost: other.test\r\nContent-Length: 100\r\n\r\npartial');
  const [r] = await c.responses(1, ['DELETE']);
  assert.equal(r!.status, 405);
  assert.equal(r!.get('connection'), 'close');
  assert.equal(await c.waitClosed(1000), true);
});

test('the most specific route wins whatever the config order', async () => {
  assert.deepEqual(await routeOf('/api/users/me'), { status: 200, route: 'user-me', url: '/api/users/me' });
  assert.deepEqual(await routeOf('/api/users/42'), { status: 200, route: 'user', url: '/users/42' });
  assert.deepEqual(await routeOf('/api/users/42/posts'), { status: 200, route: 'api', url: '/api/users/42/posts' });
  assert.deepEqual(await routeOf('/api'), { status: 200, route: 'api', url: '/api' });
});

test('rewrites a path with params and keeps the query string as sent', async () => {
  assert.deepEqual(await routeOf('/api/users/42?expand=1&x=%20y'), { status: 200, route: 'user', url: '/users/42?expand=1&x=%20y' });
});

test('rewrites a wildcard path and keeps the query string', async () => {
  assert.deepEqual(await routeOf('/static/css/site.css?v=3'), { status: 200, route: 'static', url: '/assets/css/site.css?v=3' });
});

test('HEAD is served by a route that lists GET', async () => {
  assert.deepEqual(await routeOf('/docs/readme', 'other.test', 'HEAD'), { status: 200, route: 'docs', url: '/docs/readme' });
});

test('rewrites the Host sent upstream and keeps the original in X-Forwarded-Host', async () => {
  const r = await routeOf('/internal/status', 'public.test:8080');
  assert.equal(r.route, 'internal');
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.headers.host, 'backend.internal');
  assert.equal(rec.headers['x-forwarded-host'], 'public.test:8080');
});

test('routes by host: exact beats wildcard, case and port ignored', async () => {
  assert.equal((await routeOf('/api/users/me', 'a.example')).route, 'host-a');
  assert.equal((await routeOf('/x', 'A.Example:8080')).route, 'host-a');
  assert.equal((await routeOf('/x', 'b.example')).route, 'host-wild');
  assert.equal((await routeOf('/x', 'example')).status, 404);
});

test('normalizes the path before routing so encoded and dotted spellings cannot bypass a route', async () => {
  assert.deepEqual(await routeOf('/api/x/../users/me'), { status: 200, route: 'user-me', url: '/api/users/me' });
  assert.deepEqual(await routeOf('/%61pi/users/me'), { status: 200, route: 'user-me', url: '/api/users/me' });
  assert.deepEqual(await routeOf('//api//users/7'), { status: 200, route: 'user', url: '/users/7' });
});

test('a 404 and a 405 in the middle of a pipeline do not disturb the requests around them', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /api/1 HTTP/1.1\r\nHost: other.test\r\n\r\nGET /missing HTTP/1.1\r\nHost: other.test\r\n\r\n'
    + 'GET /forms/submit HTTP/1.1\r\nHost: other.test\r\n\r\nGET /api/2 HTTP/1.1\r\nHost: other.test\r\n\r\n');
  const rs = await c.responses(4);
  c.destroy();
  assert.deepEqual(rs.map((r) => r.status), [200, 404, 405, 200]);
  assert.equal(rs[0]!.body.toString(), 'GET /api/1 0');
  assert.equal(rs[3]!.body.toString(), 'GET /api/2 0');
});
