/**
 * The shared response cache through real sockets: a real cache thread
 * (actors/cache/), proxies in-process as workers 0 and 1 linked to it the way
 * the start command links real workers, node:http clients, and an origin
 * that counts what reaches it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest, type HttpResult } from '../harness/http-request.js';
import { CacheThread } from '../../../actors/cache/cache-thread.js';
import { startAdminServer } from '../../../actors/admin/admin-server.js';

const LAST_MODIFIED = new Date(Date.now() - 3_600_000).toUTCString();
const HOST = 'cache.test';

let origin: RecordingOrigin;
let cache: CacheThread;
let worker0: ProxyHandle;
let worker1: ProxyHandle;
let admin: http.Server;
let adminPort = 0;

/** Requests the origin received for a path. */
function hits(path: string): number {
  return origin.requests.filter((r) => r.url === path).length;
}

function get(path: string, headers: http.OutgoingHttpHeaders = {}, proxy = worker0, method = 'GET'): Promise<HttpResult> {
  return httpRequest(proxy.port, { method, path, headers: { host: HOST, ...headers } });
}

function routes(): Array<Record<string, unknown>> {
  return [
    { name: 'small', path: '/evict/*', upstream: 'origin', middleware: ['small-cache'] },
    { name: 'gz', path: '/gz/*', upstream: 'origin', middleware: ['cache', 'compress'] },
    { name: 'all', path: '/*', upstream: 'origin', middleware: ['cache'] },
  ];
}

before(async () => {
  origin = await startRecordingOrigin({
    respond: (rec, res) => {
      const url = new URL(rec.url, 'http://x');
      const p = url.pathname;
      const body = (s: string | Buffer, headers: Record<string, string | number>, status = 200): void => {
        // /fresh answers carry a Content-Length; the others go chunked (node's default after writeHead).
        const length: Record<string, number> = p.startsWith('/fresh') ? { 'content-length': Buffer.byteLength(s) } : {};
        res.writeHead(status, { 'content-type': 'text/plain', ...length, ...headers });
        res.end(s);
      };
      if (p.startsWith('/fresh')) return body(`fresh ${p} #${hits(rec.url)}`, { 'cache-control': 'max-age=60', etag: '"f1"' });
      if (p === '/etag') {
        if (rec.headers['if-none-match'] === '"e1"') return body('', { etag: '"e1"', 'cache-control': 'max-age=0' }, 304);
        return body('etag body', { etag: '"e1"', 'cache-control': 'max-age=0' });
      }
      if (p === '/last-modified') {
        if (rec.headers['if-modified-since'] === LAST_MODIFIED) return body('', { 'last-modified': LAST_MODIFIED, 'cache-control': 'max-age=0' }, 304);
        return body('lm body', { 'last-modified': LAST_MODIFIED, 'cache-control': 'max-age=0' });
      }
      if (p === '/vary') return body(`lang ${rec.headers['accept-language'] ?? '-'}`, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
      if (p === '/no-store') return body('x', { 'cache-control': 'no-store, max-age=60' });
      if (p === '/private') return body('x', { 'cache-control': 'private, max-age=60' });
      if (p.startsWith('/evict/')) return body(Buffer.alloc(3000, p.charCodeAt(7)), { 'cache-control': 'max-age=60' });
      if (p === '/large') return body(Buffer.alloc(100_000, 7), { 'cache-control': 'max-age=60' });
      if (p === '/large-chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(10_000, i));
        return res.end();
      }
      if (p.startsWith('/gz/')) return body('compressible text '.repeat(100), { 'cache-control': 'max-age=60' });
      if (p.startsWith('/slow')) return setTimeout(() => body(`slow ${p}`, { 'cache-control': 'max-age=60' }), 300);
      return body('no rule', {}, 404);
    },
  });
  cache = await CacheThread.start((m) => process.stderr.write(m + '\n'));
  const config = proxyConfig({
    upstreams: { origin: [origin.port] },
    routes: routes(),
    middleware: {
      cache: { type: 'cache', maxObjectBytes: 50_000 },
      'small-cache': { type: 'cache', maxBytes: 8000, maxObjectBytes: 4000 },
      compress: { type: 'compression', minBytes: 10, algorithms: ['gzip'] },
    },
  });
  cache.attach(0);
  cache.attach(1);
  await cache.stats(); // the attach messages are handled in order before this answer
  worker0 = await startProxy(config, { workerId: 0, appData: { cacheChannel: cache.channelBase } });
  worker1 = await startProxy(config, { workerId: 1, appData: { cacheChannel: cache.channelBase } });
  admin = await startAdminServer({ enabled: true, address: '127.0.0.1', port: 0 } as never, {
    ready: () => true, stats: async () => ({}), config: () => ({}), reload: async () => ({ ok: true, generation: 1 }), stop: () => {},
    cachePurge: (req) => cache.purge(req),
  });
  adminPort = (admin.address() as import('node:net').AddressInfo).port;
});

after(async () => {
  admin?.close();
  await worker0?.close();
  await worker1?.close();
  await cache?.stop();
  await origin?.close();
});

test('a fresh hit is served without an upstream request, with Age and X-Cache: HIT', async () => {
  const first = await get('/fresh/a');
  assert.equal(first.headers['x-cache'], 'MISS');
  // The tee that fills the cache passes bytes unchanged, so the upstream's length is kept.
  assert.equal(first.headers['content-length'], String(first.body.length));
  assert.equal(first.headers['transfer-encoding'], undefined);
  const before = origin.requests.length;
  const second = await get('/fresh/a');
  assert.equal(second.status, 200);
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.match(String(second.headers.age), /^\d+$/);
  assert.deepEqual(second.body, first.body);
  assert.equal(origin.requests.length, before);
});

test('HEAD is answered from a GET entry', async () => {
  await get('/fresh/head');
  const r = await get('/fresh/head', {}, worker0, 'HEAD');
  assert.equal(r.headers['x-cache'], 'HIT');
  assert.equal(r.body.length, 0);
  assert.equal(hits('/fresh/head'), 1);
});

test("a client's If-None-Match against a fresh entry is answered 304 by the cache", async () => {
  await get('/fresh/conditional');
  const r = await get('/fresh/conditional', { 'if-none-match': '"f1"' });
  assert.equal(r.status, 304);
  assert.equal(r.headers['x-cache'], 'HIT');
  assert.equal(r.headers.etag, '"f1"');
  assert.equal(hits('/fresh/conditional'), 1);
});

test('a stale entry is revalidated with If-None-Match; the 304 refreshes it and the client gets the body', async () => {
  const first = await get('/etag');
  assert.equal(first.headers['x-cache'], 'MISS');
  const second = await get('/etag');
  assert.equal(second.status, 200);
  assert.equal(second.headers['x-cache'], 'REVALIDATED');
  assert.equal(second.body.toString(), 'etag body');
  const reqs = origin.requests.filter((r) => r.url === '/etag');
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1]!.headers['if-none-match'], '"e1"');
});

