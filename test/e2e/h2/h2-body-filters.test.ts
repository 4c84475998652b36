/**
 * The response body phase (Middleware.onResponseBody) over HTTP/2: h2c
 * clients through compression and cache routes, a real cache thread, an
 * origin that counts what reaches it. Bodies are decoded with node:zlib.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { CacheThread } from '../../../actors/cache/cache-thread.js';
import { connectH2, closeH2, h2Request, type H2Result } from './h2-client.js';

const TEXT = Buffer.from('zproxy compresses text over HTTP/2 as well. '.repeat(300)); // ~13 KiB
/** Pseudo-random letters: compressible, but still megabytes once compressed, so flow control pushes back. */
const BIG = randomBytes(4 * 1024 * 1024).map((b) => 97 + (b & 15));

const RANDOM_PIECE = 64 * 1024;
const RANDOM_TOTAL = 64 * 1024 * 1024;
/** Bytes the origin has handed to its socket for /z/random (RANDOM_TOTAL if nothing pushed back). */
let randomWritten = 0;

let origin: RecordingOrigin;
let cache: CacheThread;
let proxy: ProxyHandle;
let session: http2.ClientHttp2Session;

function hits(path: string): number {
  return origin.requests.filter((r) => r.url === path).length;
}

function get(path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<H2Result> {
  return h2Request(session, { ':method': 'GET', ':path': path, ':authority': 'filters.test', ...headers });
}

before(async () => {
  origin = await startRecordingOrigin({
    respond: (rec, res) => {
      const p = rec.url;
      if (p === '/z/text') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': TEXT.length });
        return res.end(TEXT);
      }
      if (p === '/z/trailers') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write(TEXT.subarray(0, 5000));
        res.addTrailers({ 'x-checksum': 'abc123' });
        return res.end(TEXT.subarray(5000));
      }
      if (p === '/z/big') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BIG.length });
        return res.end(BIG);
      }
      if (p === '/z/random') {
        // Incompressible: what the proxy holds is not hidden by the compression ratio.
        res.writeHead(200, { 'content-type': 'text/plain' });
        randomWritten = 0;
        const piece = randomBytes(RANDOM_PIECE);
        const pump = (): void => {
          while (randomWritten < RANDOM_TOTAL) {
            randomWritten += piece.length;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => { /* the proxy reset the connection after the client's RST_STREAM */ });
        return pump();
      }
      if (p === '/c/fresh') {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', 'content-length': 11 });
        return res.end(`fresh #${hits(p)}`.padEnd(11, '.'));
      }
      if (p === '/c/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
        res.write('chunked ');
        return res.end(`body #${hits(p)}`);
      }
      if (p === '/c/etag') {
        if (rec.headers['if-none-match'] === '"e1"') {
          res.writeHead(304, { etag: '"e1"', 'cache-control': 'max-age=0' });
          return res.end();
        }
        res.writeHead(200, { 'content-type': 'text/plain', etag: '"e1"', 'cache-control': 'max-age=0' });
        return res.end('etag body');
      }
      res.writeHead(404);
      res.end();
    },
  });
  cache = await CacheThread.start((m) => process.stderr.write(m + '\n'));
  const config = proxyConfig({
    upstreams: { origin: [origin.port] },
    routes: [
      { name: 'zip', path: '/z/*', upstream: 'origin', middleware: ['compress'] },
      { name: 'cached', path: '/c/*', upstream: 'origin', middleware: ['cache'] },
    ],
    middleware: {
      compress: { type: 'compression', minBytes: 100, algorithms: ['br', 'gzip'] },
      cache: { type: 'cache', maxObjectBytes: 50_000 },
    },
  });
  Object.assign((config.listeners as Array<Record<string, unknown>>)[0]!, { protocols: ['h2c', 'http1'] });
  cache.attach(0);
  await cache.stats(); // the attach is handled before this answer
  proxy = await startProxy(config, { workerId: 0, appData: { cacheChannel: cache.channelBase } });
  session = await connectH2(`http://127.0.0.1:${proxy.port}`);
});

after(async () => {
  if (session) await closeH2(session);
  await proxy?.close();
  await cache?.stop();
  await origin?.close();
});

