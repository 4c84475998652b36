/**
 * Upstream groups with protocol "h2": HTTP/2 and HTTP/1.1 clients through
 * zproxy to node:http2 servers, cleartext (h2c prior knowledge) and TLS
 * (ALPN h2): bodies with checksums, many requests multiplexed on one
 * upstream session, trailers (grpc-status) relayed, reconnect after GOAWAY,
 * 502 for a dead upstream and 504 for a slow one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { createTestCa, type TestCa, type CertFiles } from '../harness/test-certificates.js';
import { connectH2, closeH2, h2Request } from './h2-client.js';

const BODY = randomBytes(1024 * 1024 + 17);
/** Larger than every flow-control window on the way (65535 initial, 16 KiB readable buffers). */
const LARGE = randomBytes(6 * 1024 * 1024);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A node:http2 origin that counts its sessions and answers by path. */
interface H2Origin {
  readonly port: number;
  sessions: number;
  readonly seen: http2.IncomingHttpHeaders[];
  close(): Promise<void>;
}

function handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, origin: H2Origin): void {
  origin.seen.push(headers);
  const path = String(headers[':path']);
  const chunks: Buffer[] = [];
  let trailers: http2.IncomingHttpHeaders | undefined;
  stream.on('trailers', (t: http2.IncomingHttpHeaders) => { trailers = t; });
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    if (path === '/slow') {
      setTimeout(() => { if (!stream.destroyed) stream.respond({ ':status': 200 }, { endStream: true }); }, 4000);
      return;
    }
    if (path === '/grpc') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
      return;
    }
    if (path.startsWith('/small/')) {
      stream.respond({ ':status': 200, 'content-length': 2 });
      stream.end('ok');
      return;
    }
    if (path === '/large') {
      stream.respond({ ':status': 200, 'content-length': LARGE.length });
      stream.end(LARGE);
      return;
    }
    if (path === '/goaway') {
      stream.respond({ ':status': 200, 'content-length': 4 });
      stream.end('bye!');
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    const out = Buffer.from(JSON.stringify({ method: headers[':method'], path, authority: headers[':authority'], sha: sha256(body), bytes: body.length, xff: headers['x-forwarded-for'] ?? null, te: headers.te ?? null, trailer: trailers?.['x-checksum'] ?? null }));
    // No content-length: the HTTP/1.1 client sees a chunked response.
    stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-origin': 'h2' });
    stream.end(out);
  });
}

async function startH2Origin(tlsFiles?: CertFiles): Promise<H2Origin> {
  const server = tlsFiles ? http2.createSecureServer({ cert: tlsFiles.cert, key: tlsFiles.key, settings: { maxConcurrentStreams: 20 } }) : http2.createServer({ settings: { maxConcurrentStreams: 20 } });
  const sockets = new Set<net.Socket>();
  const origin: H2Origin = {
    port: 0,
    sessions: 0,
    seen: [],
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  server.on('secureConnection', (s: net.Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  server.on('session', () => { origin.sessions++; });
  server.on('stream', (stream, headers) => handle(stream, headers, origin));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  (origin as { port: number }).port = (server.address() as net.AddressInfo).port;
  return origin;
}

let ca: TestCa;
let originCert: CertFiles;
let h2cOrigin: H2Origin;
let tlsOrigin: H2Origin;
let proxy: ProxyHandle;

before(async () => {
  ca = createTestCa();
  originCert = ca.issue('origin', ['origin.test']);
  h2cOrigin = await startH2Origin();
  tlsOrigin = await startH2Origin(originCert);
  const cfg = proxyConfig({
    upstreams: {
      plain: { hosts: [`127.0.0.1:${h2cOrigin.port}`], protocol: 'h2', timeouts: { readMs: 1500 } },
      secure: { hosts: [`127.0.0.1:${tlsOrigin.port}`], protocol: 'h2', tls: { enabled: true, caFile: ca.certFile, servername: 'origin.test' } },
      dead: { hosts: ['127.0.0.1:1'], protocol: 'h2', retries: 0 },
    },
    routes: [
      { path: '/tls/*', upstream: 'secure' },
      { path: '/dead', upstream: 'dead' },
      { path: '/*', upstream: 'plain' },
    ],
  });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['h2c', 'http1'];
  proxy = await startProxy(cfg);
});

after(async () => {
  await proxy?.close();
  await h2cOrigin?.close();
  await tlsOrigin?.close();
  ca?.remove();
});

function json(body: Buffer): Record<string, unknown> {
  return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
}

test('an HTTP/2 client GET and POST reach an h2c upstream with the body intact and forwarding fields', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const get = await h2Request(s, { ':method': 'GET', ':path': '/hello?x=1', ':authority': 'app.test' });
    assert.equal(get.status, 200);
    assert.equal(get.headers['x-origin'], 'h2');
    const g = json(get.body);
    assert.deepEqual([g.method, g.path, g.authority, g.bytes, g.xff], ['GET', '/hello?x=1', 'app.test', 0, '127.0.0.1']);
    const withLength = await h2Request(s, { ':method': 'POST', ':path': '/upload', 'content-length': BODY.length }, BODY);
    assert.equal(withLength.status, 200);
    assert.deepEqual([json(withLength.body).sha, json(withLength.body).bytes], [sha256(BODY), BODY.length]);
    const noLength = await h2Request(s, { ':method': 'POST', ':path': '/upload2' }, BODY);
    assert.equal(noLength.status, 200);
    assert.deepEqual([json(noLength.body).sha, json(noLength.body).bytes], [sha256(BODY), BODY.length]);
  } finally {
    await closeH2(s);
  }
});

test('request trailers from an HTTP/2 client reach the h2 upstream as HTTP/2 trailers', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const r = await new Promise<Buffer>((resolve, reject) => {
      const req = s.request({ ':method': 'POST', ':path': '/with-trailers' }, { waitForTrailers: true });
      req.once('wantTrailers', () => req.sendTrailers({ 'x-checksum': 'c0ffee' }));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
      req.end(Buffer.from('payload'));
    });
    assert.deepEqual([json(r).trailer, json(r).bytes], ['c0ffee', 7]);
  } finally {
    await closeH2(s);
  }
});

