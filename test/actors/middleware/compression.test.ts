import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionMiddleware } from '../../../actors/middleware/compression.js';
import type { RequestContext, ResponseContext } from '../../../actors/middleware/request-context.js';

const config = { type: 'compression' as const, name: 'gz', types: ['text/*'], minBytes: 10, algorithms: ['gzip' as const] };

function ctx(bodyFilters: boolean | undefined): RequestContext {
  return { requestId: 'r', method: 'GET', path: '/', headers: ['Accept-Encoding', 'gzip'], host: 'h', clientAddress: '127.0.0.1', clientPort: 1, tls: false, routeName: 'all', params: {}, locals: {}, bodyFilters };
}

test('leaves the head alone in a session without the body phase (the body would not be compressed)', () => {
  const mw = new CompressionMiddleware('gz', config);
  const res: ResponseContext = { status: 200, headers: ['Content-Type', 'text/html', 'Content-Length', '5000'] };
  mw.onResponseHead(ctx(undefined), res);
  assert.deepEqual(res.headers, ['Content-Type', 'text/html', 'Content-Length', '5000']);
});

test('in a session with the body phase, marks the head gzip, drops Content-Length and returns a filter', () => {
  const mw = new CompressionMiddleware('gz', config);
  const c = ctx(true);
  const res: ResponseContext = { status: 200, headers: ['Content-Type', 'text/html', 'Content-Length', '5000', 'ETag', '"x"'] };
  mw.onResponseHead(c, res);
  assert.deepEqual(res.headers, ['Content-Type', 'text/html', 'Vary', 'Accept-Encoding', 'Content-Encoding', 'gzip', 'ETag', 'W/"x"']);
  const link = { push: () => true, end: () => {}, fail: () => {}, ready: () => {} };
  assert.ok(mw.onResponseBody(c, res, link) !== undefined);
});
