/**
 * The field section shared by request and response heads (RFC 9112 5, RFC 9110 5):
 * a strict per-byte scan of field lines into a reusable offset table, and the
 * interpretation of the fields that decide framing and connection handling
 * (Content-Length, Transfer-Encoding, Connection, Host, Upgrade, Expect).
 *
 * Why an offset table: the head is scanned straight from the Buffer while it may
 * still be incomplete; only once it is complete is it turned into one latin1
 * string, and names/values become cheap slices of it. The table and the framing
 * record are module-level and reused: parsing is synchronous and each worker
 * thread has its own module instance, so nothing is allocated per field.
 */
import {
  FIELD_CONTENT, TOKEN, equalsLowerAscii,
} from './char-classes.js';
import { httpParseError, type HttpParseError, type MessageSide } from './parse-error.js';
import type { HeadLimits } from './limits.js';

// Byte values as module-local consts (not imports): see char-classes.ts.
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const COMMA = 0x2c;

// Module-local aliases: see char-classes.ts for why hot loops do not use the imports directly.
const TOKEN_ = TOKEN;
const CONTENT_ = FIELD_CONTENT;

/** Slots per field in the offset table: name start/end, value start/end (OWS trimmed), kind. */
export const FIELD_SLOTS = 5;
const SLOTS = FIELD_SLOTS;

export const KIND_OTHER = 0;
export const KIND_HOST = 1;
export const KIND_CONTENT_LENGTH = 2;
export const KIND_TRANSFER_ENCODING = 3;
export const KIND_CONNECTION = 4;
export const KIND_UPGRADE = 5;
export const KIND_EXPECT = 6;

/** Absolute Buffer offsets of the fields found by the last scanFieldSection call. */
export const scannedFields = {
  table: new Int32Array(SLOTS * 128),
  count: 0,
};

/**
 * Scans field lines from `p` up to and including the empty line that ends the head.
 * Returns the index just past the final CRLF, -1 when more bytes are needed, or an error.
 * `headStart` is where the head began (limits and error offsets are measured from it).
 * Faults are reported at the first byte that shows them, complete head or not.
 */
export function scanFieldSection(
  buf: Buffer, p: number, end: number, headStart: number, limits: HeadLimits, side: MessageSide,
): number | HttpParseError {
  const maxCount = limits.maxHeaderCount;
  let table = scannedFields.table;
  if (table.length < maxCount * SLOTS) table = scannedFields.table = new Int32Array(maxCount * SLOTS);
  // The final LF must sit below headMax; bytes at or past it mean the head is too large.
  const headMax = headStart + limits.maxHeaderBytes;
  const stop = end < headMax ? end : headMax;
  let count = 0;
  let w = 0;
  let c = 0;
  for (;;) {
    if (p >= stop) return ranOut(end, headMax, headStart, side);
    c = buf[p];
    if (c === CR) {
      if (p + 1 >= stop) return ranOut(end, headMax, headStart, side);
      if (buf[p + 1] !== LF) return httpParseError('http1.bare-cr', side, p - headStart);
      scannedFields.count = count;
      return p + 2;
    }
    const nameStart = p;
    while (p < stop && TOKEN_[buf[p]] === 1) p++;
    if (p >= stop) return ranOut(end, headMax, headStart, side);
    c = buf[p];
    if (c !== COLON || p === nameStart) return nameFault(c, p === nameStart, p - headStart, side);
    if (count === maxCount) return httpParseError('http1.too-many-headers', side, nameStart - headStart);
    const nameEnd = p;
    p++;
    while (p < stop && ((c = buf[p]) === SP || c === HTAB)) p++;
    const valueStart = p;
    // The hottest loop of the parser: four bytes per step, their table entries AND-ed,
    // then byte by byte up to the first byte not allowed in a value (normally the CR).
    // Trailing OWS is trimmed afterwards, walking back from the CR. Unrolling measured
    // 330 ns -> 230 ns for the field lines of a 300-byte head.
    const stop4 = stop - 4;
    while (p <= stop4 && (CONTENT_[buf[p]] & CONTENT_[buf[p + 1]] & CONTENT_[buf[p + 2]] & CONTENT_[buf[p + 3]]) !== 0) p += 4;
    while (p < stop && CONTENT_[buf[p]] !== 0) p++;
    if (p >= stop) return ranOut(end, headMax, headStart, side);
    c = buf[p];
    if (c !== CR) {
      return httpParseError(c === LF ? 'http1.bare-lf' : 'http1.invalid-header-value', side, p - headStart);
    }
    let valueEnd = p;
    while (valueEnd > valueStart && ((c = buf[valueEnd - 1]) === SP || c === HTAB)) valueEnd--;
    if (p + 1 >= stop) return ranOut(end, headMax, headStart, side);
    if (buf[p + 1] !== LF) return httpParseError('http1.bare-cr', side, p - headStart);
    p += 2;
    table[w] = nameStart;
    table[w + 1] = nameEnd;
    table[w + 2] = valueStart;
    table[w + 3] = valueEnd;
    table[w + 4] = fieldKind(buf, nameStart, nameEnd);
    w += SLOTS;
    count++;
  }
}

