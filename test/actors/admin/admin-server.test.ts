import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { startAdminServer, type AdminBackend } from '../../../actors/admin/admin-server.js';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function call(port: number, method: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

type TestBackend = AdminBackend & { stops: number; isReady: boolean };

function backend(overrides: Partial<AdminBackend> = {}): TestBackend {
  const b: TestBackend = {
    stops: 0,
    isReady: true,
    ready: (): boolean => b.isReady,
    stats: async () => ({ workers: 2 }),
    config: () => ({ admin: { token: '[redacted]' } }),
    reload: async () => ({ ok: true as const, generation: 2 }),
    stop: () => { b.stops++; },
    ...overrides,
  };
  return b;
}

async function withAdmin(b: AdminBackend, token: string | undefined, fn: (port: number) => Promise<void>): Promise<void> {
  const server = await startAdminServer({ enabled: true, address: '127.0.0.1', port: 0, token }, b);
  try {
    await fn((server.address() as net.AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('admin server', () => {
  test('answers health, readiness, stats and the redacted config', async () => {
    const b = backend();
    await withAdmin(b, undefined, async (port) => {
      assert.deepEqual(await call(port, 'GET', '/healthz').then((r) => [r.status, r.body]), [200, 'ok\n']);
      assert.deepEqual(await call(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [200, 'ready\n']);
      b.isReady = false;
      assert.deepEqual(await call(port, 'GET', '/readyz').then((r) => [r.status, r.body]), [503, 'not ready\n']);
      const stats = await call(port, 'GET', '/stats?x=1');
      assert.deepEqual([stats.status, stats.headers['content-type'], JSON.parse(stats.body)], [200, 'application/json', { workers: 2 }]);
      assert.deepEqual(JSON.parse((await call(port, 'GET', '/config')).body), { admin: { token: '[redacted]' } });
    });
  });

  test('POST /reload answers 200 with the generation, or 422 with the config error', async () => {
    let next: Awaited<ReturnType<AdminBackend['reload']>> = { ok: true, generation: 2 };
    await withAdmin(backend({ reload: async () => next }), undefined, async (port) => {
      const applied = await call(port, 'POST', '/reload');
      assert.deepEqual([applied.status, JSON.parse(applied.body)], [200, { ok: true, generation: 2 }]);
      next = { ok: false, error: 'zproxy: conf.json: /routes/0/upstream: upstream "nope" is not defined in /upstreams' };
      const rejected = await call(port, 'POST', '/reload');
      assert.deepEqual([rejected.status, JSON.parse(rejected.body)], [422, next]);
      assert.equal((await call(port, 'GET', '/reload')).status, 404);
    });
  });

  test('POST /stop answers 202 before it stops', async () => {
    const b = backend();
    await withAdmin(b, undefined, async (port) => {
      const r = await call(port, 'POST', '/stop');
      assert.deepEqual([r.status, r.body], [202, 'stopping\n']);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(b.stops, 1);
    });
  });

  test('with a token, every endpoint wants it as a bearer token', async () => {
    const b = backend();
    await withAdmin(b, 's3cret', async (port) => {
      const denied = await call(port, 'POST', '/stop');
      assert.deepEqual([denied.status, denied.headers['www-authenticate'], denied.body], [401, 'Bearer realm="zproxy-admin"', 'admin token required\n']);
      assert.equal((await call(port, 'GET', '/healthz', { authorization: 'Bearer s3creT' })).status, 401);
      assert.equal((await call(port, 'GET', '/healthz', { authorization: 's3cret' })).status, 401);
      assert.equal((await call(port, 'GET', '/healthz', { authorization: 'Bearer s3cret' })).status, 200);
      assert.equal(b.stops, 0);
    });
  });

  test('an unknown endpoint is a 404 that lists the known ones', async () => {
    await withAdmin(backend(), undefined, async (port) => {
      const r = await call(port, 'GET', '/nope');
      assert.equal(r.status, 404);
      assert.match(r.body, /^unknown admin endpoint; try \/healthz \/readyz \/stats .*POST \/reload, POST \/stop\n$/);
    });
  });
});
