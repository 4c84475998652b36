/**
 * Property-based hostile input for the request head parser. Inputs are
 * arbitrary bytes, bytes drawn from HTTP's own vocabulary, and valid requests
 * (built from a model) mutated the ways smuggling attacks mutate them: CR,
 * LF, NUL, SP, HTAB and obs-fold inserted, framing fields duplicated or made
 * to conflict, huge numbers, lines deleted or repeated, and everything fed
 * split at random points. Properties: the parser answers a head, its typed
 * error or "need more" and never throws or loops; a prefix never answers
 * differently from the whole; and every accepted request, re-serialised by
 * the session's upstream head builder (and by serializeRequestHead) and
 * parsed again, is framed identically: no smuggling by re-serialisation.
 *
 * Seed: fixed for reproducible runs; FUZZ_SEED=<int> replays or explores.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRequestHead, type RequestHead } from '../../../src/protocol/http1/request-head.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from '../../../src/protocol/http1/limits.js';
import { isHttpParseError, requestError, type HttpParseError } from '../../../src/protocol/http1/parse-error.js';
import { ChunkedScanner } from '../../../src/protocol/http1/chunked-scanner.js';
import { serializeRequestHead } from '../../../src/protocol/http1/serialize.js';
import { buildUpstreamHead } from '../../../actors/session-http1/upstream-request-head.js';
import { normalizePath } from '../../../actors/router/normalize-path.js';
import { boundedCall } from '../bounded-call.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 9_0301;
const RUN = { seed: SEED, numRuns: 1500, includeErrorInReport: true };

type Parsed = RequestHead | HttpParseError | null;

/** A limit set small enough that random inputs cross it, next to the defaults. */
const SMALL_LIMITS: HeadLimits = { maxRequestLineBytes: 48, maxHeaderBytes: 160, maxHeaderCount: 6 };
/** What an upstream parser might allow: the proxy adds forwarding fields, so the re-parse needs room. */
const ROOMY_LIMITS: HeadLimits = { maxRequestLineBytes: 1 << 20, maxHeaderBytes: 1 << 20, maxHeaderCount: 1000 };
const REQUEST_STATUSES = new Set([400, 414, 431, 501, 505]);

/** Parses text[0, len) placed at offset 3 of a buffer with junk around it, under the loop guard. */
function parseAt(text: string, len: number, limits: HeadLimits): Parsed {
  const buf = Buffer.from('\n\r ' + text.slice(0, len) + '\r\n\r\nGET / HTTP/1.1\r\n', 'latin1');
  return boundedCall(() => parseRequestHead(buf, 3, 3 + len, limits));
}

/** The outcome is one of the three answers, and an error is exactly its catalogue entry. */
function assertWellFormedAnswer(r: Parsed, len: number, limits: HeadLimits): void {
  if (r === null) return;
  if (isHttpParseError(r)) {
    assert.ok(REQUEST_STATUSES.has(r.status), `status ${r.status} for ${r.code}`);
    assert.deepEqual(r, requestError(r.code, r.offset), 'an error that is not its catalogue entry');
    // A line that cannot fit is refused before its end arrives; its offset is then where the limit falls.
    const bound = r.code === 'http1.request-line-too-long' ? Math.max(len, 2 * 4 + limits.maxRequestLineBytes) : len;
    assert.ok(Number.isInteger(r.offset) && r.offset >= 0 && r.offset <= bound, `offset ${r.offset} of ${r.code} outside [0, ${bound}]`);
    return;
  }
  assert.equal(typeof r.method, 'string');
  assert.ok(r.headBytes > 0 && r.headBytes <= len, `headBytes ${r.headBytes} of ${len}`);
  for (const s of [r.method, r.target, ...r.headers]) assert.doesNotMatch(s, /[\r\n\x00]/);
  assert.ok(r.contentLength === -1 || !r.chunked, 'both a length and chunked');
}

/** Every prefix answers "need more", or exactly what the whole answers (a head, or the same error). */
function assertPrefixesAgree(text: string, cuts: number[], limits: HeadLimits): Parsed {
  const whole = parseAt(text, text.length, limits);
  assertWellFormedAnswer(whole, text.length, limits);
  for (const cut of cuts) {
    const len = cut % (text.length + 1);
    const part = parseAt(text, len, limits);
    assertWellFormedAnswer(part, len, limits);
    if (part === null) continue;
    assert.deepEqual(part, whole, `prefix of ${len} bytes answered differently from the whole ${JSON.stringify(text)}`);
  }
  return whole;
}

