import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseResponseHead, type ResponseHead } from '../../../src/protocol/http1/response-head.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from '../../../src/protocol/http1/limits.js';
import { isHttpParseError, type HttpParseError } from '../../../src/protocol/http1/parse-error.js';

function parse(text: string, method = 'GET', limits: HeadLimits = DEFAULT_HEAD_LIMITS): ResponseHead | HttpParseError | null {
  const buf = Buffer.from(text, 'latin1');
  return parseResponseHead(buf, 0, buf.length, limits, method);
}

function head(text: string, method = 'GET', limits?: HeadLimits): ResponseHead {
  const result = parse(text, method, limits);
  assert.ok(result !== null, 'expected a head, got null (incomplete)');
  assert.ok(!isHttpParseError(result), `expected a head, got ${JSON.stringify(result)}`);
  return result;
}

function rejects(text: string, code: string, method = 'GET', limits?: HeadLimits): HttpParseError {
  const result = parse(text, method, limits);
  assert.ok(isHttpParseError(result), `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code);
  assert.equal(result.status, 502);
  return result;
}

describe('parseResponseHead: valid responses and body rules (RFC 9112 6.3)', () => {
  test('parses a 200 with Content-Length as a length-delimited body', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';
    assert.deepEqual(head(text), {
      status: 200,
      reason: 'OK',
      versionMinor: 1,
      headers: ['Content-Type', 'text/plain', 'Content-Length', '5'],
      headBytes: text.length - 5,
      bodyKind: 'length',
      contentLength: 5,
      keepAlive: true,
      connectionTokens: [],
      upgrade: undefined,
    });
  });

  test('a final chunked coding gives a chunked body', () => {
    assert.equal(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').bodyKind, 'chunked');
  });

  test('no framing field gives a close-delimited body and a non-reusable connection', () => {
    const result = head('HTTP/1.1 200 OK\r\nX: y\r\n\r\n');
    assert.equal(result.bodyKind, 'close');
    assert.equal(result.keepAlive, false);
  });

  test('a response to HEAD has no body even with Content-Length or chunked', () => {
    const withLength = head('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n', 'HEAD');
    assert.equal(withLength.bodyKind, 'none');
    assert.equal(withLength.contentLength, 1234);
    assert.equal(withLength.keepAlive, true);
    assert.equal(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'HEAD').bodyKind, 'none');
  });

  test('1xx, 204 and 304 have no body', () => {
    assert.equal(head('HTTP/1.1 100 Continue\r\n\r\n').bodyKind, 'none');
    assert.equal(head('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n').bodyKind, 'none');
    assert.equal(head('HTTP/1.1 204 No Content\r\n\r\n').bodyKind, 'none');
    const notModified = head('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n');
    assert.equal(notModified.bodyKind, 'none');
    assert.equal(notModified.keepAlive, true);
  });

  test('a 2xx answer to CONNECT has no body (tunnel), other CONNECT answers follow the usual rules', () => {
    assert.equal(head('HTTP/1.1 200 Connection Established\r\n\r\n', 'CONNECT').bodyKind, 'none');
    assert.equal(head('HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n', 'CONNECT').bodyKind, 'length');
  });

  test('a 101 reports the Upgrade value when Connection lists upgrade', () => {
    const result = head('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.equal(result.bodyKind, 'none');
    assert.equal(result.upgrade, 'websocket');
    assert.deepEqual(result.connectionTokens, ['upgrade']);
  });

  test('HTTP/1.0 is persistent only with keep-alive, HTTP/1.1 unless close', () => {
    assert.equal(head('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
    assert.equal(head('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
    assert.equal(head('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
  });

  test('accepts a status line without reason, with or without the SP, and keeps odd reasons', () => {
    assert.equal(head('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').reason, '');
    assert.equal(head('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n').reason, '');
    assert.equal(head('HTTP/1.1 299 Fine\tand caf\xe9\r\nContent-Length: 0\r\n\r\n').reason, 'Fine\tand caf\xe9');
    assert.equal(head('HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n').status, 999);
  });

  test('collapses identical Content-Length values', () => {
    const result = head('HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n');
    assert.equal(result.contentLength, 7);
    assert.deepEqual(result.headers, ['Content-Length', '7']);
  });

  test('feeding a response head at every split point gives null until complete, then the same head', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nSet-Cookie: a=b;  Path=/\r\nConnection: keep-alive\r\n\r\n';
    const full = Buffer.from(text, 'latin1');
    const expected = parseResponseHead(full, 0, full.length, DEFAULT_HEAD_LIMITS, 'GET');
    assert.ok(expected !== null && !isHttpParseError(expected));
    for (let cut = 0; cut < full.length; cut++) {
      const buf = Buffer.alloc(full.length + 4, 0x0a);
      full.copy(buf, 2, 0, cut);
      assert.equal(parseResponseHead(buf, 2, 2 + cut, DEFAULT_HEAD_LIMITS, 'GET'), null, `cut ${cut}`);
    }
    const shifted = Buffer.concat([Buffer.from('abc'), full, Buffer.from('xyz')]);
    assert.deepEqual(parseResponseHead(shifted, 3, shifted.length, DEFAULT_HEAD_LIMITS, 'GET'), expected);
  });
});

describe('parseResponseHead: rejections are all 502', () => {
  test('rejects Content-Length with Transfer-Encoding', () => {
    rejects('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 'http1.both-cl-and-te');
  });

  test('rejects any Transfer-Encoding that is not exactly chunked', () => {
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'http1.te-unsupported');
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'http1.te-chunked-not-final');
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'http1.te-chunked-repeated');
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x\r\n\r\n', 'http1.invalid-transfer-encoding');
  });

  test('rejects Transfer-Encoding in an HTTP/1.0 response', () => {
    rejects('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'http1.te-on-http10');
  });

  test('rejects conflicting and malformed Content-Length', () => {
    rejects('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'http1.conflicting-content-length');
    rejects('HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n', 'http1.invalid-content-length');
    rejects('HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n', 'http1.content-length-too-large');
  });

  test('rejects a status line that is not HTTP/1.x NNN [reason]', () => {
    for (const line of ['ICY 200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'HTTP/1.1  200 OK', 'http/1.1 200 OK', 'HTTP/1.1 2x0 OK', 'HTTP/1.1 200 O\x00K', 'HTTP/1.1 200OK', 'HTTP/1.1 099 Low']) {
      rejects(line + '\r\nContent-Length: 0\r\n\r\n', 'http1.invalid-status-line');
    }
  });

  test('rejects versions other than HTTP/1.0 and HTTP/1.1', () => {
    rejects('HTTP/2.0 200 OK\r\n\r\n', 'http1.version-not-supported');
    rejects('HTTP/1.2 200 OK\r\n\r\n', 'http1.version-not-supported');
    rejects('HTTP/1.x 200 OK\r\n\r\n', 'http1.invalid-status-line');
  });

  test('applies the request field rules: bare LF, bare CR, obs-fold, control bytes, names', () => {
    rejects('HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'http1.bare-lf');
    rejects('HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n', 'http1.bare-cr');
    rejects('HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'http1.obs-fold');
    rejects('HTTP/1.1 200 OK\r\nX: a\x00\r\n\r\n', 'http1.invalid-header-value');
    rejects('HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', 'http1.space-before-colon');
    rejects('HTTP/1.1 200 OK\r\nX(y): 1\r\n\r\n', 'http1.invalid-header-name');
    rejects('HTTP/1.1 200 OK\r\n: 1\r\n\r\n', 'http1.empty-header-name');
  });

  test('rejects a status line over maxRequestLineBytes and a head over maxHeaderBytes, even unfinished', () => {
    const limits = { maxRequestLineBytes: 20, maxHeaderBytes: 64, maxHeaderCount: 4 };
    rejects('HTTP/1.1 200 A very long reason', 'http1.status-line-too-long', 'GET', limits);
    // A 20-byte status line is the most the limit allows; 21 bytes is over.
    rejects('HTTP/1.1 200 12345678\r\n\r\n', 'http1.status-line-too-long', 'GET', limits);
    assert.equal(head('HTTP/1.1 200 1234567\r\nContent-Length: 0\r\n\r\n', 'GET', limits).reason, '1234567');
    assert.equal(parse('HTTP/1.1 200 1234567', 'GET', limits), null);
    rejects('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(60), 'http1.head-too-large', 'GET', limits);
    rejects('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n', 'http1.too-many-headers', 'GET', limits);
  });

  test('random bytes never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('GET', 'HEAD', 'CONNECT'), (arr, method) => {
      const buf = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.from(arr)]);
      const result = parseResponseHead(buf, 0, buf.length, DEFAULT_HEAD_LIMITS, method);
      assert.ok(result === null || isHttpParseError(result) || typeof result.status === 'number');
      const raw = Buffer.from(arr);
      const result2 = parseResponseHead(raw, 0, raw.length, DEFAULT_HEAD_LIMITS, method);
      assert.ok(result2 === null || isHttpParseError(result2) || typeof result2.status === 'number');
    }), { numRuns: 500 });
  });
});
