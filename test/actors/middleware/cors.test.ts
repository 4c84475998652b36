import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CorsMiddleware } from '../../../actors/middleware/cors.js';
import type { CorsMiddlewareConfig } from '../../../src/config/types.js';
import type { RequestContext, ResponseContext } from '../../../actors/middleware/request-context.js';
import type { RespondDecision } from '../../../actors/middleware/middleware.js';

function cors(extra: Partial<CorsMiddlewareConfig> = {}): CorsMiddleware {
  return new CorsMiddleware('cors', {
    type: 'cors', name: 'cors', origins: ['https://app.example.com', 'https://*.example.org'], originRegex: ['https://pr-[0-9]+\\.preview\\.example\\.net'],
    methods: ['GET', 'POST'], headers: [], exposeHeaders: [], credentials: false, maxAgeSeconds: 600, ...extra,
  });
}

function ctx(method: string, headers: string[]): RequestContext {
  return { requestId: 'r', method, path: '/', headers, host: 'h', clientAddress: '127.0.0.1', clientPort: 1, tls: false, routeName: 'r', params: {}, locals: {} };
}

describe('cors origin matching', () => {
  const mw = cors();
  for (const [origin, ok] of [
    ['https://app.example.com', true],
    ['HTTPS://APP.EXAMPLE.COM', true],
    ['http://app.example.com', false],
    ['https://app.example.com:8443', false],
    ['https://a.example.org', true],
    ['https://a.b.example.org', true],
    ['https://example.org', false],
    ['https://evil-example.org', false],
    ['https://a.example.org.evil.com', false],
    ['https://pr-42.preview.example.net', true],
    ['https://pr-x.preview.example.net', false],
    ['https://pr-42.preview.example.net.evil.com', false],
    ['null', false],
  ] as const) {
    test(`${origin} is ${ok ? 'allowed' : 'refused'}`, () => assert.equal(mw.allowed(origin), ok));
  }

  test('"*" allows any origin and answers "*" without Vary when credentials are off', () => {
    const any = cors({ origins: ['*'], originRegex: [] });
    const c = ctx('GET', ['origin', 'https://x.test']);
    assert.equal(any.onRequest(c).kind, 'continue');
    const res: ResponseContext = { status: 200, headers: [] };
    any.onResponseHead(c, res);
    assert.deepEqual(res.headers, ['Access-Control-Allow-Origin', '*']);
  });
});

describe('cors responses', () => {
  test('a preflight from an allowed origin lists methods, echoes requested headers and varies', () => {
    const d = cors().onRequest(ctx('OPTIONS', ['origin', 'https://app.example.com', 'access-control-request-method', 'POST', 'access-control-request-headers', 'x-a, content-type'])) as RespondDecision;
    assert.equal(d.status, 204);
    assert.deepEqual(d.headers, [
      'Access-Control-Allow-Origin', 'https://app.example.com', 'Access-Control-Allow-Methods', 'GET, POST', 'Access-Control-Allow-Headers', 'x-a, content-type',
      'Access-Control-Max-Age', '600', 'Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    ]);
  });

  test('an actual request gets Allow-Origin, credentials and exposed headers, and Vary is merged', () => {
    const mw = cors({ credentials: true, exposeHeaders: ['x-total'] });
    const c = ctx('GET', ['origin', 'https://app.example.com']);
    assert.equal(mw.onRequest(c).kind, 'continue');
    const res: ResponseContext = { status: 200, headers: ['vary', 'Accept-Encoding', 'access-control-allow-origin', 'https://upstream-said.test'] };
    mw.onResponseHead(c, res);
    assert.deepEqual(res.headers, ['vary', 'Accept-Encoding, Origin', 'Access-Control-Allow-Origin', 'https://app.example.com', 'Access-Control-Allow-Credentials', 'true', 'Access-Control-Expose-Headers', 'x-total']);
  });

  test('a disallowed origin gets only Vary: Origin', () => {
    const mw = cors();
    const c = ctx('GET', ['origin', 'https://evil.test']);
    mw.onRequest(c);
    const res: ResponseContext = { status: 200, headers: [] };
    mw.onResponseHead(c, res);
    assert.deepEqual(res.headers, ['Vary', 'Origin']);
  });
});