test('a TLS upstream that does not offer ALPN h2 is a 502, not an HTTP/1.1 exchange', async () => {
  const h1only = https.createServer({ cert: originCert.cert, key: originCert.key }, (_req, res) => res.end('spoke HTTP/1.1'));
  await new Promise<void>((resolve) => h1only.listen(0, '127.0.0.1', () => resolve()));
  const cfg = proxyConfig({ upstreams: { up: { hosts: [`127.0.0.1:${(h1only.address() as net.AddressInfo).port}`], protocol: 'h2', retries: 0, tls: { enabled: true, caFile: ca.certFile, servername: 'origin.test' } } } });
  const p = await startProxy(cfg);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: p.port, path: '/x' }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
    });
    assert.equal(status, 502);
  } finally {
    await p.close();
    h1only.closeAllConnections();
    await new Promise<void>((resolve) => { h1only.close(() => resolve()); });
  }
});

test('50 concurrent requests are multiplexed as streams on one upstream session', async () => {
  const before = h2cOrigin.sessions;
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    // A first request makes sure the session exists; the origin allows 20 concurrent streams, so the rest queue.
    await h2Request(s, { ':method': 'GET', ':path': '/warm' });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => h2Request(s, { ':method': 'POST', ':path': `/multi/${i}`, 'content-length': 5 }, 'hello')));
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(json(r.body).path, `/multi/${i}`);
      assert.equal(json(r.body).sha, sha256(Buffer.from('hello')));
    });
    assert.ok(h2cOrigin.sessions - before <= 1, `one upstream session at most was opened, got ${h2cOrigin.sessions - before}`);
    assert.equal(proxy.upstream('plain').idle, 0);
  } finally {
    await closeH2(s);
  }
});

test('finished streams are not reset: 1500 requests keep one upstream session (no rapid-reset GOAWAY)', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    await h2Request(s, { ':method': 'GET', ':path': '/small/warm' });
    const before = h2cOrigin.sessions;
    let next = 0;
    // Node's server sends GOAWAY after 1000 RST_STREAMs in a burst: cancelling each delivered stream would cross it.
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < 1500) {
        const r = await h2Request(s, { ':method': 'GET', ':path': `/small/${next++}` });
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'ok');
      }
    }));
    assert.equal(h2cOrigin.sessions, before);
  } finally {
    await closeH2(s);
  }
});

test('gRPC-style trailers (grpc-status) are relayed to an HTTP/2 client and in the chunked trailer section to HTTP/1.1', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const r = await h2Request(s, { ':method': 'POST', ':path': '/grpc', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(r.status, 200);
    assert.deepEqual([...r.body], [0, 0, 0, 0, 2, 8, 1]);
    assert.equal(r.trailers?.['grpc-status'], '0');
    assert.equal(r.trailers?.['grpc-message'], 'ok');
  } finally {
    await closeH2(s);
  }
  const h1 = await new Promise<{ status: number; trailers: NodeJS.Dict<string>; te: string | undefined }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/grpc', method: 'POST', headers: { te: 'trailers', 'content-length': 5 } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, trailers: res.trailers, te: res.headers['transfer-encoding'] }));
    });
    req.on('error', reject);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  assert.equal(h1.status, 200);
  assert.equal(h1.te, 'chunked');
  assert.equal(h1.trailers['grpc-status'], '0');
});

