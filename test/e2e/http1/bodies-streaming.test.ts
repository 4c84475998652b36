/**
 * Message bodies in every framing, both directions: Content-Length and
 * chunked requests (chunk extensions and trailers forwarded as sent),
 * Content-Length, chunked and close-delimited responses (re-chunked for an
 * HTTP/1.1 client, raw then close for HTTP/1.0), and Expect: 100-continue.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { startScriptedOrigin, type ScriptedOrigin, type ScriptedConnection } from '../harness/scripted-origin.js';
import { RawClient } from '../harness/raw-client.js';
import { httpRequest } from '../harness/http-request.js';

const CHUNKED_REQUEST_BODY = '5;ext=1\r\nhello\r\n6;name="q v";flag\r\n world\r\n0\r\nX-Checksum: abc123\r\nX-Other: 2\r\n\r\n';
const CHUNKED_RESPONSE_BODY = '4;src=origin\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: done\r\n\r\n';
const CLOSE_DELIMITED = 'x'.repeat(10_000) + 'END';

let origin: RecordingOrigin;
let scripted: ScriptedOrigin;
let proxy: ProxyHandle;
/** Raw bytes the scripted origin received per request path. */
const seen = new Map<string, Buffer>();

async function scriptedResponder(conn: ScriptedConnection): Promise<void> {
  for (;;) {
    const head = await conn.readHead();
    const path = head.split(' ')[1]!;
    if (/transfer-encoding: chunked/i.test(head)) {
      const body = await conn.readUntil('\r\n\r\n'); // the test bodies end at their trailer section
      seen.set(path, Buffer.concat([Buffer.from(head, 'latin1'), body]));
    } else {
      seen.set(path, Buffer.from(head, 'latin1'));
    }
    switch (path) {
      case '/early-hints':
        conn.write('HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n');
        await new Promise((r) => setTimeout(r, 10));
        conn.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody');
        break;
      case '/chunked-response':
        conn.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n' + CHUNKED_RESPONSE_BODY);
        break;
      case '/close-delimited':
        // No length, no chunking: the body ends when the connection does (RFC 9112 6.3 rule 8).
        conn.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n');
        conn.write(CLOSE_DELIMITED.slice(0, 5000));
        await new Promise((r) => setTimeout(r, 10));
        conn.write(CLOSE_DELIMITED.slice(5000));
        conn.socket.end();
        return;
      default:
        conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    }
  }
}

before(async () => {
  origin = await startRecordingOrigin();
  scripted = await startScriptedOrigin(scriptedResponder);
  proxy = await startProxy(proxyConfig({
    upstreams: { origin: [origin.port], scripted: [scripted.port] },
    routes: [
      { name: 'scripted', path: '/s/*', upstream: 'scripted', rewrite: { path: '/*' } },
      { name: 'all', path: '/*', upstream: 'origin' },
    ],
  }));
});

after(async () => {
  await proxy.close();
  await origin.close();
  await scripted.close();
});

test('forwards a 1 MiB Content-Length request body byte for byte', async () => {
  const body = randomBytes(1 << 20);
  const r = await httpRequest(proxy.port, { method: 'POST', path: '/cl', body, headers: { 'content-length': body.length } });
  assert.equal(r.status, 200);
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.bodyBytes, 1 << 20);
  assert.equal(rec.bodySha256, createHash('sha256').update(body).digest('hex'));
  assert.equal(rec.headers['content-length'], String(1 << 20));
});

test('forwards a chunked request body with its extensions and trailers intact', async () => {
  const c = await RawClient.connect(proxy.port);
  const head = 'POST /s/chunked-request HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
  c.write(head + CHUNKED_REQUEST_BODY);
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.status, 200);
  const received = seen.get('/chunked-request')!.toString('latin1');
  const bodyAt = received.indexOf('\r\n\r\n') + 4;
  assert.match(received.slice(0, bodyAt), /\r\nTransfer-Encoding: chunked\r\n/);
  assert.doesNotMatch(received.slice(0, bodyAt), /content-length/i);
  assert.equal(received.slice(bodyAt), CHUNKED_REQUEST_BODY);
});

test('forwards a chunked request body that a node origin decodes with its trailers', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('POST /chunked-node HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' + CHUNKED_REQUEST_BODY);
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.body.toString(), 'POST /chunked-node 11');
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.bodySha256, createHash('sha256').update('hello world').digest('hex'));
  assert.deepEqual(rec.trailers, { 'x-checksum': 'abc123', 'x-other': '2' });
});

