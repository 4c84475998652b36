/**
 * Hostile and malformed requests: each is answered with its exact status and
 * reason, the connection is closed, and the upstream receives nothing at all
 * (not a connection, not a byte). The smuggling classics must never reach
 * the upstream as two requests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { exchangeRaw, RawClient } from '../harness/raw-client.js';

/** Small limits so the over-limit cases are small too. */
const LIMITS = { maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 20 };

let origin: RecordingOrigin;
let proxy: ProxyHandle;

before(async () => {
  origin = await startRecordingOrigin();
  proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] }, server: { limits: LIMITS } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

const H = 'Host: a\r\n';

interface Case {
  name: string;
  wire: string;
  status: string;
  /** The detail the proxy gives in its error body (the codec's message). */
  detail: string;
}

const cases: Case[] = [
  { name: 'rejects a request with both Content-Length and Transfer-Encoding', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'both Content-Length and Transfer-Encoding present' },
  { name: 'rejects conflicting Content-Length fields', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, status: '400 Bad Request', detail: 'conflicting Content-Length values' },
  { name: 'rejects a Content-Length list with differing values', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!`, status: '400 Bad Request', detail: 'conflicting Content-Length values' },
  { name: 'rejects a non-numeric Content-Length', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 5a\r\n\r\nhello`, status: '400 Bad Request', detail: 'invalid Content-Length' },
  { name: 'rejects a signed Content-Length', wire: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, status: '400 Bad Request', detail: 'invalid Content-Length' },
  { name: 'rejects a Content-Length beyond 2^53-1', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, status: '400 Bad Request', detail: 'Content-Length too large' },
  { name: 'answers 501 to Transfer-Encoding gzip, chunked', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, status: '501 Not Implemented', detail: 'transfer coding not implemented' },
  { name: 'rejects Transfer-Encoding chunked, gzip (chunked not final)', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'chunked is not the final transfer coding' },
  { name: 'rejects Transfer-Encoding chunked applied twice', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'chunked transfer coding applied more than once' },
  { name: 'rejects Transfer-Encoding in an HTTP/1.0 request', wire: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'Transfer-Encoding in an HTTP/1.0 message' },
  { name: 'rejects obs-fold line folding', wire: `GET / HTTP/1.1\r\n${H}X-A: one\r\n two\r\n\r\n`, status: '400 Bad Request', detail: 'obsolete line folding or whitespace before a field line' },
  { name: 'rejects a bare LF ending a field line', wire: `GET / HTTP/1.1\r\n${H}X-A: 1\n\r\n`, status: '400 Bad Request', detail: 'bare LF without CR in message framing' },
  { name: 'rejects a bare LF ending the request line', wire: `GET / HTTP/1.1\n${H}\r\n`, status: '400 Bad Request', detail: 'bare LF without CR in message framing' },
  { name: 'rejects a bare CR inside a field value', wire: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, status: '400 Bad Request', detail: 'bare CR not followed by LF' },
  { name: 'rejects a control character in a field value', wire: `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`, status: '400 Bad Request', detail: 'invalid character in header field value' },
  { name: 'rejects a NUL in a field value', wire: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, status: '400 Bad Request', detail: 'invalid character in header field value' },
  { name: 'rejects a non-token character in a field name', wire: `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`, status: '400 Bad Request', detail: 'invalid character in header field name' },
  { name: 'rejects whitespace between a field name and its colon', wire: `GET / HTTP/1.1\r\n${H}X-A : 1\r\n\r\n`, status: '400 Bad Request', detail: 'whitespace between header field name and colon' },
  { name: 'rejects a field line without a colon', wire: `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`, status: '400 Bad Request', detail: 'header field line without a colon' },
  { name: 'rejects an invalid chunk size', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'invalid chunk size' },
  { name: 'rejects a chunk size with a sign', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'invalid chunk size' },
  { name: 'rejects an invalid chunk extension', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'invalid chunk extension' },
  { name: 'rejects chunk data not followed by CRLF', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'chunk data not followed by CRLF' },
  { name: 'rejects an HTTP/1.1 request without Host', wire: 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', status: '400 Bad Request', detail: 'missing Host header field' },
  { name: 'rejects a request with two Host fields', wire: `GET / HTTP/1.1\r\n${H}Host: b\r\n\r\n`, status: '400 Bad Request', detail: 'more than one Host header field' },
  { name: 'rejects a Host with userinfo', wire: 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', status: '400 Bad Request', detail: 'invalid Host header field' },
  { name: 'answers 414 to a request line over maxRequestLineBytes', wire: `GET /${'a'.repeat(300)} HTTP/1.1\r\n${H}\r\n`, status: '414 URI Too Long', detail: 'request line too long' },
  { name: 'answers 431 to a header section over maxHeaderBytes', wire: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(1100)}\r\n\r\n`, status: '431 Request Header Fields Too Large', detail: 'header section too large' },
  { name: 'answers 431 to more fields than maxHeaderCount', wire: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 21 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`, status: '431 Request Header Fields Too Large', detail: 'too many header fields' },
  { name: 'answers 505 to HTTP/1.2', wire: `GET / HTTP/1.2\r\n${H}\r\n`, status: '505 HTTP Version Not Supported', detail: 'HTTP version not supported' },
  { name: 'rejects a lowercase http version', wire: `GET / http/1.1\r\n${H}\r\n`, status: '400 Bad Request', detail: 'invalid HTTP version' },
  { name: 'rejects two spaces in the request line', wire: `GET  / HTTP/1.1\r\n${H}\r\n`, status: '400 Bad Request', detail: 'invalid request target' },
  { name: 'rejects a target without a leading slash', wire: `GET index.html HTTP/1.1\r\n${H}\r\n`, status: '400 Bad Request', detail: 'invalid request target' },
  { name: 'rejects a path that climbs above the root', wire: `GET /../etc/passwd HTTP/1.1\r\n${H}\r\n`, status: '400 Bad Request', detail: 'invalid request path' },
  { name: 'rejects an encoded slash in the path', wire: `GET /a%2Fb HTTP/1.1\r\n${H}\r\n`, status: '400 Bad Request', detail: 'invalid request path' },
  { name: 'answers 501 to CONNECT', wire: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', status: '501 Not Implemented', detail: 'CONNECT is not supported by a reverse proxy' },
  // Request smuggling classics.
  { name: 'CL.TE smuggling: Content-Length with chunked body is rejected', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED`, status: '400 Bad Request', detail: 'both Content-Length and Transfer-Encoding present' },
  { name: 'TE.CL smuggling: chunked then Content-Length is rejected', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'both Content-Length and Transfer-Encoding present' },
  { name: 'TE.TE smuggling: "Transfer-Encoding : chunked" is rejected', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'whitespace between header field name and colon' },
  { name: 'TE.TE smuggling: Transfer-Encoding xchunked is rejected', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${H}\r\n`, status: '400 Bad Request', detail: 'chunked is not the final transfer coding' },
  { name: 'TE.TE smuggling: chunked plus an unknown second Transfer-Encoding is rejected', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-encoding: cow\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'chunked is not the final transfer coding' },
  { name: 'TE.TE smuggling: a tab-prefixed Transfer-Encoding line is rejected', wire: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\n\tTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'obsolete line folding or whitespace before a field line' },
  { name: 'TE.TE smuggling: Transfer-Encoding with a vertical tab is rejected', wire: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n`, status: '400 Bad Request', detail: 'invalid character in header field value' },
];

for (const c of cases) {
  test(`${c.name} (${c.status.split(' ')[0]}, closed, upstream untouched)`, async () => {
    const x = await exchangeRaw(proxy.port, c.wire, ['POST']);
    assert.equal(x.closed, true, 'the proxy closes the connection');
    assert.equal(x.responses.length, 1, `one response, got ${JSON.stringify(x.received.toString('latin1'))}`);
    const r = x.responses[0]!;
    assert.equal(r.statusLine, `HTTP/1.1 ${c.status}`);
    assert.equal(r.get('connection'), 'close');
    assert.equal(r.body.toString().split('\n')[0], `${c.status}: ${c.detail}`);
    assert.equal(origin.connections, 0, 'no connection reached the upstream');
    assert.equal(origin.requests.length, 0);
  });
}

test('answers 400 to bytes that are not HTTP at all and closes', async () => {
  const x = await exchangeRaw(proxy.port, '\x00\x01\x02hello there\r\n\r\n');
  assert.equal(x.closed, true);
  assert.equal(x.responses[0]!.statusLine, 'HTTP/1.1 400 Bad Request');
  assert.equal(x.responses[0]!.body.toString(), '400 Bad Request: unrecognised protocol\n');
  assert.equal(origin.connections, 0);
});

test('answers 400 to a method longer than any known one followed by garbage', async () => {
  const x = await exchangeRaw(proxy.port, `${'A'.repeat(100)}\r\n\r\n`);
  assert.equal(x.closed, true);
  assert.equal(x.responses[0]!.statusLine, 'HTTP/1.1 400 Bad Request');
  assert.equal(origin.connections, 0);
});

test('closes a TLS ClientHello sent to a plain HTTP listener without an HTTP answer', async () => {
  const x = await exchangeRaw(proxy.port, Buffer.from('16030100050100000100', 'hex'));
  assert.equal(x.closed, true);
  assert.equal(x.received.length, 0);
  assert.equal(origin.connections, 0);
});

test('a request hidden in a Content-Length body reaches the upstream as body, not as a second request', async () => {
  const hidden = `GET /admin HTTP/1.1\r\n${H}\r\n`;
  const c = await RawClient.connect(proxy.port);
  c.write(`POST /public HTTP/1.1\r\n${H}Content-Length: ${hidden.length}\r\n\r\n${hidden}`);
  const [r] = await c.responses(1, ['POST']);
  c.destroy();
  assert.equal(r!.body.toString(), `POST /public ${hidden.length}`);
  assert.deepEqual(origin.requests.map((q) => `${q.method} ${q.url}`), ['POST /public']);
  origin.requests.length = 0;
});

test('an invalid chunk after the head was forwarded closes both connections and is not reused', async () => {
  const p = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
  try {
    const beforeConnections = origin.connections;
    const c = await RawClient.connect(p.port);
    c.write(`POST /late HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    // Wait until the proxy has connected and sent the head upstream.
    for (let i = 0; i < 100 && origin.connections === beforeConnections; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(origin.connections, beforeConnections + 1);
    c.write('zz\r\n');
    const [r] = await c.responses(1, ['POST']);
    assert.equal(r!.statusLine, 'HTTP/1.1 400 Bad Request');
    assert.equal(await c.waitClosed(1000), true);
    for (let i = 0; i < 100 && !origin.closedConnections.has(beforeConnections); i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(origin.closedConnections.has(beforeConnections), true, 'the half-sent upstream connection is closed');
    assert.equal(p.upstream('origin').idle, 0);
    assert.equal(origin.requests.filter((q) => q.url === '/late').length, 0, 'the upstream never saw a complete request');
  } finally {
    await p.close();
  }
});