// ---- generators ----

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const tchar = fc.constantFrom(...("!#$%&'*+-.^_`|~" + ALNUM).split(''));
const token = fc.string({ unit: tchar, minLength: 1, maxLength: 10 });
const valueChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x20, 0x09) },
).map((c) => String.fromCharCode(c));
const value = fc.string({ unit: valueChar, maxLength: 16 });
const ows = fc.constantFrom('', '', ' ', '\t', '  ', ' \t');
const hostName = fc.oneof(
  fc.constantFrom('a.example', 'localhost', '127.0.0.1:8080', '[::1]:80', 'x.test:1', ''),
  fc.string({ unit: fc.constantFrom(...'abcxyz019-.'.split('')), minLength: 1, maxLength: 12 }),
);
const pathChars = fc.constantFrom(...("abcXYZ019-._~!$&'()*+,;=:@/%".split('')), '%41', '%2F', '%2e', '..', '.');
const path = fc.string({ unit: pathChars, maxLength: 14 }).map((s) => '/' + s);
const query = fc.option(fc.string({ unit: fc.constantFrom(...'ab=&?/%2'.split('')), maxLength: 8 }).map((q) => '?' + q), { nil: '' });
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE') },
  { weight: 1, arbitrary: fc.constantFrom('CONNECT', 'get', 'M-SEARCH', 'PRI') },
  { weight: 1, arbitrary: token },
);
const target = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(path, query).map(([p, q]) => p + q) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('http://', 'https://', 'HTTP://'), hostName, fc.option(path, { nil: '' }), query).map(([s, h, p, q]) => s + h + p + q) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'a.example:443', 'a.example') },
);

/** Framing of the body: none, Content-Length (maybe repeated), or chunked. */
type Framing =
  | { kind: 'none' }
  | { kind: 'length'; body: string; lines: string[] }
  | { kind: 'chunked'; body: string; lines: string[] };

const smallBody = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 24 });
const chunkedBody = fc.array(smallBody.filter((s) => s.length > 0), { maxLength: 3 }).map((parts) =>
  parts.map((p) => p.length.toString(16) + '\r\n' + p + '\r\n').join('') + '0\r\n\r\n');