test('forwards a chunked request body that arrives in many small writes', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('POST /chunked-slow HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
  const parts = ['5;ext=1\r', '\nhel', 'lo\r\n6;name="q', ' v";flag\r\n wor', 'ld\r', '\n0\r\nX-Checksum: abc123\r\nX-Other: 2\r\n', '\r\n'];
  for (const p of parts) {
    await new Promise((r) => setTimeout(r, 5));
    c.write(p);
  }
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.body.toString(), 'POST /chunked-slow 11');
  assert.deepEqual(origin.requests.at(-1)!.trailers, { 'x-checksum': 'abc123', 'x-other': '2' });
});

test('relays a Content-Length response body exactly', async () => {
  const r = await httpRequest(proxy.port, { path: '/len' });
  assert.equal(r.headers['content-length'], String('GET /len 0'.length));
  assert.equal(r.body.toString(), 'GET /len 0');
  assert.equal(r.headers['transfer-encoding'], undefined);
});

test('relays a chunked response with its framing, extensions and trailers intact', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/chunked-response HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.framing, 'chunked');
  const raw = r!.raw.toString('latin1');
  assert.equal(raw.slice(raw.indexOf('\r\n\r\n') + 4), CHUNKED_RESPONSE_BODY);
  assert.equal(r!.body.toString(), 'abcdefg');
  assert.deepEqual(r!.trailers, [['X-Trailer', 'done']]);
});

test('re-chunks a close-delimited response for an HTTP/1.1 client and keeps its connection', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/close-delimited HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  assert.equal(r!.framing, 'chunked');
  assert.equal(r!.get('transfer-encoding'), 'chunked');
  assert.equal(r!.body.toString(), CLOSE_DELIMITED);
  assert.equal(r!.get('connection'), undefined);
  c.write('GET /s/after HTTP/1.1\r\nHost: a\r\n\r\n');
  const rs = await c.responses(2);
  assert.equal(rs[1]!.body.toString(), 'ok');
  c.destroy();
});

test('relays a close-delimited response raw to an HTTP/1.0 client and then closes', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/close-delimited HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
  assert.equal(await c.waitClosed(2000), true);
  const [r] = await c.responses(1);
  assert.equal(r!.framing, 'close');
  assert.equal(r!.get('transfer-encoding'), undefined);
  assert.equal(r!.get('connection'), 'close');
  assert.equal(r!.body.toString(), CLOSE_DELIMITED);
});

test('never sends chunked framing to an HTTP/1.0 client', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/chunked-response HTTP/1.0\r\nHost: a\r\n\r\n');
  assert.equal(await c.waitClosed(2000), true);
  const [r] = await c.responses(1);
  // RFC 9112 6.1: Transfer-Encoding only to a request that indicates HTTP/1.1.
  assert.equal(r!.get('transfer-encoding'), undefined);
  assert.equal(r!.body.toString(), 'abcdefg');
});

test('relays the upstream 100 Continue before the client sends the body (raw client)', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('PUT /expect-raw HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n');
  // The body is only sent once the interim response arrived: a proxy that held it back would time out here.
  await c.waitFor('HTTP/1.1 100 Continue\r\n\r\n', 2000);
  assert.equal(origin.requests.filter((r) => r.url === '/expect-raw').length, 0);
  c.write('payload');
  const [r] = await c.responses(1, ['PUT']);
  c.destroy();
  assert.equal(r!.interim.length, 1);
  assert.equal(r!.interim[0]!.status, 100);
  assert.equal(r!.body.toString(), 'PUT /expect-raw 7');
  assert.equal(origin.requests.at(-1)!.headers.expect, '100-continue');
});

test('node:http client with Expect: 100-continue sends its body on the relayed 100', async () => {
  const events: string[] = [];
  const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/expect-node', headers: { expect: '100-continue', 'content-length': 4 }, agent: false }, (res) => {
      events.push('response');
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('continue', () => {
      events.push('continue');
      req.end('data');
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.deepEqual(events, ['continue', 'response']);
  assert.equal(result.status, 200);
  assert.equal(result.body, 'POST /expect-node 4');
});

test('a final answer to Expect: 100-continue without the body closes the client connection', async () => {
  const refusing = await startRecordingOrigin({
    checkContinue(_req, res) {
      res.statusCode = 417;
      res.setHeader('content-length', 7);
      res.end('refused');
    },
  });
  const p = await startProxy(proxyConfig({ upstreams: { refusing: [refusing.port] } }));
  try {
    const c = await RawClient.connect(p.port);
    c.write('POST /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n');
    const [r] = await c.responses(1, ['POST']);
    assert.equal(r!.status, 417);
    assert.equal(r!.body.toString(), 'refused');
    // The unsent body would otherwise be read as the next request.
    assert.equal(r!.get('connection'), 'close');
    assert.equal(await c.waitClosed(1000), true);
    assert.equal(p.upstream('refusing').idle, 0);
  } finally {
    await p.close();
    await refusing.close();
  }
});

test('relays 103 Early Hints to an HTTP/1.1 client before the final response', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/early-hints HTTP/1.1\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.interim.length, 1);
  assert.equal(r!.interim[0]!.statusLine, 'HTTP/1.1 103 Early Hints');
  assert.equal(r!.interim[0]!.get('link'), '</style.css>; rel=preload');
  assert.equal(r!.body.toString(), 'body');
});

