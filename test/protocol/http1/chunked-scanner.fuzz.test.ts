/**
 * Property-based hostile input for the chunked-body walker. Valid encodings
 * (sizes in any case with leading zeros, extensions in their full grammar,
 * trailers) and mutations of them, plus byte soups, are fed whole and split
 * at arbitrary points. Properties: a split feed ends exactly as a single
 * feed (same bytes consumed, payload, trailers, verdict); and the walker
 * agrees with an independent reference decoder written from RFC 9112 7.1 as
 * regular expressions: it finishes a body exactly when the reference accepts
 * it, with the same payload and trailers, so an invalid encoding is never
 * silently accepted and a valid one never refused. Each run is bounded
 * (boundedCall), so a loop fails the run instead of hanging the suite.
 *
 * Seed: fixed for reproducible runs; FUZZ_SEED=<int> replays or explores.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedScanner } from '../../../src/protocol/http1/chunked-scanner.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from '../../../src/protocol/http1/limits.js';
import type { MessageSide } from '../../../src/protocol/http1/parse-error.js';
import { boundedCall } from '../bounded-call.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 9_0302;
const RUN = { seed: SEED, numRuns: 1500, includeErrorInReport: true };

/** Trailer limits small enough that generated trailers cross them. */
const SMALL_LIMITS: HeadLimits = { maxRequestLineBytes: 64, maxHeaderBytes: 40, maxHeaderCount: 2 };

interface Outcome {
  consumed: number;
  done: boolean;
  payload: string;
  trailers: string[];
  code: string | undefined;
  status: number | undefined;
}

/** Feeds `text` cut at `cuts` (each piece inside junk, as socket reads are) until done or failed. */
function feed(text: string, cuts: readonly number[], limits: HeadLimits, side: MessageSide): Outcome {
  let payload = '';
  const scanner = new ChunkedScanner({ side, limits, onData: (buf, start, end) => { payload += buf.toString('latin1', start, end); } });
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  let consumed = 0;
  let from = 0;
  for (const to of [...points, text.length]) {
    const piece = text.slice(from, to);
    from = to;
    const buf = Buffer.from('\r\n;' + piece + '0\r\n\r\n', 'latin1');
    const n = boundedCall(() => scanner.scan(buf, 3, 3 + piece.length));
    assert.ok(n >= 0 && n <= piece.length, `scan returned ${n} for a piece of ${piece.length}`);
    consumed += n;
    if (scanner.done || scanner.error) break;
    assert.equal(n, piece.length, 'an unfinished scanner must take every byte it is given');
  }
  assert.equal(scanner.consumedBytes, consumed, 'consumedBytes disagrees with what scan() returned');
  assert.equal(scanner.payloadBytes, Buffer.byteLength(payload, 'latin1'));
  if (scanner.error) {
    const allowed = side === 'response' ? [502] : [400, 431];
    assert.ok(allowed.includes(scanner.error.status), `status ${scanner.error.status} for ${scanner.error.code}`);
    assert.equal(scanner.done, false);
  }
  return { consumed, done: scanner.done, payload, trailers: scanner.trailers, code: scanner.error?.code, status: scanner.error?.status };
}

// ---- the reference decoder (RFC 9112 7.1, RFC 9110 5.6) ----

const TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z";
const QDTEXT = '\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff';
const QUOTED_PAIR_CHAR = '\\t \\x21-\\x7e\\x80-\\xff';
/** chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). */
const SIZE_LINE = new RegExp(
  `([0-9A-Fa-f]{1,16})(?:[ \\t]*;[ \\t]*[${TCHAR}]+(?:[ \\t]*=[ \\t]*(?:[${TCHAR}]+|"(?:[${QDTEXT}]|\\\\[${QUOTED_PAIR_CHAR}])*"))?)*\\r\\n`, 'y');
