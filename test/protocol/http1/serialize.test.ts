import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serializeRequestHead, serializeResponseHead, STATUS_REASONS } from '../../../src/protocol/http1/serialize.js';
import { parseRequestHead } from '../../../src/protocol/http1/request-head.js';
import { parseResponseHead } from '../../../src/protocol/http1/response-head.js';
import { DEFAULT_HEAD_LIMITS } from '../../../src/protocol/http1/limits.js';
import { isHttpParseError } from '../../../src/protocol/http1/parse-error.js';

const TCHARS = [..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"];
const VCHAR_OBS: string[] = [];
for (let c = 0x21; c <= 0x7e; c++) VCHAR_OBS.push(String.fromCharCode(c));
for (let c = 0x80; c <= 0xff; c++) VCHAR_OBS.push(String.fromCharCode(c));
const TARGET_CHARS = VCHAR_OBS.slice(0, 0x7e - 0x21 + 1);

const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** A field value as the parser returns it: field-vchar at both ends, SP/HTAB allowed inside. */
const fieldValue = fc.string({ unit: fc.constantFrom(...VCHAR_OBS, ' ', '\t'), maxLength: 30 })
  .map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''));
/** Names the parser interprets (and so constrains) are left to the dedicated tests. */
const SPECIAL = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);
const fieldName = token.filter((n) => !SPECIAL.has(n.toLowerCase()));
const fields = fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 20 }).map((pairs) => pairs.flat());

describe('serializeRequestHead', () => {
  test('writes METHOD SP target SP HTTP/1.1 CRLF, the fields and the final CRLF', () => {
    assert.equal(
      serializeRequestHead('POST', '/a?b', ['Host', 'x', 'Content-Length', '3']),
      'POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n',
    );
    assert.equal(serializeRequestHead('GET', '/', []), 'GET / HTTP/1.1\r\n\r\n');
  });

  test('round-trips: parse(serialize(x)) gives back method, target and fields', () => {
    fc.assert(fc.property(
      token.filter((m) => m !== 'CONNECT'),
      fc.string({ unit: fc.constantFrom(...TARGET_CHARS), maxLength: 40 }).map((t) => '/' + t),
      fields,
      (method, target, rest) => {
        const headers = ['Host', 'a.example', ...rest];
        const buf = Buffer.from(serializeRequestHead(method, target, headers), 'latin1');
        const parsed = parseRequestHead(buf, 0, buf.length, DEFAULT_HEAD_LIMITS);
        assert.ok(parsed !== null && !isHttpParseError(parsed), JSON.stringify(parsed));
        assert.equal(parsed.method, method);
        assert.equal(parsed.target, target);
        assert.deepEqual(parsed.headers, headers);
        assert.equal(parsed.headBytes, buf.length);
      },
    ), { numRuns: 300 });
  });
});

describe('serializeResponseHead', () => {
  test('writes the status line with the given version and reason', () => {
    assert.equal(
      serializeResponseHead(1, 404, 'Nope', ['Content-Length', '0']),
      'HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n',
    );
    assert.equal(serializeResponseHead(0, 200, 'OK', []), 'HTTP/1.0 200 OK\r\n\r\n');
  });

  test('uses the default reason phrase when the reason is empty, and none for an unknown status', () => {
    assert.equal(serializeResponseHead(1, 502, '', []), 'HTTP/1.1 502 Bad Gateway\r\n\r\n');
    assert.equal(serializeResponseHead(1, 599, '', []), 'HTTP/1.1 599 \r\n\r\n');
  });

  test('STATUS_REASONS holds the RFC 9110 phrases', () => {
    assert.equal(STATUS_REASONS[200], 'OK');
    assert.equal(STATUS_REASONS[413], 'Content Too Large');
    assert.equal(STATUS_REASONS[431], 'Request Header Fields Too Large');
    assert.equal(STATUS_REASONS[505], 'HTTP Version Not Supported');
    assert.equal(STATUS_REASONS[418], undefined);
  });

  test('round-trips: parse(serialize(x)) gives back status, reason and fields', () => {
    fc.assert(fc.property(
      fc.integer({ min: 100, max: 999 }),
      fc.string({ unit: fc.constantFrom(...VCHAR_OBS, ' ', '\t'), minLength: 1, maxLength: 20 }),
      fields,
      (status, reason, rest) => {
        const headers = ['Content-Length', '0', ...rest];
        const buf = Buffer.from(serializeResponseHead(1, status, reason, headers), 'latin1');
        const parsed = parseResponseHead(buf, 0, buf.length, DEFAULT_HEAD_LIMITS, 'GET');
        assert.ok(parsed !== null && !isHttpParseError(parsed), JSON.stringify(parsed));
        assert.equal(parsed.status, status);
        assert.equal(parsed.reason, reason);
        assert.deepEqual(parsed.headers, headers);
      },
    ), { numRuns: 300 });
  });
});