/** The bytes ran out: either the head is merely incomplete (-1) or it cannot end within the limit. */
function ranOut(end: number, headMax: number, headStart: number, side: MessageSide): number | HttpParseError {
  return end < headMax ? -1 : httpParseError('http1.head-too-large', side, headMax - headStart);
}

function nameFault(c: number, atLineStart: boolean, offset: number, side: MessageSide): HttpParseError {
  if (c === LF) return httpParseError('http1.bare-lf', side, offset);
  if (atLineStart) {
    // RFC 9112 5.2: obs-fold, and RFC 9112 2.2: whitespace before the first field line, both rejected.
    if (c === SP || c === HTAB) return httpParseError('http1.obs-fold', side, offset);
    if (c === COLON) return httpParseError('http1.empty-header-name', side, offset);
    return httpParseError('http1.invalid-header-name', side, offset);
  }
  // RFC 9112 5.1: no whitespace between name and colon (CVE-2021-22959 class of smuggling).
  if (c === SP || c === HTAB) return httpParseError('http1.space-before-colon', side, offset);
  if (c === CR) return httpParseError('http1.header-without-colon', side, offset);
  return httpParseError('http1.invalid-header-name', side, offset);
}

/** Recognises the fields the codec interprets, by length then case-folded bytes (no lowercased copies). */
function fieldKind(buf: Buffer, a: number, b: number): number {
  switch (b - a) {
    case 4: return equalsLowerAscii(buf, a, 'host') ? KIND_HOST : KIND_OTHER;
    case 6: return equalsLowerAscii(buf, a, 'expect') ? KIND_EXPECT : KIND_OTHER;
    case 7: return equalsLowerAscii(buf, a, 'upgrade') ? KIND_UPGRADE : KIND_OTHER;
    case 10: return equalsLowerAscii(buf, a, 'connection') ? KIND_CONNECTION : KIND_OTHER;
    case 14: return equalsLowerAscii(buf, a, 'content-length') ? KIND_CONTENT_LENGTH : KIND_OTHER;
    case 17: return equalsLowerAscii(buf, a, 'transfer-encoding') ? KIND_TRANSFER_ENCODING : KIND_OTHER;
    default: return KIND_OTHER;
  }
}

/** What the special fields of the last scanned section say; reset by interpretFields. */
export interface FieldFacts {
  contentLength: number;
  /** Count of Content-Length list elements over all lines; > 1 means identical duplicates were collapsed. */
  contentLengthElements: number;
  hasTransferEncoding: boolean;
  chunked: boolean;
  connectionTokens: string[];
  connectionClose: boolean;
  connectionKeepAlive: boolean;
  connectionUpgrade: boolean;
  hostCount: number;
  /** Field index of the first Host / Upgrade / Expect line, or -1. */
  hostField: number;
  /** Offset from the head start of the second Host line, for the duplicate-host error. */
  secondHostOffset: number;
  upgradeField: number;
  upgradeCount: number;
  expectField: number;
}

/** Placeholder while no Connection option was seen; never handed out (replaced by a fresh []). */
const NO_TOKENS: string[] = [];

export const fieldFacts: FieldFacts = {
  contentLength: -1, contentLengthElements: 0, hasTransferEncoding: false, chunked: false,
  connectionTokens: [], connectionClose: false, connectionKeepAlive: false, connectionUpgrade: false,
  hostCount: 0, hostField: -1, secondHostOffset: -1, upgradeField: -1, upgradeCount: 0, expectField: -1,
};

/**
 * Interprets the special fields of the last scan into `fieldFacts`, enforcing the
 * framing rules of RFC 9112 6 that close request smuggling:
 * - Content-Length is a list of 1*DIGIT up to 2^53-1; identical values (repeated lines or
 *   "5, 5") are collapsed as RFC 9110 8.6 allows, differing values are rejected.
 * - Transfer-Encoding must be exactly one `chunked` (case-insensitive, any number of lines
 *   counted together): chunked not final -> 400, chunked twice -> 400, another coding before
 *   a final chunked -> 501 (what nginx answers); never on HTTP/1.0 (RFC 9112 6.1).
 * - Content-Length together with Transfer-Encoding is rejected outright (RFC 9112 6.1 allows
 *   rejecting, and a proxy that forwards both invites desync).
 * `s` is the head as one latin1 string starting at Buffer offset `base`.
 */