/** field-line CRLF with OWS trimmed from the value (RFC 9112 5). */
const FIELD_LINE = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e\x80-\xff](?:[ \t\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?)[ \t]*\r\n/y;
/** Node's 16 KiB bound on a size line (size, extensions and its CR), as the scanner documents. */
const MAX_SIZE_LINE_BYTES = 16 * 1024;

type Reference = { ok: true; consumed: number; payload: string; trailers: string[] } | { ok: false };

function reference(s: string, limits: HeadLimits): Reference {
  let p = 0;
  let payload = '';
  for (;;) {
    SIZE_LINE.lastIndex = p;
    const m = SIZE_LINE.exec(s);
    if (m === null || m[0].length - 1 > MAX_SIZE_LINE_BYTES) return { ok: false };
    const size = parseInt(m[1]!, 16);
    if (size > Number.MAX_SAFE_INTEGER) return { ok: false };
    p += m[0].length;
    if (size === 0) break;
    if (p + size + 2 > s.length) return { ok: false };
    payload += s.slice(p, p + size);
    p += size;
    if (!s.startsWith('\r\n', p)) return { ok: false };
    p += 2;
  }
  const trailers: string[] = [];
  const trailerStart = p;
  while (!s.startsWith('\r\n', p)) {
    FIELD_LINE.lastIndex = p;
    const m = FIELD_LINE.exec(s);
    if (m === null) return { ok: false };
    trailers.push(m[1]!, m[2]!);
    p += m[0].length;
  }
  p += 2;
  if (p - trailerStart > limits.maxHeaderBytes || trailers.length / 2 > limits.maxHeaderCount) return { ok: false };
  return { ok: true, consumed: p, payload, trailers };
}

/** The two properties on one input: split feed = whole feed, and the walker agrees with the reference. */
function check(text: string, cuts: readonly number[], small: boolean, side: MessageSide): Outcome {
  const limits = small ? SMALL_LIMITS : DEFAULT_HEAD_LIMITS;
  const whole = feed(text, [], limits, side);
  const split = feed(text, cuts, limits, side);
  assert.deepEqual(split, whole, 'a split feed ended differently from a single one');
  const ref = reference(text, limits);
  if (ref.ok) {
    assert.ok(whole.done, `the reference accepts ${JSON.stringify(text.slice(0, ref.consumed))} but the scanner answered ${whole.code ?? 'need-more'}`);
    assert.deepEqual({ consumed: whole.consumed, payload: whole.payload, trailers: whole.trailers }, { consumed: ref.consumed, payload: ref.payload, trailers: ref.trailers });
  } else {
    assert.equal(whole.done, false, `the scanner accepted ${JSON.stringify(text.slice(0, whole.consumed))}, which the reference refuses`);
  }
  return whole;
}

// ---- generators ----

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const tchar = fc.constantFrom(...("!#$%&'*+-.^_`|~" + ALNUM).split(''));
const token = fc.string({ unit: tchar, minLength: 1, maxLength: 6 });
const bws = fc.constantFrom('', '', ' ', '\t', ' \t ');
const anyByte = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const quotedChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x22 && c !== 0x5c && c !== 0x7f).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\\"', '\\\\', '\\a', '\t'),
);
const quoted = fc.string({ unit: quotedChar, maxLength: 6 }).map((s) => `"${s}"`);
const extension = fc.tuple(bws, bws, token, fc.option(fc.tuple(bws, bws, fc.oneof(token, quoted)), { nil: undefined }))
  .map(([a, b, name, v]) => `${a};${b}${name}${v === undefined ? '' : `${v[0]}=${v[1]}${v[2]}`}`);
const extensions = fc.array(extension, { maxLength: 2 }).map((e) => e.join(''));
const hexSize = (n: number) => fc.tuple(fc.constantFrom('', '0', '00'), fc.boolean()).map(([zeros, upper]) => {
  const h = zeros + n.toString(16);
  return upper ? h.toUpperCase() : h;
});
const chunk = fc.string({ unit: anyByte, minLength: 1, maxLength: 40 })
  .chain((data) => fc.tuple(hexSize(data.length), extensions).map(([size, ext]) => ({ data, text: `${size}${ext}\r\n${data}\r\n` })));
const trailerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 12 });
const trailer = fc.tuple(token, fc.constantFrom('', ' ', '\t '), trailerValue, fc.constantFrom('', ' ', '\t'))
  .map(([name, a, v, b]) => ({ line: `${name}:${a}${v}${b}\r\n`, name, value: v.replace(/^[ \t]+|[ \t]+$/g, '') }));

interface Encoding { text: string; payload: string; trailers: string[] }

