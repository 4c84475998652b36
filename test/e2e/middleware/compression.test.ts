/**
 * The compression middleware through real sockets: node:http clients that
 * decode what they get, an origin with one path per case, the proxy in-process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';
import { exchangeRaw } from '../harness/raw-client.js';
import { startScriptedOrigin } from '../harness/scripted-origin.js';

const TEXT = Buffer.from('zproxy compresses text on the fly. '.repeat(300)); // ~10 KiB
const BIG_PIECE = 64 * 1024;
const BIG_PIECES = 160; // 10 MiB
let bigFinishedAt = 0;
/** Bytes the origin has handed to its socket for /random (which would send RANDOM_TOTAL if nothing pushed back). */
let randomWritten = 0;
const RANDOM_TOTAL = 64 * 1024 * 1024;

/** Pseudo-random but compressible text: a 10 MiB body that still compresses to megabytes. */
function bigPiece(i: number): Buffer {
  const b = Buffer.alloc(BIG_PIECE);
  let x = i * 7919 + 1;
  for (let j = 0; j < BIG_PIECE; j++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[j] = 97 + (x % 16);
  }
  return b;
}

let origin: RecordingOrigin;
let proxy: ProxyHandle;

before(async () => {
  origin = await startRecordingOrigin({
    respond: (rec, res) => {
      switch (rec.url) {
        case '/text':
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': TEXT.length, etag: '"v1"' });
          return res.end(TEXT);
        case '/chunked':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(TEXT.subarray(0, 5000));
          return setTimeout(() => res.end(TEXT.subarray(5000)), 20);
        case '/small':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 10 });
          return res.end('0123456789');
        case '/png':
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': TEXT.length });
          return res.end(TEXT);
        case '/encoded': {
          const gz = zlib.gzipSync(TEXT);
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': gz.length });
          return res.end(gz);
        }
        case '/no-transform':
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-transform', 'content-length': TEXT.length });
          return res.end(TEXT);
        case '/not-modified':
          res.writeHead(304, { etag: '"v1"', 'content-type': 'text/plain' });
          return res.end();
        case '/random': {
          // Incompressible: what the proxy holds is not hidden by the compression ratio.
          res.writeHead(200, { 'content-type': 'text/plain' });
          randomWritten = 0;
          const piece = randomBytes(BIG_PIECE);
          const pump = (): void => {
            while (randomWritten < RANDOM_TOTAL) {
              randomWritten += piece.length;
              if (!res.write(piece)) return void res.once('drain', pump);
            }
            res.end();
          };
          return pump();
        }
        case '/big': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          let i = 0;
          const pump = (): void => {
            while (i < BIG_PIECES) {
              const ok = res.write(bigPiece(i++));
              if (!ok) return void res.once('drain', pump);
            }
            res.end(() => { bigFinishedAt = performance.now(); });
          };
          return pump();
        }
        default:
          res.writeHead(404);
          return res.end();
      }
    },
  });
  proxy = await startProxy(proxyConfig({
    upstreams: { origin: [origin.port] },
    routes: [{ name: 'all', path: '/*', upstream: 'origin', middleware: ['compress'] }],
    middleware: { compress: { type: 'compression', minBytes: 100, algorithms: ['br', 'gzip'] } },
  }));
});

after(async () => {
  await proxy?.close();
  await origin?.close();
});

