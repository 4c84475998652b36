import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedScanner, type ChunkedScannerOptions } from '../../../src/protocol/http1/chunked-scanner.js';

interface Outcome {
  consumed: number;
  done: boolean;
  payload: string;
  trailers: string[];
  code: string | undefined;
  status: number | undefined;
}

/** Feeds `pieces` in order (stopping when done or failed) and records what came out. */
function feed(pieces: string[], options: ChunkedScannerOptions = {}): Outcome {
  let payload = '';
  const scanner = new ChunkedScanner({ ...options, onData: (buf, start, end) => { payload += buf.toString('latin1', start, end); } });
  let consumed = 0;
  for (const piece of pieces) {
    // Each piece sits inside a larger buffer with junk around it, as socket reads would.
    const buf = Buffer.from('##' + piece + '##', 'latin1');
    const n = scanner.scan(buf, 2, 2 + piece.length);
    assert.ok(n >= 0 && n <= piece.length);
    consumed += n;
    if (scanner.done || scanner.error) break;
    assert.equal(n, piece.length, 'an unfinished scanner must take every byte it is given');
  }
  return { consumed, done: scanner.done, payload, trailers: scanner.trailers, code: scanner.error?.code, status: scanner.error?.status };
}

function whole(text: string, options?: ChunkedScannerOptions): Outcome {
  return feed([text], options);
}

function fails(text: string, code: string, consumedBeforeFault: number, options?: ChunkedScannerOptions): void {
  const outcome = whole(text, options);
  assert.equal(outcome.code, code, JSON.stringify(text));
  assert.equal(outcome.status, options?.side === 'response' ? 502 : code === 'http1.trailers-too-large' || code === 'http1.too-many-headers' ? 431 : 400);
  assert.equal(outcome.consumed, consumedBeforeFault, `consumed for ${JSON.stringify(text)}`);
  assert.equal(outcome.done, false);
}

describe('ChunkedScanner: valid bodies', () => {
  test('walks chunks and the last chunk, and stops before the next message', () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const outcome = whole(body + 'GET / HTTP/1.1\r\n');
    assert.deepEqual(outcome, { consumed: body.length, done: true, payload: 'hello world', trailers: [], code: undefined, status: undefined });
  });

  test('accepts upper- and lowercase hex and leading zeros', () => {
    const payload = 'x'.repeat(0x1a);
    assert.equal(whole(`1A\r\n${payload}\r\n001a\r\n${payload}\r\n000\r\n\r\n`).payload, payload + payload);
  });

  test('accepts chunk extensions in their strict grammar, with BWS', () => {
    for (const ext of [';a', ';a=b', ';a="q\\"x y"', ' ;a', '\t; a = b', ';a;b=c;d="e"', ';a ;b', ';a= "x"', ';a ="\\\\"']) {
      const outcome = whole(`3${ext}\r\nabc\r\n0${ext}\r\n\r\n`);
      assert.equal(outcome.done, true, `extension ${JSON.stringify(ext)}: ${outcome.code}`);
      assert.equal(outcome.payload, 'abc');
    }
  });

  test('collects trailer fields with OWS trimmed', () => {
    const body = '3\r\nabc\r\n0\r\nX-Checksum:  abc \r\nX-Empty:\r\nServer-Timing: db;dur=53\r\n\r\n';
    const outcome = whole(body + 'NEXT');
    assert.equal(outcome.done, true);
    assert.equal(outcome.consumed, body.length);
    assert.deepEqual(outcome.trailers, ['X-Checksum', 'abc', 'X-Empty', '', 'Server-Timing', 'db;dur=53']);
  });

  test('gives identical results when split at every byte, in two pieces and byte by byte', () => {
    const body = '4;ext="a b"\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nT-One: 1\r\nT-Two:  two \r\n\r\n';
    const expected = whole(body + 'REST');
    assert.equal(expected.done, true);
    assert.equal(expected.payload, 'Wikipedia in \r\n\r\nchunks.');
    for (let cut = 0; cut <= body.length; cut++) {
      assert.deepEqual(feed([body.slice(0, cut), body.slice(cut) + 'REST']), expected, `cut ${cut}`);
    }
    assert.deepEqual(feed([...(body + 'REST')]), expected);
  });

  test('reports payload bytes and body bytes consumed', () => {
    const scanner = new ChunkedScanner();
    const buf = Buffer.from('a\r\n0123456789\r\n0\r\n\r\n');
    assert.equal(scanner.scan(buf, 0, buf.length), buf.length);
    assert.equal(scanner.payloadBytes, 10);
    assert.equal(scanner.consumedBytes, buf.length);
  });

  test('takes nothing more once done, and reset() makes it reusable', () => {
    const scanner = new ChunkedScanner();
    const buf = Buffer.from('1\r\na\r\n0\r\nT: v\r\n\r\n');
    assert.equal(scanner.scan(buf, 0, buf.length), buf.length);
    assert.equal(scanner.scan(buf, 0, buf.length), 0);
    scanner.reset();
    assert.equal(scanner.done, false);
    assert.deepEqual(scanner.trailers, []);
    assert.equal(scanner.scan(buf, 0, buf.length), buf.length);
    assert.deepEqual(scanner.trailers, ['T', 'v']);
    assert.equal(scanner.payloadBytes, 1);
  });

  test('accepts a chunk size of 2^53-1 (the data is then simply awaited)', () => {
    const outcome = whole('1FFFFFFFFFFFFF\r\nabc');
    assert.equal(outcome.code, undefined);
    assert.equal(outcome.consumed, 19);
    assert.equal(outcome.payload, 'abc');
  });
});