test('a stale entry is revalidated with If-Modified-Since from Last-Modified', async () => {
  await get('/last-modified');
  const second = await get('/last-modified');
  assert.equal(second.headers['x-cache'], 'REVALIDATED');
  assert.equal(second.body.toString(), 'lm body');
  const reqs = origin.requests.filter((r) => r.url === '/last-modified');
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1]!.headers['if-modified-since'], LAST_MODIFIED);
});

test('Vary keeps one entry per Accept-Language value', async () => {
  const en = await get('/vary', { 'accept-language': 'en' });
  const fr = await get('/vary', { 'accept-language': 'fr' });
  const en2 = await get('/vary', { 'accept-language': 'en' });
  const fr2 = await get('/vary', { 'accept-language': 'fr' });
  assert.equal(en.body.toString(), 'lang en');
  assert.equal(fr.body.toString(), 'lang fr');
  assert.equal(en2.body.toString(), 'lang en');
  assert.equal(fr2.body.toString(), 'lang fr');
  assert.deepEqual([en2.headers['x-cache'], fr2.headers['x-cache']], ['HIT', 'HIT']);
  assert.equal(hits('/vary'), 2);
});

test('no-store and private responses are not stored; a request no-store bypasses', async () => {
  for (const p of ['/no-store', '/private']) {
    await get(p);
    const r = await get(p);
    assert.equal(r.headers['x-cache'], 'MISS');
    assert.equal(hits(p), 2);
  }
  await get('/fresh/bypass');
  const r = await get('/fresh/bypass', { 'cache-control': 'no-store' });
  assert.equal(r.headers['x-cache'], 'BYPASS');
  assert.equal(hits('/fresh/bypass'), 2);
});