test('never sends a 1xx to an HTTP/1.0 client', async () => {
  const c = await RawClient.connect(proxy.port);
  c.write('GET /s/early-hints HTTP/1.0\r\nHost: a\r\n\r\n');
  const [r] = await c.responses(1);
  c.destroy();
  assert.equal(r!.interim.length, 0); // RFC 9110 15.2
  assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(r!.body.toString(), 'body');
});

test('answers 413 to a Content-Length over maxBodyBytes without contacting the upstream', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, server: { limits: { maxBodyBytes: 1000 } } }));
  try {
    const before = origin.connections;
    const c = await RawClient.connect(p.port);
    c.write('POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n' + 'x'.repeat(1001));
    const [r] = await c.responses(1, ['POST']);
    assert.equal(r!.statusLine, 'HTTP/1.1 413 Content Too Large');
    assert.equal(r!.get('connection'), 'close');
    assert.equal(await c.waitClosed(1000), true);
    assert.equal(origin.connections, before);
    // Exactly at the limit is fine.
    const ok = await httpRequest(p.port, { method: 'POST', path: '/limit', body: 'y'.repeat(1000) });
    assert.equal(ok.body.toString(), 'POST /limit 1000');
  } finally {
    await p.close();
  }
});

test('answers 413 when a chunked body grows past maxBodyBytes and never completes it upstream', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, server: { limits: { maxBodyBytes: 1000 } } }));
  try {
    const before = origin.requests.length;
    const c = await RawClient.connect(p.port);
    c.write('POST /big-chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n' + 'x'.repeat(0x200) + '\r\n');
    await new Promise((r) => setTimeout(r, 20));
    c.write('200\r\n' + 'x'.repeat(0x200) + '\r\n0\r\n\r\n');
    const [r] = await c.responses(1, ['POST']);
    assert.equal(r!.statusLine, 'HTTP/1.1 413 Content Too Large');
    assert.equal(await c.waitClosed(1000), true);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(origin.requests.length, before, 'the upstream never received a complete request');
    assert.equal(p.upstream('origin').idle, 0);
  } finally {
    await p.close();
  }
});

test('relays a response the upstream streams while the request body is still arriving (full duplex)', async () => {
  const echo = await startRecordingOrigin({
    onHead(req, res) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res); // echoes each chunk as it arrives
    },
  });
  const p = await startProxy(proxyConfig({ upstreams: { echo: [echo.port] } }));
  try {
    const total = 8 * 1024 * 1024;
    const block = randomBytes(64 * 1024);
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    // The client sends one block, then waits for its echo before sending the rest: a proxy that held the
    // response until the request body ended would never answer, and the wait fails instead of racing.
    let firstEchoBeforeEnd = false;
    await new Promise<void>((resolve, reject) => {
      let firstEcho: (() => void) | undefined;
      const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/echo', agent: false }, (res) => {
        res.on('data', (d: Buffer) => {
          received += d.length;
          got.update(d);
          firstEcho?.();
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      void (async () => {
        sent.update(block);
        req.write(block);
        firstEchoBeforeEnd = await new Promise<boolean>((r) => {
          const timer = setTimeout(() => r(false), 5000);
          firstEcho = () => { clearTimeout(timer); firstEcho = undefined; r(true); };
        });
        for (let n = block.length; n < total; n += block.length) {
          sent.update(block);
          if (!req.write(block)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })();
    });
    assert.equal(received, total);
    assert.equal(got.digest('hex'), sent.digest('hex'));
    assert.equal(firstEchoBeforeEnd, true, 'the response started flowing before the request body ended');
  } finally {
    await p.close();
    await echo.close();
  }
});