export function interpretFields(
  buf: Buffer, s: string, base: number, versionMinor: number, side: MessageSide,
): HttpParseError | null {
  const facts = fieldFacts;
  facts.contentLength = -1;
  facts.contentLengthElements = 0;
  facts.hasTransferEncoding = false;
  facts.chunked = false;
  facts.connectionTokens = NO_TOKENS;
  facts.connectionClose = false;
  facts.connectionKeepAlive = false;
  facts.connectionUpgrade = false;
  facts.hostCount = 0;
  facts.hostField = -1;
  facts.secondHostOffset = -1;
  facts.upgradeField = -1;
  facts.upgradeCount = 0;
  facts.expectField = -1;
  const table = scannedFields.table;
  const n = scannedFields.count * SLOTS;
  let teChunked = 0;
  let teLastChunked = false;
  let teOther = 0;
  let teOffset = -1;
  for (let i = 0; i < n; i += SLOTS) {
    const kind = table[i + 4];
    if (kind === KIND_OTHER) continue;
    const vs = table[i + 2];
    const ve = table[i + 3];
    switch (kind) {
      case KIND_HOST:
        if (facts.hostCount === 0) facts.hostField = i / SLOTS;
        else if (facts.hostCount === 1) facts.secondHostOffset = table[i] - base;
        facts.hostCount++;
        break;
      case KIND_UPGRADE:
        if (facts.upgradeCount++ === 0) facts.upgradeField = i / SLOTS;
        break;
      case KIND_EXPECT:
        if (facts.expectField < 0) facts.expectField = i / SLOTS;
        break;
      case KIND_CONTENT_LENGTH: {
        const err = readContentLength(buf, vs, ve, base, side);
        if (err !== null) return err;
        break;
      }
      case KIND_CONNECTION: {
        const err = readConnection(buf, s, vs, ve, base, side);
        if (err !== null) return err;
        break;
      }
      case KIND_TRANSFER_ENCODING: {
        if (teOffset < 0) teOffset = table[i] - base;
        facts.hasTransferEncoding = true;
        // Elements are walked here rather than in a helper so the four counters stay locals.
        let p = vs;
        for (;;) {
          while (p < ve && (buf[p] === SP || buf[p] === HTAB)) p++;
          const a = p;
          while (p < ve && TOKEN_[buf[p]] === 1) p++;
          const b = p;
          while (p < ve && (buf[p] === SP || buf[p] === HTAB)) p++;
          if (a === b || (p < ve && buf[p] !== COMMA)) {
            return httpParseError('http1.invalid-transfer-encoding', side, (p < ve ? p : a) - base);
          }
          if (b - a === 7 && equalsLowerAscii(buf, a, 'chunked')) {
            teChunked++;
            teLastChunked = true;
          } else {
            teOther++;
            teLastChunked = false;
          }
          if (p >= ve) break;
          p++;
        }
        break;
      }
    }
  }
  if (facts.connectionTokens === NO_TOKENS) facts.connectionTokens = [];
  if (facts.hasTransferEncoding) {
    if (facts.contentLengthElements > 0) return httpParseError('http1.both-cl-and-te', side, teOffset);
    if (versionMinor === 0) return httpParseError('http1.te-on-http10', side, teOffset);
    if (teChunked > 1) return httpParseError('http1.te-chunked-repeated', side, teOffset);
    if (!teLastChunked) return httpParseError('http1.te-chunked-not-final', side, teOffset);
    if (teOther > 0) return httpParseError('http1.te-unsupported', side, teOffset);
    facts.chunked = true;
  }
  return null;
}

/** Content-Length = 1#(1*DIGIT) with all elements equal (RFC 9110 8.6). */
function readContentLength(buf: Buffer, vs: number, ve: number, base: number, side: MessageSide): HttpParseError | null {
  const facts = fieldFacts;
  let p = vs;
  for (;;) {
    while (p < ve && (buf[p] === SP || buf[p] === HTAB)) p++;
    const a = p;
    let v = 0;
    while (p < ve) {
      const d = buf[p] - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      // Past 2^53-1 doubles stop being exact; the first step over the bound is still > it.
      if (v > Number.MAX_SAFE_INTEGER) return httpParseError('http1.content-length-too-large', side, a - base);
      p++;
    }
    const b = p;
    while (p < ve && (buf[p] === SP || buf[p] === HTAB)) p++;
    if (a === b || (p < ve && buf[p] !== COMMA)) {
      return httpParseError('http1.invalid-content-length', side, (p < ve ? p : a) - base);
    }
    if (facts.contentLengthElements > 0 && v !== facts.contentLength) {
      return httpParseError('http1.conflicting-content-length', side, a - base);
    }
    facts.contentLength = v;
    facts.contentLengthElements++;
    if (p >= ve) return null;
    p++;
  }
}