test('past maxBytes the least recently used entry is evicted', async () => {
  await get('/evict/a');
  await get('/evict/b');
  assert.equal((await get('/evict/a')).headers['x-cache'], 'HIT'); // a is now more recent than b
  await get('/evict/c'); // 3 x ~3.3 KB > 8000: b goes
  assert.equal((await get('/evict/a')).headers['x-cache'], 'HIT');
  assert.equal((await get('/evict/c')).headers['x-cache'], 'HIT');
  const b = await get('/evict/b');
  assert.equal(b.headers['x-cache'], 'MISS');
  assert.equal(b.body.length, 3000);
  assert.equal(hits('/evict/b'), 2);
});

test('a body over maxObjectBytes streams through uncached (with and without Content-Length)', async () => {
  for (const p of ['/large', '/large-chunked']) {
    const first = await get(p);
    const second = await get(p);
    assert.equal(first.body.length, 100_000);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers['x-cache'], 'MISS');
    assert.equal(hits(p), 2);
  }
});

test('50 concurrent misses of one key cause 1 upstream request', async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => get('/slow/coalesce', {}, i % 2 === 0 ? worker0 : worker1)));
  assert.equal(hits('/slow/coalesce'), 1);
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'slow /slow/coalesce');
  }
  assert.equal(results.filter((r) => r.headers['x-cache'] === 'MISS').length, 1);
});

test("one worker's miss is another worker's hit", async () => {
  const a = await get('/fresh/shared', {}, worker0);
  const b = await get('/fresh/shared', {}, worker1);
  assert.equal(a.headers['x-cache'], 'MISS');
  assert.equal(b.headers['x-cache'], 'HIT');
  assert.deepEqual(b.body, a.body);
  assert.equal(hits('/fresh/shared'), 1);
});

test('POST /cache/purge on the admin API removes a key, a prefix, or everything', async () => {
  await get('/fresh/purge-1');
  await get('/fresh/purge-2');
  const purge = async (body: unknown): Promise<{ status: number; json: unknown }> => {
    const r = await httpRequest(adminPort, { method: 'POST', path: '/cache/purge', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: r.status === 200 ? JSON.parse(r.body.toString()) : r.body.toString() };
  };
  assert.deepEqual(await purge({ key: `${HOST}/fresh/purge-1` }), { status: 200, json: { purged: 1 } });
  assert.equal((await get('/fresh/purge-1')).headers['x-cache'], 'MISS');
  assert.equal((await get('/fresh/purge-2')).headers['x-cache'], 'HIT');
  assert.deepEqual(await purge({ prefix: `${HOST}/fresh/purge-` }), { status: 200, json: { purged: 2 } });
  assert.equal((await get('/fresh/purge-2')).headers['x-cache'], 'MISS');
  const all = await purge({ all: true });
  assert.equal(all.status, 200);
  assert.ok((all.json as { purged: number }).purged > 0);
  assert.equal((await purge({ nothing: 1 })).status, 400);
  assert.equal(hits('/fresh/purge-2'), 2);
});

test('behind compression, the cache keeps the gzip and identity variants apart (Vary: Accept-Encoding)', async () => {
  const gz = await get('/gz/page', { 'accept-encoding': 'gzip' });
  const plain = await get('/gz/page');
  const gz2 = await get('/gz/page', { 'accept-encoding': 'gzip' });
  const plain2 = await get('/gz/page');
  const text = 'compressible text '.repeat(100);
  assert.equal(gz2.headers['x-cache'], 'HIT');
  assert.equal(gz2.headers['content-encoding'], 'gzip');
  assert.equal(zlib.gunzipSync(gz2.body).toString(), text);
  assert.deepEqual(gz2.body, gz.body);
  assert.equal(plain2.headers['x-cache'], 'HIT');
  assert.equal(plain2.headers['content-encoding'], undefined);
  assert.equal(plain2.body.toString(), text);
  assert.equal(plain.body.toString(), text);
  assert.equal(hits('/gz/page'), 2);
});

test('a cache thread that dies is replaced by an empty one on the same channels', async () => {
  await get('/fresh/restart');
  assert.equal((await get('/fresh/restart')).headers['x-cache'], 'HIT');
  await (cache as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  // Bounded wait for the replacement: stats answers once it runs (and has handled the re-attach).
  let stats: Awaited<ReturnType<CacheThread['stats']>> | undefined;
  for (let i = 0; i < 50 && stats === undefined; i++) stats = await cache.stats().catch(() => undefined);
  assert.ok(stats !== undefined, 'no cache thread answered after the restart');
  assert.equal(stats.entries, 0);
  assert.equal((await get('/fresh/restart')).headers['x-cache'], 'MISS');
  assert.equal((await get('/fresh/restart')).headers['x-cache'], 'HIT');
  assert.equal(hits('/fresh/restart'), 2);
});