const encoding: fc.Arbitrary<Encoding> = fc.record({
  chunks: fc.array(chunk, { maxLength: 4 }), last: hexSize(0), lastExt: extensions, trailers: fc.array(trailer, { maxLength: 3 }),
}).map((e) => ({
  text: e.chunks.map((c) => c.text).join('') + `${e.last}${e.lastExt}\r\n` + e.trailers.map((t) => t.line).join('') + '\r\n',
  payload: e.chunks.map((c) => c.data).join(''),
  trailers: e.trailers.flatMap((t) => [t.name, t.value]),
}));

/** What follows a body on a connection: the next request, or anything. */
const after = fc.oneof(fc.constant(''), fc.constant('GET / HTTP/1.1\r\n'), fc.string({ unit: anyByte, maxLength: 8 }));

const SPECIAL = ['\r', '\n', ' ', '\t', ';', '=', '"', '\\', '\x00', 'g', '0', 'f', 'ffffffffffffffff', '\r\n', ':', '\x7f', '\xff'];
type Mutation =
  | { op: 'insert' | 'at-line-end'; at: number; s: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'byte'; at: number; b: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: fc.constantFrom(...SPECIAL) }),
  // Line ends are where lenient parsers differ most (trailing BWS, bare CR/LF, missing CRLF after data).
  fc.record({ op: fc.constant('at-line-end' as const), at: fc.nat(), s: fc.constantFrom(...SPECIAL) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('byte' as const), at: fc.nat(), b: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(s: string, m: Mutation): string {
  const at = m.at % (s.length + 1);
  if (m.op === 'insert') return s.slice(0, at) + m.s + s.slice(at);
  if (m.op === 'delete') return s.slice(0, at) + s.slice(at + m.len);
  if (m.op === 'byte') return s.slice(0, at) + String.fromCharCode(m.b) + s.slice(at + 1);
  const ends: number[] = [];
  for (let i = s.indexOf('\r\n'); i >= 0; i = s.indexOf('\r\n', i + 1)) ends.push(i);
  const e = ends.length === 0 ? at : ends[m.at % ends.length]!;
  return s.slice(0, e) + m.s + s.slice(e);
}

const soup = fc.array(fc.constantFrom(
  '0', '1', '3', 'a', 'F', '10', '0000000000000001', 'fffffffffffffff', '1fffffffffffff', '20000000000000', '\r\n', '\r', '\n', ';', '=', '"', '\\', ' ', '\t',
  'x', 'abc', ':', 'T: v', '0\r\n\r\n', '\r\n\r\n', '\x00', '\xff',
), { maxLength: 30 }).map((p) => p.join(''));

const cutsArb = fc.array(fc.nat(), { maxLength: 6 });
const sideArb = fc.constantFrom<MessageSide>('request', 'request', 'response');

describe('ChunkedScanner under hostile input (property-based)', { timeout: 60_000 }, () => {
  test('valid encodings split anywhere decode to the modelled payload and trailers, as in one buffer', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    fc.assert(fc.property(encoding, after, cutsArb, (e, next, cuts) => {
      const o = check(e.text + next, cuts, false, 'request');
      assert.deepEqual(o, { consumed: e.text.length, done: true, payload: e.payload, trailers: e.trailers, code: undefined, status: undefined });
    }), RUN);
  });

  test('mutated encodings: split feeds agree, and nothing the reference refuses is accepted', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    let done = 0;
    let failed = 0;
    fc.assert(fc.property(encoding, fc.array(mutation, { minLength: 1, maxLength: 3 }), after, cutsArb, fc.boolean(), sideArb, (e, ms, next, cuts, small, side) => {
      let text = e.text;
      for (const m of ms) text = mutate(text, m);
      const o = check(text + next, cuts, small, side);
      if (o.done) done++;
      else if (o.code !== undefined) failed++;
    }), RUN);
    t.diagnostic(`done ${done}, failed ${failed} of ${RUN.numRuns}`);
    assert.ok(done > 0 && failed > RUN.numRuns / 3, `done ${done}, failed ${failed}: the mutations no longer exercise both verdicts`);
  });

  test('byte soups from chunked vocabulary and arbitrary bytes: same two properties', (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    fc.assert(fc.property(fc.oneof(soup, fc.string({ unit: anyByte, maxLength: 200 })), cutsArb, fc.boolean(), sideArb, (text, cuts, small, side) => {
      check(text, cuts, small, side);
    }), RUN);
  });
});