test('gzip over h2 decodes to the original, with Vary and without Content-Length', async () => {
  const r = await get('/z/text', { 'accept-encoding': 'gzip' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers['content-length'], undefined);
  assert.equal(r.headers.vary, 'Accept-Encoding');
  assert.ok(r.body.length < TEXT.length / 5, `compressed ${r.body.length} bytes`);
  assert.deepEqual(zlib.gunzipSync(r.body), TEXT);
});

test('brotli over h2 decodes to the original', async () => {
  const r = await get('/z/text', { 'accept-encoding': 'gzip, br' });
  assert.equal(r.headers['content-encoding'], 'br');
  assert.equal(r.headers['content-length'], undefined);
  assert.equal(r.headers.vary, 'Accept-Encoding');
  assert.deepEqual(zlib.brotliDecompressSync(r.body), TEXT);
});

test('a client that accepts no encoding gets identity bytes with their Content-Length', async () => {
  const r = await get('/z/text');
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers['content-length'], String(TEXT.length));
  assert.equal(r.headers.vary, 'Accept-Encoding');
  assert.deepEqual(r.body, TEXT);
});

test('a chunked upstream body with trailers is compressed and the trailers still arrive', async () => {
  const r = await get('/z/trailers', { 'accept-encoding': 'gzip', te: 'trailers' });
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.deepEqual(zlib.gunzipSync(r.body), TEXT);
  assert.equal(r.trailers?.['x-checksum'], 'abc123');
});

test('a 4 MiB body is compressed through HTTP/2 flow control intact', async () => {
  const r = await get('/z/big', { 'accept-encoding': 'gzip' });
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.ok(r.body.length > 1024 * 1024, `compressed ${r.body.length} bytes`);
  assert.ok(zlib.gunzipSync(r.body).equals(BIG));
});

test('a client that stops reading stops the origin through the filter, and its reset leaves the session usable', async () => {
  const req = session.request({ ':method': 'GET', ':path': '/z/random', ':authority': 'filters.test', 'accept-encoding': 'gzip' });
  const head = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => { req.on('response', resolve); req.on('error', reject); });
  assert.equal(head['content-encoding'], 'gzip');
  // No 'data' listener: the stream's window closes. Wait (bounded) until the origin makes no progress for a second.
  let last = -1;
  for (let i = 0; i < 60 && randomWritten !== last; i++) {
    last = randomWritten;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const stalledAt = randomWritten;
  const closed = new Promise<void>((resolve) => req.on('close', resolve));
  req.close(http2.constants.NGHTTP2_CANCEL);
  await closed;
  assert.ok(stalledAt < RANDOM_TOTAL / 2, `the origin wrote ${stalledAt} of ${RANDOM_TOTAL} bytes to a client that reads nothing`);
  const after = await get('/z/text', { 'accept-encoding': 'gzip' });
  assert.deepEqual(zlib.gunzipSync(after.body), TEXT);
});

test('the cache stores an h2 response: MISS, then HIT without an upstream request', async () => {
  const first = await get('/c/fresh');
  assert.equal(first.headers['x-cache'], 'MISS');
  assert.equal(first.body.toString(), 'fresh #1...');
  const second = await get('/c/fresh');
  assert.equal(second.status, 200);
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.equal(second.body.toString(), 'fresh #1...');
  assert.equal(hits('/c/fresh'), 1);
});

test('a chunked upstream response is stored too', async () => {
  const first = await get('/c/chunked');
  assert.equal(first.headers['x-cache'], 'MISS');
  const second = await get('/c/chunked');
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.equal(second.body.toString(), 'chunked body #1');
  assert.equal(hits('/c/chunked'), 1);
});

test('a stale entry with an ETag is revalidated over h2: the 304 becomes the stored body', async () => {
  const first = await get('/c/etag');
  assert.equal(first.headers['x-cache'], 'MISS');
  const second = await get('/c/etag');
  assert.equal(second.status, 200);
  assert.equal(second.headers['x-cache'], 'REVALIDATED');
  assert.equal(second.body.toString(), 'etag body');
  const reqs = origin.requests.filter((r) => r.url === '/c/etag');
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1]!.headers['if-none-match'], '"e1"');
});
