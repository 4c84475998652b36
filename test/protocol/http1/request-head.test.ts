import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRequestHead, type RequestHead } from '../../../src/protocol/http1/request-head.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from '../../../src/protocol/http1/limits.js';
import { isHttpParseError, type HttpParseError } from '../../../src/protocol/http1/parse-error.js';

function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function parse(text: string, limits: HeadLimits = DEFAULT_HEAD_LIMITS): RequestHead | HttpParseError | null {
  const buf = bytes(text);
  return parseRequestHead(buf, 0, buf.length, limits);
}

function head(text: string, limits?: HeadLimits): RequestHead {
  const result = parse(text, limits);
  assert.ok(result !== null, 'expected a head, got null (incomplete)');
  assert.ok(!isHttpParseError(result), `expected a head, got ${JSON.stringify(result)}`);
  return result;
}

function rejects(text: string, status: number, code: string, limits?: HeadLimits): HttpParseError {
  const result = parse(text, limits);
  assert.ok(isHttpParseError(result), `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code);
  assert.equal(result.status, status);
  return result;
}

const GET = 'GET / HTTP/1.1\r\nHost: a.example\r\n';

describe('parseRequestHead: valid requests', () => {
  test('parses a browser GET with many fields, keeping names as received and trimming OWS', () => {
    const text = 'GET /p/42?x=1&y=%20 HTTP/1.1\r\n' +
      'Host: shop.example.com:8080\r\n' +
      'User-Agent: Mozilla/5.0 (X11)\r\n' +
      'Accept:text/html,*/*;q=0.8\r\n' +
      'accept-encoding: \t gzip, br \t\r\n' +
      'X-Empty:\r\n' +
      'X-Inner: a \t b\r\n' +
      'Cookie: a=1; b=2\r\n' +
      '\r\n';
    assert.deepEqual(head(text), {
      method: 'GET',
      target: '/p/42?x=1&y=%20',
      versionMinor: 1,
      headers: [
        'Host', 'shop.example.com:8080',
        'User-Agent', 'Mozilla/5.0 (X11)',
        'Accept', 'text/html,*/*;q=0.8',
        'accept-encoding', 'gzip, br',
        'X-Empty', '',
        'X-Inner', 'a \t b',
        'Cookie', 'a=1; b=2',
      ],
      headBytes: Buffer.byteLength(text),
      contentLength: -1,
      chunked: false,
      keepAlive: true,
      host: 'shop.example.com:8080',
      expectContinue: false,
      upgrade: undefined,
      connectionTokens: [],
    });
  });

  test('parses a POST with Content-Length and stops at the end of the head', () => {
    const result = head('POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world');
    assert.equal(result.method, 'POST');
    assert.equal(result.contentLength, 11);
    assert.equal(result.chunked, false);
    assert.equal(result.headBytes, 54);
  });

  test('parses a chunked request (Transfer-Encoding: chunked, any case)', () => {
    const result = head('PUT /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n');
    assert.equal(result.chunked, true);
    assert.equal(result.contentLength, -1);
  });

  test('accepts an absolute-form target', () => {
    assert.equal(head('GET http://a.example:81/x?y HTTP/1.1\r\nHost: a.example:81\r\n\r\n').target, 'http://a.example:81/x?y');
    assert.equal(head('GET HTTPS://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n').target, 'HTTPS://a.example');
  });

  test('accepts OPTIONS *', () => {
    const result = head('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(result.method, 'OPTIONS');
    assert.equal(result.target, '*');
  });

  test('accepts CONNECT with an authority-form target, IPv6 literal included', () => {
    assert.equal(head('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n').target, 'a.example:443');
    assert.equal(head('CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n').target, '[::1]:8443');
  });

  test('HTTP/1.0 with Connection: keep-alive is persistent, and needs no Host', () => {
    const result = head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
    assert.equal(result.versionMinor, 0);
    assert.equal(result.keepAlive, true);
    assert.equal(result.host, undefined);
    assert.deepEqual(result.connectionTokens, ['keep-alive']);
  });

  test('HTTP/1.0 without keep-alive is not persistent', () => {
    assert.equal(head('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
  });

  test('HTTP/1.1 with Connection: close is not persistent, close wins over keep-alive', () => {
    assert.equal(head(GET + 'Connection: close\r\n\r\n').keepAlive, false);
    assert.equal(head(GET + 'Connection: keep-alive, close\r\n\r\n').keepAlive, false);
  });

  test('lowercases Connection options, skips empty list elements, and gathers them over several lines', () => {
    const result = head(GET + 'Connection: X-Trace, , Keep-Alive\r\nConnection: UPGRADE\r\nUpgrade: websocket\r\n\r\n');
    assert.deepEqual(result.connectionTokens, ['x-trace', 'keep-alive', 'upgrade']);
    assert.equal(result.upgrade, 'websocket');
  });

  test('reports Upgrade only when Connection lists upgrade', () => {
    assert.equal(head(GET + 'Upgrade: websocket\r\n\r\n').upgrade, undefined);
    assert.equal(head(GET + 'Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n').upgrade, 'h2c');
    assert.equal(head('GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n').upgrade, undefined);
  });

  test('recognises Expect: 100-continue case-insensitively and nothing else', () => {
    assert.equal(head(GET + 'Expect: 100-Continue\r\nContent-Length: 1\r\n\r\n').expectContinue, true);
    assert.equal(head(GET + 'Expect: 200-ok\r\n\r\n').expectContinue, false);
  });

  test('skips leading empty lines and counts them in headBytes', () => {
    const result = head('\r\n\r\n' + GET + '\r\n');
    assert.equal(result.headBytes, 4 + GET.length + 2);
    assert.equal(result.target, '/');
  });

  test('accepts any token as method', () => {
    assert.equal(head('M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n'.replace('*', '/')).method, 'M-SEARCH');
    assert.equal(head('get / HTTP/1.1\r\nHost: a\r\n\r\n').method, 'get');
  });

  test('keeps obs-text bytes of values as latin1 characters', () => {
    assert.equal(head(GET + 'X-Name: caf\xe9\r\n\r\n').headers[3], 'caf\xe9');
  });

  test('collapses identical Content-Length values into one field (RFC 9110 8.6)', () => {
    const result = head('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nX: y\r\ncontent-length: 005\r\n\r\n');
    assert.equal(result.contentLength, 5);
    assert.deepEqual(result.headers, ['Host', 'a', 'Content-Length', '5', 'X', 'y']);
  });

  test('accepts Content-Length up to 2^53-1', () => {
    assert.equal(head(GET + 'Content-Length: 9007199254740991\r\n\r\n').contentLength, 9007199254740991);
  });

  test('accepts an empty Host (target without authority)', () => {
    assert.equal(head('GET / HTTP/1.1\r\nHost:\r\n\r\n').host, '');
  });

  test('parses a head that starts in the middle of a buffer and is followed by other bytes', () => {
    const buf = bytes('xxxxGET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1');
    const result = parseRequestHead(buf, 4, buf.length, DEFAULT_HEAD_LIMITS);
    assert.ok(result !== null && !isHttpParseError(result));
    assert.equal(result.target, '/a');
    assert.equal(result.headBytes, 28);
  });

  test('accepts a head of exactly maxHeaderCount fields, maxHeaderBytes bytes and a line of maxRequestLineBytes', () => {
    const limits = { maxRequestLineBytes: 16, maxHeaderBytes: 48, maxHeaderCount: 2 };
    // "GET /abc HTTP/1.1" is 17 bytes; "GET /ab HTTP/1.1" is 16.
    const text = 'GET /ab HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n';
    assert.equal(text.length, 42);
    assert.equal(head(text, limits).headers.length, 4);
    assert.equal(head(text.replace('12345678', '12345678901234'), limits).headBytes, 48);
  });
});

describe('parseRequestHead: incomplete input', () => {
  test('returns null for empty input and for lone leading CRLFs', () => {
    assert.equal(parse(''), null);
    assert.equal(parse('\r'), null);
    assert.equal(parse('\r\n\r\n'), null);
  });

  const corpus = [
    'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    '\r\nPOST /x?y=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\nX-A:  b  \r\n\r\n',
    'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nProxy-Connection: keep-alive\r\n\r\n',
    'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    'PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n',
  ];
  test('feeding a valid head at every split point gives null until complete, then the same head', () => {
    for (const text of corpus) {
      const full = bytes(text);
      const expected = parseRequestHead(full, 0, full.length, DEFAULT_HEAD_LIMITS);
      assert.ok(expected !== null && !isHttpParseError(expected));
      for (let cut = 0; cut < full.length; cut++) {
        // The prefix sits in a larger buffer with garbage after `end`, which must not be read.
        const buf = Buffer.alloc(full.length + 8, 0x0a);
        full.copy(buf, 3, 0, cut);
        assert.equal(parseRequestHead(buf, 3, 3 + cut, DEFAULT_HEAD_LIMITS), null, `cut ${cut} of ${JSON.stringify(text)}`);
      }
      const shifted = Buffer.concat([bytes('zz'), full, bytes('GET')]);
      assert.deepEqual(parseRequestHead(shifted, 2, shifted.length, DEFAULT_HEAD_LIMITS), expected);
    }
  });
});

describe('parseRequestHead: framing rejections', () => {
  test('rejects a request with both Content-Length and Transfer-Encoding', () => {
    rejects(GET + 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'http1.both-cl-and-te');
    rejects(GET + 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 400, 'http1.both-cl-and-te');
  });

  test('rejects a Content-Length that is not 1*DIGIT', () => {
    for (const value of ['abc', '+5', '-1', '0x10', '5 5', '5,', ',5', '5;', '1e3']) {
      rejects(GET + `Content-Length: ${value}\r\n\r\n`, 400, 'http1.invalid-content-length');
    }
    rejects(GET + 'Content-Length:\r\n\r\n', 400, 'http1.invalid-content-length');
  });

  test('rejects differing Content-Length values, in one list or over several lines', () => {
    rejects(GET + 'Content-Length: 5, 6\r\n\r\n', 400, 'http1.conflicting-content-length');
    rejects(GET + 'Content-Length: 5\r\nContent-Length: 50\r\n\r\n', 400, 'http1.conflicting-content-length');
  });

  test('rejects a Content-Length above 2^53-1', () => {
    rejects(GET + 'Content-Length: 9007199254740992\r\n\r\n', 400, 'http1.content-length-too-large');
    rejects(GET + 'Content-Length: 99999999999999999999999\r\n\r\n', 400, 'http1.content-length-too-large');
  });

  test('answers 501 for an unknown coding before a final chunked', () => {
    rejects(GET + 'Transfer-Encoding: gzip, chunked\r\n\r\n', 501, 'http1.te-unsupported');
    rejects(GET + 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n', 501, 'http1.te-unsupported');
  });

  test('rejects a Transfer-Encoding whose final coding is not chunked', () => {
    rejects(GET + 'Transfer-Encoding: chunked, gzip\r\n\r\n', 400, 'http1.te-chunked-not-final');
    rejects(GET + 'Transfer-Encoding: gzip\r\n\r\n', 400, 'http1.te-chunked-not-final');
    rejects(GET + 'Transfer-Encoding: identity\r\n\r\n', 400, 'http1.te-chunked-not-final');
  });

  test('rejects chunked applied twice, in one list or over two lines', () => {
    rejects(GET + 'Transfer-Encoding: chunked, chunked\r\n\r\n', 400, 'http1.te-chunked-repeated');
    rejects(GET + 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'http1.te-chunked-repeated');
  });

  test('rejects a malformed Transfer-Encoding list', () => {
    for (const value of ['', 'chunked;q=1', 'chunked,', ', chunked', 'chun ked', '"chunked"']) {
      rejects(GET + `Transfer-Encoding: ${value}\r\n\r\n`, 400, 'http1.invalid-transfer-encoding');
    }
  });

  test('rejects any Transfer-Encoding on HTTP/1.0', () => {
    rejects('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'http1.te-on-http10');
  });
});

describe('parseRequestHead: field syntax rejections', () => {
  test('rejects obs-fold (a line starting with SP or HTAB)', () => {
    rejects(GET + 'X-A: b\r\n c\r\n\r\n', 400, 'http1.obs-fold');
    rejects(GET + 'X-A: b\r\n\tc\r\n\r\n', 400, 'http1.obs-fold');
  });

  test('rejects whitespace between the request line and the first field', () => {
    rejects('GET / HTTP/1.1\r\n Host: a\r\n\r\n', 400, 'http1.obs-fold');
  });

  test('rejects a bare LF anywhere in the head', () => {
    rejects('GET / HTTP/1.1\nHost: a\r\n\r\n', 400, 'http1.bare-lf');
    rejects(GET + 'X: y\n\r\n', 400, 'http1.bare-lf');
    rejects(GET + '\n', 400, 'http1.bare-lf');
    rejects('\nGET / HTTP/1.1\r\n', 400, 'http1.bare-lf');
    rejects('GET /\n', 400, 'http1.bare-lf');
    rejects(GET + 'X\n: y\r\n\r\n', 400, 'http1.bare-lf');
  });

  test('rejects a bare CR anywhere in the head', () => {
    rejects(GET + 'X: a\rb\r\n\r\n', 400, 'http1.bare-cr');
    rejects(GET + '\rX', 400, 'http1.bare-cr');
    rejects('GET / HTTP/1.1\rHost: a\r\n\r\n', 400, 'http1.bare-cr');
    rejects('\rGET / HTTP/1.1\r\n', 400, 'http1.bare-cr');
  });

  test('rejects NUL, other control bytes and DEL in values, but allows HTAB', () => {
    for (const ch of ['\x00', '\x01', '\x0b', '\x1f', '\x7f']) {
      rejects(GET + `X: a${ch}b\r\n\r\n`, 400, 'http1.invalid-header-value');
    }
    assert.equal(head(GET + 'X: a\tb\r\n\r\n').headers[3], 'a\tb');
  });

  test('rejects non-token characters in field names', () => {
    for (const name of ['X{y}', 'X"', 'X/Y', 'X\x00', 'X\xe9', '[x]', 'X@Y']) {
      rejects(GET + `${name}: v\r\n\r\n`, 400, 'http1.invalid-header-name');
    }
  });

  test('rejects whitespace between field name and colon', () => {
    rejects(GET + 'Content-Length : 5\r\n\r\n', 400, 'http1.space-before-colon');
    rejects(GET + 'X\t: 5\r\n\r\n', 400, 'http1.space-before-colon');
  });

  test('rejects an empty field name', () => {
    rejects(GET + ': v\r\n\r\n', 400, 'http1.empty-header-name');
  });

  test('rejects a field line without a colon', () => {
    rejects(GET + 'NoColon\r\n\r\n', 400, 'http1.header-without-colon');
  });
});

describe('parseRequestHead: request line rejections', () => {
  test('rejects non-token characters in the method and an empty method', () => {
    rejects('G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-method');
    rejects('G\x00T / HTTP/1.1\r\n', 400, 'http1.invalid-method');
    rejects(' / HTTP/1.1\r\n', 400, 'http1.invalid-method');
    rejects('GET\t/ HTTP/1.1\r\n', 400, 'http1.invalid-method');
  });

  test('rejects targets with spaces, controls or non-ASCII bytes', () => {
    rejects('GET  / HTTP/1.1\r\n', 400, 'http1.invalid-target');
    rejects('GET /a\x01b HTTP/1.1\r\n', 400, 'http1.invalid-target');
    rejects('GET /caf\xe9 HTTP/1.1\r\n', 400, 'http1.invalid-target');
    rejects('GET /a\x7f HTTP/1.1\r\n', 400, 'http1.invalid-target');
    rejects('GET /a\tb HTTP/1.1\r\n', 400, 'http1.invalid-target');
  });

  test('rejects a target in a form that does not fit the method', () => {
    rejects('GET foo HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('CONNECT a.example:https HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('GET ftp://a.example/ HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
    rejects('GET http://user@a.example/ HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'http1.invalid-target');
  });

  test('answers 505 for a well-formed version other than 1.0 and 1.1', () => {
    rejects('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, 'http1.version-not-supported');
    rejects('GET / HTTP/1.2\r\nHost: a\r\n\r\n', 505, 'http1.version-not-supported');
    rejects('GET / HTTP/0.9\r\n\r\n', 505, 'http1.version-not-supported');
  });

  test('answers 400 for a garbled version', () => {
    for (const version of ['http/1.1', 'HTTP/1.1x', 'HTTP/11', 'HTTP/2', 'HTTP/1.1 ', 'HTTX/1.1', 'HTTP/a.1']) {
      rejects(`GET / ${version}\r\nHost: a\r\n\r\n`, 400, 'http1.invalid-version');
    }
    rejects('GET /\r\n\r\n', 400, 'http1.invalid-version');
  });

  test('answers 414 for a request line over maxRequestLineBytes, even before it ends', () => {
    const limits = { maxRequestLineBytes: 16, maxHeaderBytes: 1024, maxHeaderCount: 10 };
    rejects('GET /abc HTTP/1.1\r\nHost: a\r\n\r\n', 414, 'http1.request-line-too-long', limits);
    rejects('GET /abcdefghijklmnop', 414, 'http1.request-line-too-long', limits);
    rejects('GETTINGVERYLONGMETHOD', 414, 'http1.request-line-too-long', limits);
    assert.equal(parse('GET /abcdefghijk', limits), null);
    rejects('GET ' + '/x'.repeat(4500) + ' HTTP/1.1\r\n', 414, 'http1.request-line-too-long');
  });

  test('rejects more than a few leading empty lines', () => {
    rejects('\r\n'.repeat(5) + GET + '\r\n', 400, 'http1.too-many-empty-lines');
    assert.equal(head('\r\n'.repeat(4) + GET + '\r\n').target, '/');
  });
});

describe('parseRequestHead: Host and limits', () => {
  test('rejects HTTP/1.1 without Host', () => {
    rejects('GET / HTTP/1.1\r\nX: y\r\n\r\n', 400, 'http1.missing-host');
  });

  test('rejects more than one Host, also on HTTP/1.0', () => {
    rejects(GET + 'host: a.example\r\n\r\n', 400, 'http1.duplicate-host');
    rejects('GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'http1.duplicate-host');
  });

  test('rejects a Host with characters outside uri-host [":" port]', () => {
    for (const value of ['a b', 'a/b', 'user@a', 'a?b', 'a#b', 'caf\xe9', 'a\tb', '"a"']) {
      rejects(`GET / HTTP/1.1\r\nHost: ${value}\r\n\r\n`, 400, 'http1.invalid-host');
    }
  });

  test('answers 431 for more than maxHeaderCount fields', () => {
    const limits = { ...DEFAULT_HEAD_LIMITS, maxHeaderCount: 2 };
    rejects(GET + 'A: 1\r\nB: 2\r\n\r\n', 431, 'http1.too-many-headers', limits);
    rejects(GET + 'A: 1\r\nB: 2', 431, 'http1.too-many-headers', limits);
  });

  test('answers 431 for a head over maxHeaderBytes, even before it ends', () => {
    const limits = { maxRequestLineBytes: 64, maxHeaderBytes: 47, maxHeaderCount: 10 };
    // The same head is accepted at 48 bytes (see above): one byte less of room rejects it.
    rejects('GET /ab HTTP/1.1\r\nHost: a\r\nX: 12345678901234\r\n\r\n', 431, 'http1.head-too-large', limits);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'y'.repeat(40), 431, 'http1.head-too-large', limits);
    rejects(GET + 'X: ' + 'y'.repeat(40000), 431, 'http1.head-too-large');
  });

  test('reports faults as soon as the faulty byte arrives, before the head is complete', () => {
    rejects(GET + 'X: a\n', 400, 'http1.bare-lf');
    rejects(GET + 'X: a\x00', 400, 'http1.invalid-header-value');
    rejects(GET + 'X : ', 400, 'http1.space-before-colon');
    rejects('GET /a\x01', 400, 'http1.invalid-target');
  });

  test('gives the offset of the faulty byte from start', () => {
    assert.equal(rejects(GET + 'X: a\x00', 400, 'http1.invalid-header-value').offset, GET.length + 4);
    assert.equal(rejects('GET /a\x01', 400, 'http1.invalid-target').offset, 6);
    assert.equal(rejects(GET + 'host: b\r\n\r\n', 400, 'http1.duplicate-host').offset, GET.length);
    assert.equal(rejects('\r\nGET / HTTP/1.1\r\nHost: a\r\nX\n', 400, 'http1.bare-lf').offset, 28);
  });
});

describe('parseRequestHead: properties', () => {
  test('random bytes never throw: the result is always a head, an error or null', () => {
    const small = { maxRequestLineBytes: 64, maxHeaderBytes: 256, maxHeaderCount: 8 };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (arr) => {
      const buf = Buffer.from(arr);
      for (const limits of [DEFAULT_HEAD_LIMITS, small]) {
        const result = parseRequestHead(buf, 0, buf.length, limits);
        assert.ok(result === null || isHttpParseError(result) || typeof result.method === 'string');
      }
    }), { numRuns: 500 });
  });

  test('a valid head with one byte changed never throws, and a parsed head never contains CR, LF or NUL', () => {
    const base = bytes('POST /a?b=c HTTP/1.1\r\nHost: a.example\r\nContent-Length: 12\r\nConnection: keep-alive\r\nX-A: b c\r\n\r\n');
    fc.assert(fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
      const buf = Buffer.from(base);
      buf[at] = value;
      const result = parseRequestHead(buf, 0, buf.length, DEFAULT_HEAD_LIMITS);
      if (result === null || isHttpParseError(result)) return;
      for (const s of [result.method, result.target, ...result.headers]) assert.doesNotMatch(s, /[\r\n\x00]/);
    }), { numRuns: 1000 });
  });
});
