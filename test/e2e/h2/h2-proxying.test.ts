/**
 * HTTP/2 clients through zproxy to HTTP/1.1 upstreams: h2c with prior
 * knowledge and h2 over TLS (ALPN), 100 multiplexed streams, request and
 * response bodies with flow control, trailers both ways, routing errors,
 * the middleware chain, forwarding fields and access records.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { createTestCa, type TestCa, type CertFiles } from '../harness/test-certificates.js';
import { connectH2, closeH2, h2Request } from './h2-client.js';

const LARGE = randomBytes(3 * 1024 * 1024);
let ca: TestCa;
let leaf: CertFiles;
let origin: RecordingOrigin;
let h2c: ProxyHandle;
let h2tls: ProxyHandle;

function config(listener: Record<string, unknown>): Record<string, unknown> {
  const cfg = proxyConfig({
    upstreams: { app: [origin.port] },
    routes: [
      { name: 'guarded', path: '/guarded/*', upstream: 'app', middleware: ['key'] },
      { name: 'posts', path: '/only-post', methods: ['POST'], upstream: 'app' },
      { name: 'all', path: '/*', methods: ['GET', 'POST', 'HEAD'], upstream: 'app' },
    ],
    middleware: { key: { type: 'api-key', keys: [{ name: 'tester', key: 'sesame' }] } },
  });
  Object.assign((cfg.listeners as Array<Record<string, unknown>>)[0]!, listener);
  return cfg;
}

before(async () => {
  ca = createTestCa();
  leaf = ca.issue('h2', ['h2.test']);
  origin = await startRecordingOrigin({
    respond(rec, res, req) {
      if (rec.url === '/large') {
        res.setHeader('content-length', LARGE.length);
        res.end(LARGE);
        return;
      }
      if (rec.url === '/trailers') {
        res.setHeader('trailer', 'x-checksum');
        res.write('part one,');
        res.write('part two');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end();
        return;
      }
      if (rec.url === '/chunked') {
        res.write('a'.repeat(1000));
        res.end('b'.repeat(1000));
        return;
      }
      if (rec.url === '/echo-trailers') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ trailers: req.trailers, te: rec.headers['transfer-encoding'] ?? null }));
        return;
      }
      res.setHeader('content-type', 'text/plain');
      res.setHeader('x-origin-body-sha256', rec.bodySha256);
      res.setHeader('connection', 'keep-alive');
      res.end(`${rec.method} ${rec.url} ${rec.bodyBytes}`);
    },
  });
  h2c = await startProxy(config({ protocols: ['h2c', 'http1'] }));
  h2tls = await startProxy(config({ protocols: ['h2', 'http1'], tls: { certificates: [{ serverNames: ['h2.test'], certFile: leaf.certFile, keyFile: leaf.keyFile }] } }));
});

after(async () => {
  await h2c?.close();
  await h2tls?.close();
  await origin?.close();
  ca?.remove();
});

test('h2c with prior knowledge is proxied to the HTTP/1.1 upstream with forwarding fields', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const before = origin.requests.length;
    const r = await h2Request(s, { ':method': 'GET', ':path': '/hello?x=1', ':authority': 'app.test', cookie: 'a=1' , 'x-custom': 'yes' }, undefined);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'GET /hello?x=1 0');
    assert.equal(r.headers.via, '1.1 zproxy'.replace('1.1', '2.0'));
    assert.equal(r.headers.connection, undefined);
    assert.match(String(r.headers['x-request-id']), /h2-/);
    const rec = origin.requests[before]!;
    assert.equal(rec.httpVersion, '1.1');
    assert.equal(rec.headers.host, 'app.test');
    assert.equal(rec.headers['x-forwarded-proto'], 'http');
    assert.equal(rec.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(rec.headers['x-forwarded-host'], 'app.test');
    assert.equal(rec.headers.via, '1.1 zproxy');
    assert.equal(rec.headers['x-custom'], 'yes');
  } finally {
    await closeH2(s);
  }
});

test('an HTTP/1.1 client still works on the h2c listener', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: h2c.port, path: '/plain' }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => { t += c.toString(); });
      res.on('end', () => resolve(t));
    }).on('error', reject);
  });
  assert.equal(body, 'GET /plain 0');
});

test('ALPN picks h2 for an h2 client and http/1.1 for an HTTP/1.1 client on the same TLS listener', async () => {
  const alpn = (offer: string[]): Promise<string | false> => new Promise((resolve, reject) => {
    const sock = tls.connect({ port: h2tls.port, host: '127.0.0.1', servername: 'h2.test', ca: ca.cert, ALPNProtocols: offer }, () => { resolve(sock.alpnProtocol ?? false); sock.destroy(); });
    sock.once('error', reject);
  });
  assert.equal(await alpn(['h2', 'http/1.1']), 'h2');
  assert.equal(await alpn(['http/1.1']), 'http/1.1');
  const s = await connectH2(`https://127.0.0.1:${h2tls.port}`, { ca: ca.cert, servername: 'h2.test' });
  try {
    const before = origin.requests.length;
    const r = await h2Request(s, { ':method': 'GET', ':path': '/over-tls', ':authority': 'h2.test' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'GET /over-tls 0');
    assert.equal(origin.requests[before]!.headers['x-forwarded-proto'], 'https');
  } finally {
    await closeH2(s);
  }
});

test('100 concurrent streams on one connection all reach the HTTP/1.1 upstream and come back intact', async () => {
  const s = await connectH2(`https://127.0.0.1:${h2tls.port}`, { ca: ca.cert, servername: 'h2.test' });
  try {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(s, { ':method': 'GET', ':path': `/multi/${i}`, ':authority': 'h2.test' })));
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `GET /multi/${i} 0`);
    });
  } finally {
    await closeH2(s);
  }
});

test('a POST body with and without content-length reaches the upstream byte for byte', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const body = randomBytes(700 * 1024);
    const sha = createHash('sha256').update(body).digest('hex');
    const withLength = await h2Request(s, { ':method': 'POST', ':path': '/upload', 'content-length': body.length }, body);
    assert.equal(withLength.status, 200);
    assert.equal(withLength.body.toString(), `POST /upload ${body.length}`);
    assert.equal(withLength.headers['x-origin-body-sha256'], sha);
    const chunked = await h2Request(s, { ':method': 'POST', ':path': '/upload2' }, body);
    assert.equal(chunked.body.toString(), `POST /upload2 ${body.length}`);
    assert.equal(chunked.headers['x-origin-body-sha256'], sha);
  } finally {
    await closeH2(s);
  }
});

test('a large response flows through the stream window intact', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const r = await h2Request(s, { ':method': 'GET', ':path': '/large' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(LARGE.length));
    assert.equal(r.body.length, LARGE.length);
    assert.ok(r.body.equals(LARGE));
  } finally {
    await closeH2(s);
  }
});

test('a chunked upstream body is de-chunked into DATA frames', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const r = await h2Request(s, { ':method': 'GET', ':path': '/chunked' });
    assert.equal(r.body.toString(), 'a'.repeat(1000) + 'b'.repeat(1000));
    assert.equal(r.headers['transfer-encoding'], undefined);
  } finally {
    await closeH2(s);
  }
});

test('response trailers from a chunked upstream reach the h2 client', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const r = await h2Request(s, { ':method': 'GET', ':path': '/trailers', te: 'trailers' });
    assert.equal(r.body.toString(), 'part one,part two');
    assert.equal(r.trailers?.['x-checksum'], 'abc123');
  } finally {
    await closeH2(s);
  }
});

test('request trailers reach the upstream in the chunked trailer section', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const result = await new Promise<string>((resolve, reject) => {
      const req = s.request({ ':method': 'POST', ':path': '/echo-trailers' }, { waitForTrailers: true });
      req.on('wantTrailers', () => req.sendTrailers({ 'x-sum': '42' }));
      let t = '';
      req.on('data', (c: Buffer) => { t += c.toString(); });
      req.on('end', () => resolve(t));
      req.on('error', reject);
      req.end('payload');
    });
    const parsed = JSON.parse(result) as { trailers: Record<string, string>; te: string };
    assert.equal(parsed.te, 'chunked');
    assert.equal(parsed.trailers['x-sum'], '42');
  } finally {
    await closeH2(s);
  }
});

test('a method no route allows is 405 with Allow, over h2', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const before = origin.requests.length;
    const notAllowed = await h2Request(s, { ':method': 'DELETE', ':path': '/only-post' });
    assert.equal(notAllowed.status, 405);
    assert.match(String(notAllowed.headers.allow), /POST/);
    assert.equal(origin.requests.length, before);
  } finally {
    await closeH2(s);
  }
});

test('a middleware respond decision answers the stream without reaching the upstream', async () => {
  const s = await connectH2(`http://127.0.0.1:${h2c.port}`);
  try {
    const before = origin.requests.length;
    const denied = await h2Request(s, { ':method': 'GET', ':path': '/guarded/x' });
    assert.equal(denied.status, 401);
    assert.equal(origin.requests.length, before);
    const allowed = await h2Request(s, { ':method': 'GET', ':path': '/guarded/x', 'x-api-key': 'sesame' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.toString(), 'GET /guarded/x 0');
  } finally {
    await closeH2(s);
  }
});

test('h2 exchanges count in the worker stats', () => {
  const stats = h2c.stats() as unknown as { h2StreamsTotal: number; h2SessionsTotal: number };
  assert.ok(stats.h2StreamsTotal >= 5, JSON.stringify(stats));
  assert.ok(stats.h2SessionsTotal >= 5);
});

test('an upstream group with protocol h2 is accepted by the config loader and spoken to over HTTP/2', async () => {
  // An h2c-only origin: an HTTP/1.1 request would fail on it (more in h2-upstream.test.ts).
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'x-seen-scheme': String(headers[':scheme']) });
    stream.end(`h2 ${headers[':method']} ${headers[':path']}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const cfg = proxyConfig({ upstreams: { grpc: { hosts: [`127.0.0.1:${(server.address() as AddressInfo).port}`], protocol: 'h2' } } });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['h2c'];
  const p = await startProxy(cfg);
  const s = await connectH2(`http://127.0.0.1:${p.port}`);
  try {
    const r = await h2Request(s, { ':method': 'GET', ':path': '/via-h2' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-seen-scheme'], 'http');
    assert.equal(r.body.toString(), 'h2 GET /via-h2');
  } finally {
    await closeH2(s);
    await p.close();
    await new Promise<void>((resolve) => { server.close(() => resolve()); });
  }
});

test('HEAD keeps Content-Length without a body; upstream failures are 502 and 504 on the stream', async () => {
  const slow = await startRecordingOrigin({
    respond(rec, res) {
      if (rec.url === '/slow') {
        setTimeout(() => res.end('late'), 3000);
        return;
      }
      res.setHeader('content-length', 5);
      res.end('hello');
    },
  });
  const cfg = proxyConfig({
    upstreams: { app: { hosts: [`127.0.0.1:${slow.port}`], timeouts: { readMs: 1000 } }, dead: { hosts: ['127.0.0.1:1'], retries: 0 } },
    routes: [{ path: '/dead', upstream: 'dead' }, { path: '/*', upstream: 'app' }],
  });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['h2c'];
  const p = await startProxy(cfg);
  const s = await connectH2(`http://127.0.0.1:${p.port}`);
  try {
    const head = await h2Request(s, { ':method': 'HEAD', ':path': '/x' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '5');
    assert.equal(head.body.length, 0);
    const dead = await h2Request(s, { ':method': 'GET', ':path': '/dead' });
    assert.equal(dead.status, 502);
    assert.match(dead.body.toString(), /upstream connect failed/);
    const late = await h2Request(s, { ':method': 'GET', ':path': '/slow' });
    assert.equal(late.status, 504);
    // The session survives its streams' failures.
    assert.equal((await h2Request(s, { ':method': 'GET', ':path': '/after' })).body.toString(), 'hello');
  } finally {
    await closeH2(s);
    await p.close();
    await slow.close();
  }
});

test('h2 exchanges reach the app sink: a 5xx over h2 feeds passive health and ejects the host', async () => {
  const failing = await startRecordingOrigin({ respond(_rec, res) { res.statusCode = 500; res.end('boom'); } });
  const cfg = proxyConfig({ upstreams: { app: { hosts: [`127.0.0.1:${failing.port}`], passive: { maxFailures: 1, cooldownMs: 60000 } } } });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['h2c'];
  const p = await startProxy(cfg);
  const s = await connectH2(`http://127.0.0.1:${p.port}`);
  try {
    assert.equal((await h2Request(s, { ':method': 'GET', ':path': '/first' })).status, 500);
    // The access record of that exchange went through the sink: the host is now ejected.
    assert.equal((await h2Request(s, { ':method': 'GET', ':path': '/second' })).status, 503);
    assert.equal(failing.requests.length, 1);
  } finally {
    await closeH2(s);
    await p.close();
    await failing.close();
  }
});