describe('ChunkedScanner: invalid framing', () => {
  test('rejects a chunk size that is not HEXDIG', () => {
    fails('g\r\n', 'http1.chunk-size-invalid', 0);
    fails('\r\n', 'http1.chunk-size-invalid', 0);
    fails('-1\r\n', 'http1.chunk-size-invalid', 0);
    fails('0x5\r\n', 'http1.chunk-size-invalid', 1);
    fails(' 5\r\n', 'http1.chunk-size-invalid', 0);
    fails('3\r\nabc\r\nz\r\n', 'http1.chunk-size-invalid', 8);
  });

  test('rejects more than 16 hex digits and sizes over 2^53-1', () => {
    fails('00000000000000001\r\n', 'http1.chunk-size-too-large', 16);
    fails('20000000000000\r\n', 'http1.chunk-size-too-large', 13);
    fails('FFFFFFFFFFFFFFFF\r\n', 'http1.chunk-size-too-large', 13);
  });

  test('rejects extensions outside the strict grammar', () => {
    fails('5;\r\n', 'http1.chunk-ext-invalid', 2);
    fails('5 \r\n', 'http1.chunk-ext-invalid', 2);
    fails('5;a=\r\n', 'http1.chunk-ext-invalid', 4);
    fails('5;a=b c\r\n', 'http1.chunk-ext-invalid', 6);
    fails('5;a b\r\n', 'http1.chunk-ext-invalid', 4);
    fails('5;a="x\x01"\r\n', 'http1.chunk-ext-invalid', 6);
    fails('5;a="x\r\n', 'http1.chunk-ext-invalid', 6);
    fails('5;a=(b)\r\n', 'http1.chunk-ext-invalid', 4);
    fails('5;@\r\n', 'http1.chunk-ext-invalid', 2);
    fails('5,a\r\n', 'http1.chunk-size-invalid', 1);
  });

  test('rejects a size line longer than 16 KiB', () => {
    fails('5;a="' + 'x'.repeat(16 * 1024) + '"\r\n', 'http1.chunk-line-too-long', 16 * 1024);
  });

  test('rejects chunk data not followed by exactly CRLF', () => {
    fails('3\r\nabcd\r\n', 'http1.chunk-data-unterminated', 6);
    fails('3\r\nabc\rX', 'http1.bare-cr', 7);
  });

  test('rejects a bare LF anywhere in the framing', () => {
    fails('3\nabc\r\n', 'http1.bare-lf', 1);
    fails('3;a=b\nabc\r\n', 'http1.bare-lf', 5);
    fails('3\r\nabc\n', 'http1.bare-lf', 6);
    fails('0\r\nT: v\n\r\n', 'http1.bare-lf', 7);
    fails('0\r\n\n', 'http1.bare-lf', 3);
  });

  test('rejects a bare CR in the size line and at the end', () => {
    fails('3\rabc', 'http1.bare-cr', 2);
    fails('0\r\n\rX', 'http1.bare-cr', 4);
    fails('0\r\nT: a\rb', 'http1.bare-cr', 8);
  });

  test('validates trailer fields like header fields', () => {
    fails('0\r\n T: v\r\n\r\n', 'http1.obs-fold', 3);
    fails('0\r\nT : v\r\n\r\n', 'http1.space-before-colon', 4);
    fails('0\r\n: v\r\n\r\n', 'http1.empty-header-name', 3);
    fails('0\r\nT(x): v\r\n\r\n', 'http1.invalid-header-name', 4);
    fails('0\r\nT: a\x00b\r\n\r\n', 'http1.invalid-header-value', 7);
    fails('0\r\nT: a\x7f\r\n\r\n', 'http1.invalid-header-value', 7);
    fails('0\r\nNoColon\r\n\r\n', 'http1.header-without-colon', 10);
  });

  test('limits the trailer section to maxHeaderBytes and maxHeaderCount', () => {
    const limits = { maxRequestLineBytes: 100, maxHeaderBytes: 20, maxHeaderCount: 2 };
    fails('0\r\nX-Long: ' + 'a'.repeat(20) + '\r\n\r\n', 'http1.trailers-too-large', 23, { limits });
    fails('0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', 'http1.too-many-headers', 15, { limits });
    assert.equal(whole('0\r\nA: 1\r\nB: 2\r\n\r\n', { limits }).done, true);
  });

  test('answers 502 for a response body', () => {
    fails('z\r\n', 'http1.chunk-size-invalid', 0, { side: 'response' });
  });

  test('returns 0 and keeps the error after a failure', () => {
    const scanner = new ChunkedScanner();
    const buf = Buffer.from('3\r\nabcX');
    assert.equal(scanner.scan(buf, 0, buf.length), 6);
    assert.equal(scanner.error?.code, 'http1.chunk-data-unterminated');
    assert.equal(scanner.error?.offset, 6);
    assert.equal(scanner.scan(Buffer.from('\r\n'), 0, 2), 0);
    assert.equal(scanner.error?.code, 'http1.chunk-data-unterminated');
  });
});
