import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';

function preflight(port: number, path: string, origin: string, method: string, requestHeaders?: string) {
  return httpRequest(port, {
    method: 'OPTIONS', path,
    headers: { origin, 'access-control-request-method': method, ...(requestHeaders ? { 'access-control-request-headers': requestHeaders } : {}) },
  });
}

describe('cors middleware through the proxy', { timeout: 60_000 }, () => {
  let origin: RecordingOrigin;
  let proxy: ProxyHandle;

  before(async () => {
    origin = await startRecordingOrigin({ respond: (_rec, res) => { res.setHeader('x-total', '7'); res.end('ok'); } });
    proxy = await startProxy(proxyConfig({
      upstreams: { app: [origin.port] },
      routes: [
        { name: 'api', path: '/api/*', upstream: 'app', middleware: ['cors'] },
        { name: 'creds', path: '/creds/*', upstream: 'app', middleware: ['cors-creds'] },
        { name: 'public', path: '/public/*', upstream: 'app', middleware: ['cors-any'] },
      ],
      middleware: {
        cors: { type: 'cors', origins: ['https://app.example.com', 'https://*.example.org'], originRegex: ['https://pr-[0-9]+\\.preview\\.example\\.net'], methods: ['GET', 'POST'], headers: ['content-type', 'x-token'], exposeHeaders: ['x-total'], maxAgeSeconds: 300 },
        'cors-creds': { type: 'cors', origins: ['https://app.example.com'], credentials: true },
        'cors-any': { type: 'cors', origins: ['*'] },
      },
    }));
  });

  after(async () => {
    await proxy.close();
    await origin.close();
  });

  const allowedCases = [
    ['exact origin', 'https://app.example.com'],
    ['wildcard subdomain', 'https://eu.api.example.org'],
    ['regex', 'https://pr-1234.preview.example.net'],
  ] as const;
  for (const [what, from] of allowedCases) {
    test(`preflight from an allowed ${what} is answered 204 with CORS headers, upstream untouched`, async () => {
      const before = origin.requests.length;
      const r = await preflight(proxy.port, '/api/items', from, 'POST', 'content-type');
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-origin'], from);
      assert.equal(r.headers['access-control-allow-methods'], 'GET, POST');
      assert.equal(r.headers['access-control-allow-headers'], 'content-type, x-token');
      assert.equal(r.headers['access-control-max-age'], '300');
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      assert.match(String(r.headers.vary), /^Origin\b/);
      assert.equal(origin.requests.length, before);
    });
  }

  const refusedCases = [
    ['a disallowed origin', 'https://evil.example.com', 'GET'],
    ['the bare wildcard domain', 'https://example.org', 'GET'],
    ['a regex near miss', 'https://pr-12.preview.example.net.evil.com', 'GET'],
    ['a method not allowed', 'https://app.example.com', 'DELETE'],
  ] as const;
  for (const [what, from, method] of refusedCases) {
    test(`preflight with ${what} gets 204 without CORS headers, upstream untouched`, async () => {
      const before = origin.requests.length;
      const r = await preflight(proxy.port, '/api/items', from, method);
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      assert.equal(r.headers['access-control-allow-methods'], undefined);
      assert.equal(r.headers.vary, 'Origin');
      assert.equal(origin.requests.length, before);
    });
  }

  test('an actual request from an allowed origin reaches the upstream and gets Allow-Origin and Expose-Headers', async () => {
    const r = await httpRequest(proxy.port, { path: '/api/items', headers: { origin: 'https://app.example.com' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(r.headers['access-control-expose-headers'], 'x-total');
    assert.equal(r.headers.vary, 'Origin');
  });

  test('a disallowed origin still reaches the upstream but gets no CORS headers, only Vary: Origin', async () => {
    const r = await httpRequest(proxy.port, { path: '/api/items', headers: { origin: 'https://evil.example.com' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(r.headers.vary, 'Origin');
  });

  test('credentials: the origin is echoed with Allow-Credentials, in preflights and responses', async () => {
    const p = await preflight(proxy.port, '/creds/x', 'https://app.example.com', 'PUT', 'x-custom');
    assert.equal(p.status, 204);
    assert.equal(p.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(p.headers['access-control-allow-credentials'], 'true');
    assert.equal(p.headers['access-control-allow-headers'], 'x-custom', 'no configured list: what the preflight asked for');
    const r = await httpRequest(proxy.port, { path: '/creds/x', headers: { origin: 'https://app.example.com' } });
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
  });

  test('"*" answers any origin with "*" and no Vary', async () => {
    const r = await httpRequest(proxy.port, { path: '/public/x', headers: { origin: 'https://anyone.test' } });
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers.vary, undefined);
  });

  test('OPTIONS without Access-Control-Request-Method is not a preflight: it goes upstream', async () => {
    const before = origin.requests.length;
    const r = await httpRequest(proxy.port, { method: 'OPTIONS', path: '/api/items', headers: { origin: 'https://app.example.com' } });
    assert.equal(r.status, 200);
    assert.equal(origin.requests.length, before + 1);
  });
});