test('gzip is decoded by the client to the original bytes, with Vary and a weak ETag', async () => {
  const r = await httpRequest(proxy.port, { path: '/text', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers['content-length'], undefined);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(r.headers.vary, 'Accept-Encoding');
  assert.equal(r.headers.etag, 'W/"v1"');
  assert.ok(r.body.length < TEXT.length / 5, `compressed ${r.body.length} bytes`);
  assert.deepEqual(zlib.gunzipSync(r.body), TEXT);
});

test('brotli is preferred (configured order) when both are accepted, and decodes to the original', async () => {
  const r = await httpRequest(proxy.port, { path: '/text', headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(r.headers['content-encoding'], 'br');
  assert.deepEqual(zlib.brotliDecompressSync(r.body), TEXT);
});

test('a client q-value beats the configured order', async () => {
  const r = await httpRequest(proxy.port, { path: '/text', headers: { 'accept-encoding': 'br;q=0.2, gzip' } });
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.deepEqual(zlib.gunzipSync(r.body), TEXT);
});

test('a chunked upstream body is compressed too', async () => {
  const r = await httpRequest(proxy.port, { path: '/chunked', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.deepEqual(zlib.gunzipSync(r.body), TEXT);
});

test('identity when the client accepts no offered coding; Vary is still added', async () => {
  const r = await httpRequest(proxy.port, { path: '/text', headers: { 'accept-encoding': 'zstd' } });
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers['content-length'], String(TEXT.length));
  assert.equal(r.headers.vary, 'Accept-Encoding');
  assert.equal(r.headers.etag, '"v1"');
  assert.deepEqual(r.body, TEXT);
});

test('small bodies, excluded types, encoded and no-transform responses pass untouched', async () => {
  const small = await httpRequest(proxy.port, { path: '/small', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(small.headers['content-encoding'], undefined);
  assert.equal(small.body.toString(), '0123456789');
  const png = await httpRequest(proxy.port, { path: '/png', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.headers.vary, undefined);
  assert.deepEqual(png.body, TEXT);
  const encoded = await httpRequest(proxy.port, { path: '/encoded', headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(encoded.headers['content-encoding'], 'gzip');
  assert.deepEqual(zlib.gunzipSync(encoded.body), TEXT);
  const noTransform = await httpRequest(proxy.port, { path: '/no-transform', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(noTransform.headers['content-encoding'], undefined);
  assert.deepEqual(noTransform.body, TEXT);
});

test('HEAD and 304 responses are not compressed', async () => {
  const head = await httpRequest(proxy.port, { method: 'HEAD', path: '/text', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-encoding'], undefined);
  assert.equal(head.headers['content-length'], String(TEXT.length));
  const nm = await httpRequest(proxy.port, { path: '/not-modified', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(nm.status, 304);
  assert.equal(nm.headers['content-encoding'], undefined);
  assert.equal(nm.body.length, 0);
});

test('an HTTP/1.0 client gets a close-delimited compressed body', async () => {
  const ex = await exchangeRaw(proxy.port, 'GET /text HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n', [], 10_000);
  assert.ok(ex.closed, 'the proxy closed the connection to end the body');
  const raw = ex.received;
  const text = raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).toLowerCase();
  assert.match(head, /content-encoding: gzip/);
  assert.doesNotMatch(head, /transfer-encoding|content-length/);
  assert.deepEqual(zlib.gunzipSync(raw.subarray(split + 4)), TEXT);
});

test('a 10 MiB body is compressed as a stream: the client decodes bytes before the origin has finished', async () => {
  const expected = createHash('sha256');
  for (let i = 0; i < BIG_PIECES; i++) expected.update(bigPiece(i));
  bigFinishedAt = 0;
  const { sha256, bytes, firstDataAt, compressedBytes } = await new Promise<{ sha256: string; bytes: number; firstDataAt: number; compressedBytes: number }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: proxy.port, path: '/big', headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
      assert.equal(res.headers['content-encoding'], 'gzip');
      const hash = createHash('sha256');
      let n = 0;
      let compressed = 0;
      let first = 0;
      res.on('data', (c: Buffer) => { compressed += c.length; });
      const gunzip = zlib.createGunzip();
      gunzip.on('data', (c: Buffer) => {
        if (first === 0) first = performance.now();
        n += c.length;
        hash.update(c);
      });
      gunzip.on('end', () => resolve({ sha256: hash.digest('hex'), bytes: n, firstDataAt: first, compressedBytes: compressed }));
      gunzip.on('error', reject);
      res.pipe(gunzip);
    });
    req.on('error', reject);
  });
  assert.equal(bytes, BIG_PIECE * BIG_PIECES);
  assert.equal(sha256, expected.digest('hex'));
  assert.ok(compressedBytes < bytes, `compressed ${compressedBytes} of ${bytes}`);
  assert.ok(bigFinishedAt > 0 && firstDataAt < bigFinishedAt, 'the first decoded bytes arrived before the origin finished sending');
});

test('a client that stops reading stops the origin: the compressed stream keeps backpressure', async () => {
  const req = http.get({ host: '127.0.0.1', port: proxy.port, path: '/random', headers: { 'accept-encoding': 'gzip' }, agent: false });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => { req.on('response', resolve); req.on('error', reject); });
  assert.equal(res.headers['content-encoding'], 'gzip');
  res.pause(); // read nothing more
  // Wait (bounded) until the origin makes no progress for a second: it is blocked by backpressure.
  let last = -1;
  for (let i = 0; i < 60 && randomWritten !== last; i++) {
    last = randomWritten;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const stalledAt = randomWritten;
  req.destroy();
  assert.ok(stalledAt < RANDOM_TOTAL / 2, `the origin wrote ${stalledAt} of ${RANDOM_TOTAL} bytes to a client that reads nothing`);
});

test('pipelined requests on one connection each get a complete compressed response, in order', async () => {
  const ex = await exchangeRaw(proxy.port,
    'GET /text HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n' +
    'GET /chunked HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n' +
    'GET /small HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n', ['GET', 'GET', 'GET'], 10_000);
  assert.equal(ex.responses.length, 3);
  const [a, b, c] = ex.responses;
  assert.deepEqual(zlib.gunzipSync(a!.body), TEXT);
  assert.deepEqual(zlib.brotliDecompressSync(b!.body), TEXT);
  assert.equal(c!.body.toString(), '0123456789');
  assert.deepEqual([a!.framing, b!.framing, c!.framing], ['chunked', 'chunked', 'length']);
});

test('a close-delimited upstream body is compressed and ends with the last chunk', async () => {
  const scripted = await startScriptedOrigin(async (conn) => {
    await conn.readHead();
    conn.socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n', 'latin1'), TEXT]));
  });
  const p = await startProxy(proxyConfig({
    upstreams: { origin: [scripted.port] },
    routes: [{ name: 'all', path: '/*', upstream: 'origin', middleware: ['compress'] }],
    middleware: { compress: { type: 'compression', minBytes: 100 } },
  }));
  try {
    const r = await httpRequest(p.port, { path: '/', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.deepEqual(zlib.gunzipSync(r.body), TEXT);
  } finally {
    await p.close();
    await scripted.close();
  }
});
