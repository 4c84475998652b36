import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeyMiddleware, parseKeysFile, queryValue, withoutQueryParam } from '../../../actors/middleware/api-key.js';
import type { ApiKeyMiddlewareConfig } from '../../../src/config/types.js';
import type { RequestContext } from '../../../actors/middleware/request-context.js';
import type { MiddlewareDecision, RespondDecision } from '../../../actors/middleware/middleware.js';

function config(extra: Partial<ApiKeyMiddlewareConfig> = {}): ApiKeyMiddlewareConfig {
  return { type: 'api-key', name: 'auth', keys: [{ name: 'alice', key: 'k-alice-123' }, { name: 'bob', key: 'k-bob-456' }], header: 'x-api-key', ...extra };
}

function ctx(path: string, headers: string[] = []): RequestContext {
  return { requestId: 'r1', method: 'GET', path, headers, host: 'h', clientAddress: '127.0.0.1', clientPort: 1, tls: false, routeName: 'r', params: {}, locals: {} };
}

function run(mw: ApiKeyMiddleware, c: RequestContext): MiddlewareDecision {
  return mw.onRequest(c);
}

describe('api-key middleware', () => {
  test('accepts a known key from the header, names it in locals and strips it', () => {
    const mw = new ApiKeyMiddleware('auth', config());
    const c = ctx('/x', ['Host', 'h', 'X-Api-Key', 'k-bob-456']);
    assert.equal(run(mw, c).kind, 'continue');
    assert.equal(c.locals.apiKeyName, 'bob');
    assert.deepEqual(c.headers, ['Host', 'h']);
  });

  test('answers 401 with WWW-Authenticate for a missing, empty or wrong key, never echoing it', () => {
    const mw = new ApiKeyMiddleware('auth', config());
    for (const headers of [[], ['x-api-key', ''], ['x-api-key', 'k-alice-12'], ['x-api-key', 'k-alice-1234']]) {
      const d = run(mw, ctx('/x', headers)) as RespondDecision;
      assert.equal(d.kind, 'respond');
      assert.equal(d.status, 401);
      assert.equal(d.headers![0], 'www-authenticate');
      assert.equal(d.headers![1], 'ApiKey realm="zproxy", header="x-api-key"');
      assert.ok(!String(d.body).includes('k-alice'));
    }
  });

  test('reads the query parameter when configured, strips it and keeps the rest of the query', () => {
    const mw = new ApiKeyMiddleware('auth', config({ queryParam: 'api_key' }));
    const c = ctx('/x?a=1&api_key=k-alice-123&b=2');
    assert.equal(run(mw, c).kind, 'continue');
    assert.equal(c.locals.apiKeyName, 'alice');
    assert.equal(c.path, '/x?a=1&b=2');
    const only = ctx('/x?api_key=k%2Dalice%2D123');
    assert.equal(run(mw, only).kind, 'continue');
    assert.equal(only.path, '/x');
    assert.equal((run(mw, ctx('/x?api_key=nope')) as RespondDecision).status, 401);
    // Without queryParam configured, a key in the query is not accepted.
    assert.equal((run(new ApiKeyMiddleware('auth', config()), ctx('/x?api_key=k-alice-123')) as RespondDecision).status, 401);
  });

  test('loads name:key lines from a keys file, with comments and colons in keys', () => {
    const file = '# ops keys\n\nci: k:with:colons \r\nmetrics-1:abc\n';
    assert.deepEqual(parseKeysFile(file, '/k'), [{ name: 'ci', key: 'k:with:colons' }, { name: 'metrics-1', key: 'abc' }]);
    const mw = new ApiKeyMiddleware('auth', config({ keys: [], keysFile: '/keys' }), () => file);
    const c = ctx('/', ['x-api-key', 'k:with:colons']);
    assert.equal(run(mw, c).kind, 'continue');
    assert.equal(c.locals.apiKeyName, 'ci');
  });

  test('a malformed keys file line is an error naming the line, never its text', () => {
    assert.throws(() => parseKeysFile('ok:1\nsecret-without-name\n', '/etc/keys'), (err: Error) => {
      assert.match(err.message, /\/etc\/keys line 2: expected "name:key"/);
      assert.ok(!err.message.includes('secret-without-name'));
      return true;
    });
  });

  test('query helpers decode names and values and remove every occurrence', () => {
    assert.equal(queryValue('/p?a=1&k=v%20w+x', 'k'), 'v w x');
    assert.equal(queryValue('/p?a=1', 'k'), undefined);
    assert.equal(withoutQueryParam('/p?k=1&a=2&k=3', 'k'), '/p?a=2');
    assert.equal(withoutQueryParam('/p', 'k'), '/p');
  });
});