/**
 * Connection = #connection-option (RFC 9110 7.6.1): tokens, lowercased. The three options
 * that matter to us come out as constants, so the common case allocates no string.
 * Empty list elements are skipped (RFC 9110 5.6.1); anything that is not a token is rejected.
 */
function readConnection(
  buf: Buffer, s: string, vs: number, ve: number, base: number, side: MessageSide,
): HttpParseError | null {
  const facts = fieldFacts;
  let p = vs;
  for (;;) {
    while (p < ve && (buf[p] === SP || buf[p] === HTAB)) p++;
    const a = p;
    while (p < ve && TOKEN_[buf[p]] === 1) p++;
    const b = p;
    while (p < ve && (buf[p] === SP || buf[p] === HTAB)) p++;
    if (p < ve && buf[p] !== COMMA) return httpParseError('http1.invalid-connection', side, p - base);
    const len = b - a;
    let token: string;
    if (len === 5 && equalsLowerAscii(buf, a, 'close')) {
      facts.connectionClose = true;
      token = 'close';
    } else if (len === 10 && equalsLowerAscii(buf, a, 'keep-alive')) {
      facts.connectionKeepAlive = true;
      token = 'keep-alive';
    } else if (len === 7 && equalsLowerAscii(buf, a, 'upgrade')) {
      facts.connectionUpgrade = true;
      token = 'upgrade';
    } else {
      token = len > 0 ? s.slice(a - base, b - base).toLowerCase() : '';
    }
    if (len > 0) {
      // A literal holding a string starts with the right elements kind; push onto an
      // empty [] would pay a kind transition (measured ~30 ns per head).
      if (facts.connectionTokens === NO_TOKENS) facts.connectionTokens = [token];
      else facts.connectionTokens.push(token);
    }
    if (p >= ve) return null;
    p++;
  }
}

/**
 * The flat [name, value, ...] list of the last scanned section, names as received and values
 * OWS-trimmed. When duplicate Content-Length values were collapsed, only the first
 * Content-Length line is kept and its value is the single decimal, so what is forwarded
 * carries one unambiguous length.
 */
export function buildFieldList(s: string, base: number): string[] {
  const table = scannedFields.table;
  const count = scannedFields.count;
  if (fieldFacts.contentLengthElements > 1) return buildCollapsedFieldList(s, base);
  // Pre-sized and filled by index: measured 107 ns against 151 ns with push for 6 fields.
  const out: string[] = new Array(count * 2);
  for (let f = 0, i = 0; f < count; f++, i += SLOTS) {
    out[2 * f] = s.slice(table[i] - base, table[i + 1] - base);
    out[2 * f + 1] = s.slice(table[i + 2] - base, table[i + 3] - base);
  }
  return out;
}

/** The rare case of collapsed duplicate Content-Length values: keep one line with the single value. */
function buildCollapsedFieldList(s: string, base: number): string[] {
  const table = scannedFields.table;
  const n = scannedFields.count * SLOTS;
  const out: string[] = [];
  let clSeen = false;
  for (let i = 0; i < n; i += SLOTS) {
    if (table[i + 4] === KIND_CONTENT_LENGTH) {
      if (clSeen) continue;
      clSeen = true;
      out.push(s.slice(table[i] - base, table[i + 1] - base), String(fieldFacts.contentLength));
      continue;
    }
    out.push(s.slice(table[i] - base, table[i + 1] - base), s.slice(table[i + 2] - base, table[i + 3] - base));
  }
  return out;
}

/** Value of field `index` of the last scan, as a slice of `s`. */
export function fieldValue(s: string, base: number, index: number): string {
  const table = scannedFields.table;
  const i = index * SLOTS;
  return s.slice(table[i + 2] - base, table[i + 3] - base);
}

/** Values of all fields of `kind`, joined with ", " (RFC 9110 5.3 list combination). */
export function joinedFieldValues(s: string, base: number, kind: number): string {
  const table = scannedFields.table;
  const n = scannedFields.count * SLOTS;
  let out = '';
  for (let i = 0; i < n; i += SLOTS) {
    if (table[i + 4] !== kind) continue;
    const v = s.slice(table[i + 2] - base, table[i + 3] - base);
    out = out === '' ? v : out + ', ' + v;
  }
  return out;
}