test('an HTTP/1.1 client reaches the h2 upstream: chunked request body in, chunked response out, keep-alive kept', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const send = (path: string, body: Buffer | undefined): Promise<{ status: number; body: Buffer; te: string | undefined; reused: boolean }> => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, path, method: body ? 'POST' : 'GET', agent, headers: body ? { 'transfer-encoding': 'chunked' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), te: res.headers['transfer-encoding'], reused: req.reusedSocket }));
      });
      req.on('error', reject);
      if (body) {
        req.write(body.subarray(0, 1000));
        req.end(body.subarray(1000));
      } else req.end();
    });
    const a = await send('/h1-post', BODY);
    assert.equal(a.status, 200);
    assert.equal(a.te, 'chunked');
    assert.deepEqual([json(a.body).sha, json(a.body).bytes, json(a.body).te], [sha256(BODY), BODY.length, 'trailers']);
    const b = await send('/h1-get', undefined);
    assert.equal(b.status, 200);
    assert.equal(json(b.body).path, '/h1-get');
    assert.equal(b.reused, true);
  } finally {
    agent.destroy();
  }
});

test('a 6 MiB response crosses the flow-controlled legs intact to an HTTP/2 client and a pausing HTTP/1.1 client', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const r = await h2Request(s, { ':method': 'GET', ':path': '/large' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(LARGE.length));
    assert.equal(sha256(r.body), sha256(LARGE));
  } finally {
    await closeH2(s);
  }
  // A reader that pauses after every chunk: the proxy must hold the upstream stream, not buffer it all.
  const got = await new Promise<Buffer>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: proxy.port, path: '/large' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        res.pause();
        setImmediate(() => res.resume());
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).on('error', reject);
  });
  assert.equal(sha256(got), sha256(LARGE));
});

test('TLS upstream with ALPN h2: requests reach it over one verified HTTP/2 session', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => h2Request(s, { ':method': 'POST', ':path': `/tls/${i}`, 'content-length': BODY.length }, BODY)));
    for (const r of rs) {
      assert.equal(r.status, 200);
      assert.equal(json(r.body).sha, sha256(BODY));
    }
    assert.equal(tlsOrigin.sessions, 1);
  } finally {
    await closeH2(s);
  }
});

test('after the upstream sends GOAWAY the next request opens a fresh session', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const first = await h2Request(s, { ':method': 'GET', ':path': '/goaway' });
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), 'bye!');
    const before = h2cOrigin.sessions;
    // The GOAWAY may reach the proxy just after the response: retry until the new session carries one.
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      const r = await h2Request(s, { ':method': 'GET', ':path': `/after-goaway/${i}` });
      assert.equal(r.status, 200);
      after = h2cOrigin.sessions;
    }
    assert.equal(after, before + 1);
  } finally {
    await closeH2(s);
  }
});

test('a dead h2 upstream is 502 and a slow one is 504', async () => {
  const s = await connectH2(`http://127.0.0.1:${proxy.port}`);
  try {
    const dead = await h2Request(s, { ':method': 'GET', ':path': '/dead' });
    assert.equal(dead.status, 502);
    const slow = await h2Request(s, { ':method': 'GET', ':path': '/slow' });
    assert.equal(slow.status, 504);
    // The slow stream was cancelled, not left holding a slot: the session still serves.
    const ok = await h2Request(s, { ':method': 'GET', ':path': '/still-fine' });
    assert.equal(ok.status, 200);
  } finally {
    await closeH2(s);
  }
});

test('an HTTP/1.1 WebSocket Upgrade routed to an h2 group is answered 502 (HTTP/2 has no 101)', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/ws', headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('upgrade', (_res, socket) => { socket.destroy(); resolve(101); });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 502);
});

test('an h2 group with an HTTP health check path is refused by the config loader', async () => {
  const cfg = proxyConfig({ upstreams: { grpc: { hosts: ['127.0.0.1:9'], protocol: 'h2', healthCheck: { path: '/healthz' } } } });
  await assert.rejects(startProxy(cfg), (err: Error & { code?: string }) => err.code === 'config.invalid' && /\/upstreams\/grpc\/healthCheck\/path/.test(err.message));
});

test('a stream listener naming an h2 group is refused by the config loader', async () => {
  const cfg = proxyConfig({ upstreams: { grpc: { hosts: ['127.0.0.1:9'], protocol: 'h2' } } });
  (cfg.listeners as Array<Record<string, unknown>>)[0] = { name: 'tcp', address: '127.0.0.1', port: 0, mode: 'stream', upstream: 'grpc' };
  await assert.rejects(startProxy(cfg), (err: Error & { code?: string }) => err.code === 'config.invalid' && /\/listeners\/0\/upstream/.test(err.message) && /"h2"/.test(err.message));
});