const framing: fc.Arbitrary<Framing> = fc.oneof(
  fc.constant<Framing>({ kind: 'none' }),
  fc.tuple(smallBody, fc.constantFrom('single', 'list', 'lines'), fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH'), ows)
    .map(([body, form, name, sp]): Framing => {
      const n = String(body.length);
      const lines = form === 'single' ? [`${name}:${sp}${n}${sp}`]
        : form === 'list' ? [`${name}: ${n},${sp}${n}`]
          : [`${name}: ${n}`, `${name}:${sp}${n}`];
      return { kind: 'length', body, lines };
    }),
  fc.tuple(chunkedBody, fc.constantFrom('chunked', 'Chunked', 'CHUNKED'), ows)
    .map(([body, coding, sp]): Framing => ({ kind: 'chunked', body, lines: [`Transfer-Encoding:${sp}${coding}${sp}`] })),
);

const extraField = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(token, ows, value).map(([n, sp, v]) => `${n}:${sp}${v}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Connection: keep-alive', 'Connection: close', 'Connection: upgrade', 'Upgrade: websocket', 'Upgrade: h2c',
      'Connection: content-length', 'Connection: transfer-encoding, x-a', 'Connection: host', 'Connection: ,, te ,',
      'TE: trailers', 'Keep-Alive: timeout=5', 'Proxy-Connection: keep-alive', 'Expect: 100-continue',
      'X-Forwarded-For: 10.0.0.1', 'X-Forwarded-Host: evil', 'Trailer: x', 'Via: 1.0 a',
    ),
  },
);

interface Model { text: string; head: string; body: string }

/** A request (head + body) that follows the model; mostly valid, some by construction not (CONNECT, '*'). */
const request: fc.Arbitrary<Model> = fc.record({
  method, target, minor: fc.constantFrom(1, 1, 1, 0), host: fc.option(hostName, { freq: 8, nil: undefined }),
  extras: fc.array(extraField, { maxLength: 5 }), framing, framingAt: fc.nat(), leading: fc.constantFrom('', '', '\r\n'),
}).map((m) => {
  const fields = [...m.extras];
  if (m.host !== undefined) fields.unshift(`Host: ${m.host}`);
  const body = m.framing.kind === 'none' ? '' : m.framing.body;
  if (m.framing.kind !== 'none') fields.splice(m.framingAt % (fields.length + 1), 0, ...m.framing.lines);
  const head = `${m.leading}${m.method} ${m.target} HTTP/1.${m.minor}\r\n${fields.map((f) => f + '\r\n').join('')}\r\n`;
  return { text: head + body, head, body };
});

/** Lines an attacker adds to desynchronise two parsers. */
const HOSTILE_LINES = [
  'Content-Length: 0', 'Content-Length: 5', 'Content-Length: 99999999999999999999', 'Content-Length: 9007199254740992',
  'Content-Length: 9007199254740991', 'Content-Length: -1', 'Content-Length: 0x10', 'Content-Length: 1 2', 'Content-Length: +5',
  'Content-Length: 5,', 'Content-Length: ,5', 'Content-Length: 5, 6', 'Content-Length:5\r\nContent-Length: 6',
  'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: chunked, chunked', 'Transfer-Encoding : chunked', 'transfer-encoding:\tCHUNKED ', 'Transfer-Encoding: xchunked',
  'Transfer-Encoding: "chunked"', 'Transfer-Encoding:', ' Transfer-Encoding: chunked', '\tContent-Length: 1', 'Transfer-Encoding\r\n : chunked',
  'Host: other', 'Host: a@b', 'Connection: content-length', 'Connection: transfer-encoding, close', 'Upgrade: websocket\r\nConnection: Upgrade',
  'X:\x0b', 'X: a\x00b', 'X: a\rb', 'X: a\nb', 'X\x7f: 1', ': empty',
];
const SPECIAL_BYTES = ['\r', '\n', '\x00', ' ', '\t', '\r\n ', '\r\n\t', ':', '\r\n', '\x7f', '\xff', ',', '\r\n\r\n'];

type Mutation =
  | { op: 'insert'; at: number; s: string }
  | { op: 'line'; at: number; line: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'repeat-line'; at: number }
  | { op: 'byte'; at: number; b: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.constantFrom(...SPECIAL_BYTES) }),
  fc.record({ op: fc.constant('line' as const), at: fc.nat(), line: fc.constantFrom(...HOSTILE_LINES) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('repeat-line' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('byte' as const), at: fc.nat(), b: fc.integer({ min: 0, max: 255 }) }),
);

/** Applies a mutation to the head only (the body and the bytes after it stay as the model made them). */
function mutate(head: string, m: Mutation): string {
  const lineStarts: number[] = [];
  for (let i = head.indexOf('\r\n'); i >= 0 && i + 2 < head.length; i = head.indexOf('\r\n', i + 2)) lineStarts.push(i + 2);
  const at = m.at % (head.length + 1);
  switch (m.op) {
    case 'insert': return head.slice(0, at) + m.s + head.slice(at);
    case 'delete': return head.slice(0, at) + head.slice(at + m.len);
    case 'byte': return head.slice(0, at) + String.fromCharCode(m.b) + head.slice(at + 1);
    case 'line': {
      const ls = lineStarts.length === 0 ? head.length : lineStarts[m.at % lineStarts.length]!;
      return head.slice(0, ls) + m.line + '\r\n' + head.slice(ls);
    }
    case 'repeat-line': {
      if (lineStarts.length < 2) return head;
      const i = m.at % (lineStarts.length - 1);
      const line = head.slice(lineStarts[i]!, lineStarts[i + 1]!);
      return head.slice(0, lineStarts[i + 1]!) + line + head.slice(lineStarts[i + 1]!);
    }
  }
}

/** Bytes an HTTP parser would find interesting, concatenated: much likelier to reach deep states than uniform bytes. */
const httpishBytes = fc.array(fc.constantFrom(
  'GET', 'POST', 'CONNECT', 'OPTIONS', ' ', '/', '*', 'http://a', 'a:1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.', '\r\n', '\r', '\n', '\x00', '\t',
  ':', 'Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Expect', 'chunked', 'close', 'upgrade', ',', '0', '5', '18446744073709551616',
  'x', '\xff', '100-continue',
), { maxLength: 40 }).map((parts) => parts.join(''));

// ---- re-serialisation oracle ----

/** Where the body of a request framed by `h` ends in `after`: byte count, or 'error' / 'incomplete' for chunked. */
function bodyExtent(h: RequestHead, after: Buffer): number | string {
  if (!h.chunked) return h.contentLength < 0 ? 0 : Math.min(h.contentLength, after.length);
  const scanner = new ChunkedScanner();
  const n = scanner.scan(after, 0, after.length);
  return scanner.error ? `error ${scanner.error.code} at ${n}` : scanner.done ? n : 'incomplete';
}

const framingFields = (h: RequestHead): string[] => {
  const out: string[] = [];
  for (let i = 0; i < h.headers.length; i += 2) {
    const n = h.headers[i]!.toLowerCase();
    if (n === 'content-length' || n === 'transfer-encoding') out.push(n, h.headers[i + 1]!);
  }
  return out;
};

const firstValue = (h: RequestHead, lower: string): string | undefined => {
  for (let i = 0; i < h.headers.length; i += 2) if (h.headers[i]!.toLowerCase() === lower) return h.headers[i + 1];
  return undefined;
};

/** Where the upstream leg goes when the request names no host (HTTP/1.0): as the session names the upstream. */
const UPSTREAM_ADDRESS = '127.0.0.1:8080';

/**
 * The upstream head the HTTP/1.1 session would write for `h` (see Http1Session: target
 * forms, normalizePath, Host from an absolute-form authority), or undefined when the
 * session answers the request itself (CONNECT, a path it refuses).
 */
function upstreamHeadFor(h: RequestHead): { head: string; path: string; host: string | undefined } | undefined {
  let p: string;
  let host = h.host;
  if (h.target.charCodeAt(0) === 0x2f) p = h.target;
  else if (h.target === '*') p = '/';
  else if (h.method === 'CONNECT') return undefined;
  else {
    const afterScheme = h.target.indexOf('//') + 2;
    let end = afterScheme;
    while (end < h.target.length && h.target[end] !== '/' && h.target[end] !== '?') end++;
    host = h.target.slice(afterScheme, end);
    p = end === h.target.length ? '/' : h.target[end] === '?' ? '/' + h.target.slice(end) : h.target.slice(end);
  }
  const q = p.indexOf('?');
  const normalized = normalizePath(q < 0 ? p : p.slice(0, q));
  if (normalized === null) return undefined;
  const upstreamPath = (h.target === '*' ? '*' : normalized) + (q >= 0 ? p.slice(q) : '');
  const hostOverride = host === undefined ? UPSTREAM_ADDRESS : host !== h.host ? host : undefined;
  const head = buildUpstreamHead(h.method, upstreamPath, h.headers, h.connectionTokens, {
    clientAddress: '127.0.0.1', proto: 'http', hostOverride, requestHost: host, upgrade: h.upgrade !== undefined,
  });
  return { head, path: upstreamPath, host: hostOverride ?? h.host };
}

/** The property (b): re-serialised, the request is framed exactly as the client's was. */
function assertReframedIdentically(h: RequestHead, after: Buffer): void {
  const up = upstreamHeadFor(h);
  if (up === undefined) return;
  const wire = Buffer.concat([Buffer.from(up.head, 'latin1'), after]);
  const re = boundedCall(() => parseRequestHead(wire, 0, wire.length, ROOMY_LIMITS));
  assert.ok(re !== null && !isHttpParseError(re), `the upstream head does not parse: ${JSON.stringify(re)} for ${JSON.stringify(up.head)}`);
  assert.equal(re.headBytes, Buffer.byteLength(up.head, 'latin1'), 'the upstream parser ends the head elsewhere');
  assert.equal(re.method, h.method);
  assert.equal(re.target, up.path);
  assert.equal(re.versionMinor, 1);
  assert.equal(re.contentLength, h.contentLength, 'Content-Length changed');
  assert.equal(re.chunked, h.chunked, 'chunked-ness changed');
  assert.deepEqual(framingFields(re), framingFields(h), 'framing fields changed');
  assert.equal(re.host, up.host, 'Host changed');
  assert.equal(re.upgrade !== undefined, h.upgrade !== undefined, 'upgrade-ness changed');
  if (h.upgrade !== undefined) assert.equal(re.upgrade, firstValue(h, 'upgrade'));
  assert.deepEqual(bodyExtent(re, after), bodyExtent(h, after), 'the body ends at another byte upstream');

  // The plain serializer too: for HTTP/1.1 it must round-trip to the very same head.
  if (h.versionMinor === 1) {
    const plain = serializeRequestHead(h.method, h.target, h.headers);
    const buf = Buffer.from(plain, 'latin1');
    const again = boundedCall(() => parseRequestHead(buf, 0, buf.length, ROOMY_LIMITS));
    assert.ok(again !== null && !isHttpParseError(again), `serializeRequestHead output does not parse: ${JSON.stringify(again)}`);
    assert.deepEqual({ ...again, headBytes: 0 }, { ...h, headBytes: 0 });
    assert.equal(again.headBytes, buf.length);
  }
}

function checkRequestText(text: string, cuts: number[], limits: HeadLimits): Parsed {
  const whole = assertPrefixesAgree(text, cuts, limits);
  if (whole !== null && !isHttpParseError(whole)) {
    assertReframedIdentically(whole, Buffer.from(text.slice(whole.headBytes) + 'GET /next HTTP/1.1\r\nHost: n\r\n\r\n', 'latin1'));
  }
  return whole;
}

const cutsArb = fc.array(fc.nat(), { maxLength: 4 });

describe('parseRequestHead under hostile input (property-based)', { timeout: 60_000 }, () => {
  test('arbitrary bytes: a head, a typed error or need-more, never a throw or a loop; prefixes agree', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), cutsArb, fc.boolean(), (arr, cuts, small) => {
      checkRequestText(Buffer.from(arr).toString('latin1'), cuts, small ? SMALL_LIMITS : DEFAULT_HEAD_LIMITS);
    }), RUN);
  });

  test('HTTP-vocabulary byte soup: same properties, and what is accepted re-frames identically', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    fc.assert(fc.property(httpishBytes, cutsArb, fc.boolean(), (text, cuts, small) => {
      checkRequestText(text, cuts, small ? SMALL_LIMITS : DEFAULT_HEAD_LIMITS);
    }), RUN);
  });

  test('model requests are accepted, framed as modelled, and re-frame identically upstream', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    let accepted = 0;
    fc.assert(fc.property(request, cutsArb, (m, cuts) => {
      const r = checkRequestText(m.text, cuts, DEFAULT_HEAD_LIMITS);
      if (r === null || isHttpParseError(r)) return;
      accepted++;
      assert.equal(r.headBytes, Buffer.byteLength(m.head, 'latin1'));
      const after = Buffer.from(m.body, 'latin1');
      assert.equal(bodyExtent(r, after), m.body.length, 'the body the model wrote is not the body the parser framed');
    }), RUN);
    // Most model requests are valid; if the model drifted into mostly errors, the round trip above tested nothing.
    t.diagnostic(`accepted ${accepted} of ${RUN.numRuns}`);
    assert.ok(accepted > RUN.numRuns / 3, `only ${accepted} of ${RUN.numRuns} model requests were accepted`);
  });

  test('mutated model requests (CR/LF/NUL/SP/HTAB, obs-fold, duplicate and conflicting framing, huge numbers) never desync', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    let accepted = 0;
    let rejected = 0;
    fc.assert(fc.property(request, fc.array(mutation, { minLength: 1, maxLength: 3 }), cutsArb, fc.boolean(), (m, mutations, cuts, small) => {
      let head = m.head;
      for (const mu of mutations) head = mutate(head, mu);
      const r = checkRequestText(head + m.body, cuts, small ? SMALL_LIMITS : DEFAULT_HEAD_LIMITS);
      if (r !== null && !isHttpParseError(r)) accepted++;
      else if (r !== null) rejected++;
    }), RUN);
    t.diagnostic(`accepted ${accepted}, rejected ${rejected} of ${RUN.numRuns}`);
    assert.ok(accepted > 0 && rejected > RUN.numRuns / 4, `accepted ${accepted}, rejected ${rejected}: the mutations no longer exercise both sides`);
  });
});
