/**
 * Request head parser (RFC 9112 2-3, 5-6; RFC 9110 5, 7, 8.6). Stateless: call it
 * again with more bytes until it returns a head or an error. Strict by design:
 * every ambiguity that two HTTP implementations could resolve differently
 * (request smuggling) is an error, reported at the first byte that shows it.
 */
import {
  HOST, TARGET, TOKEN, equalsLowerAscii, latin1,
} from './char-classes.js';
import {
  FIELD_SLOTS, KIND_UPGRADE, buildFieldList, fieldFacts, fieldValue, interpretFields, joinedFieldValues,
  scanFieldSection, scannedFields,
} from './field-section.js';
import { requestError, type HttpParseError } from './parse-error.js';
import type { HeadLimits } from './limits.js';

// Byte values as module-local consts (not imports): see char-classes.ts.
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const SLASH = 0x2f;
const STAR = 0x2a;

export interface RequestHead {
  method: string;
  target: string;
  versionMinor: 0 | 1;
  /** Flat [name, value, name, value, ...]: names as received, values OWS-trimmed. */
  headers: string[];
  /** Bytes consumed from `start`: skipped leading CRLFs, request line, fields, final CRLF. */
  headBytes: number;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** HTTP/1.1: true unless Connection: close. HTTP/1.0: only with Connection: keep-alive. */
  keepAlive: boolean;
  host: string | undefined;
  expectContinue: boolean;
  /** The Upgrade value when Connection lists `upgrade` (HTTP/1.1 only, RFC 9110 7.8). */
  upgrade: string | undefined;
  /** Lowercased Connection options, for hop-by-hop removal. */
  connectionTokens: string[];
}

/**
 * RFC 9112 2.2 asks servers to ignore "at least one" empty line before the request
 * line (old clients add CRLF after a POST body); 4 is generous without letting a
 * peer stream empty lines for free.
 */
const MAX_LEADING_EMPTY_LINES = 4;

// Module-local aliases: see char-classes.ts for why hot loops do not use the imports directly.
const TOKEN_ = TOKEN;
const TARGET_ = TARGET;
const HOST_ = HOST;

/**
 * Parses the request head in buf[start, end).
 * Returns the head, an error (with the status to answer), or null when more bytes are
 * needed. An over-long request line (414), an over-long head (431), and bare CR/LF or
 * control bytes are reported as soon as they are seen, before the head is complete.
 */
export function parseRequestHead(
  buf: Buffer, start: number, end: number, limits: HeadLimits,
): RequestHead | HttpParseError | null {
  let p = start;
  let emptyLines = 0;
  while (p < end) {
    const c = buf[p];
    if (c !== CR) {
      if (c === LF) return requestError('http1.bare-lf', p - start);
      break;
    }
    if (p + 1 >= end) return null;
    if (buf[p + 1] !== LF) return requestError('http1.bare-cr', p - start);
    if (++emptyLines > MAX_LEADING_EMPTY_LINES) return requestError('http1.too-many-empty-lines', p - start);
    p += 2;
  }
  if (p >= end) return null;

  // Request line: method SP request-target SP HTTP-version CRLF, single spaces only (RFC 9112 3).
  const lineStart = p;
  const lineMax = lineStart + limits.maxRequestLineBytes; // the line's CR may sit at lineMax, no later
  const stop = end < lineMax ? end : lineMax;
  while (p < stop && TOKEN_[buf[p]] === 1) p++;
  if (p >= stop) return end <= lineMax ? null : requestError('http1.request-line-too-long', lineMax - start);
  if (buf[p] !== SP || p === lineStart) return lineFault(buf[p], 'http1.invalid-method', p - start);
  const methodEnd = p++;
  const targetStart = p;
  // Targets can be long (query strings): four bytes per step as in the field value loop.
  const stop4 = stop - 4;
  while (p <= stop4 && (TARGET_[buf[p]] & TARGET_[buf[p + 1]] & TARGET_[buf[p + 2]] & TARGET_[buf[p + 3]]) !== 0) p += 4;
  while (p < stop && TARGET_[buf[p]] === 1) p++;
  if (p >= stop) return end <= lineMax ? null : requestError('http1.request-line-too-long', lineMax - start);
  if (buf[p] !== SP || p === targetStart) {
    if (p === targetStart && buf[p] !== LF) return requestError('http1.invalid-target', p - start);
    return lineFault(buf[p], 'http1.invalid-target', p - start);
  }
  const targetEnd = p++;
  // HTTP-version is exactly 8 bytes; if its CR cannot fit under the limit the line is too long.
  if (p + 8 > lineMax) return requestError('http1.request-line-too-long', lineMax - start);
  const versionMinor = readVersion(buf, p, end);
  if (versionMinor < 0) return versionMinor === INCOMPLETE ? null : versionError(versionMinor, buf, p, start);
  p += 10;

  const targetFault = checkTarget(buf, lineStart, methodEnd, targetStart, targetEnd);
  if (targetFault >= 0) return requestError('http1.invalid-target', targetFault - start);

  const headEnd = scanFieldSection(buf, p, end, start, limits, 'request');
  if (typeof headEnd !== 'number') return headEnd;
  if (headEnd < 0) return null;

  const s = latin1(buf, start, headEnd);
  const fault = interpretFields(buf, s, start, versionMinor, 'request');
  if (fault !== null) return fault;
  const facts = fieldFacts;

  let host: string | undefined;
  if (facts.hostCount > 1) return requestError('http1.duplicate-host', facts.secondHostOffset);
  if (facts.hostCount === 1) {
    const hostFault = checkHost(buf, facts.hostField);
    if (hostFault >= 0) return requestError('http1.invalid-host', hostFault - start);
    host = fieldValue(s, start, facts.hostField);
  } else if (versionMinor === 1) {
    return requestError('http1.missing-host', headEnd - start);
  }

  const keepAlive = versionMinor === 1 ? !facts.connectionClose : facts.connectionKeepAlive && !facts.connectionClose;
  let upgrade: string | undefined;
  if (versionMinor === 1 && facts.connectionUpgrade && facts.upgradeCount > 0) {
    upgrade = facts.upgradeCount === 1 ? fieldValue(s, start, facts.upgradeField) : joinedFieldValues(s, start, KIND_UPGRADE);
  }
  return {
    method: methodName(buf, lineStart, methodEnd, s, start),
    target: s.slice(targetStart - start, targetEnd - start),
    versionMinor: versionMinor as 0 | 1,
    headers: buildFieldList(s, start),
    headBytes: headEnd - start,
    contentLength: facts.contentLength,
    chunked: facts.chunked,
    keepAlive,
    host,
    expectContinue: facts.expectField >= 0 && isContinueExpectation(buf, facts.expectField),
    upgrade,
    connectionTokens: facts.connectionTokens,
  };
}

const INCOMPLETE = -1;
const VERSION_GARBAGE = -2;
const VERSION_UNSUPPORTED = -3;
const VERSION_BARE_LF = -4;
const VERSION_BARE_CR = -5;
/** "HTTP/" as bytes; positions 5 and 7 are digits, 6 is '.', 8-9 CRLF. */
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];

/**
 * Reads `HTTP/D.D CRLF` at p (RFC 9112 2.3; the name is case-sensitive). Returns the minor
 * version (0 or 1) or a negative verdict. A well-formed version other than 1.0/1.1 is
 * "unsupported" (505); anything else is garbage (400). Checks as many bytes as are there.
 */
export function readVersion(buf: Buffer, p: number, end: number): number {
  // Fast path for the two versions we accept, complete: ten straight comparisons.
  if (end - p >= 10 && buf[p] === 0x48 && buf[p + 1] === 0x54 && buf[p + 2] === 0x54 && buf[p + 3] === 0x50 &&
    buf[p + 4] === 0x2f && buf[p + 5] === 0x31 && buf[p + 6] === 0x2e && buf[p + 8] === CR && buf[p + 9] === LF) {
    const minor = buf[p + 7] - 0x30;
    if (minor === 0 || minor === 1) return minor;
  }
  const avail = end - p < 10 ? end - p : 10;
  for (let i = 0; i < avail; i++) {
    const c = buf[p + i];
    if (i < 5) {
      if (c !== HTTP_SLASH[i]) return c === LF ? VERSION_BARE_LF : VERSION_GARBAGE;
    } else if (i === 5 || i === 7) {
      if (c < 0x30 || c > 0x39) return c === LF ? VERSION_BARE_LF : VERSION_GARBAGE;
    } else if (i === 6) {
      if (c !== 0x2e) return c === LF ? VERSION_BARE_LF : VERSION_GARBAGE;
    } else if (i === 8) {
      if (c !== CR) return c === LF ? VERSION_BARE_LF : VERSION_GARBAGE;
    } else if (c !== LF) {
      return VERSION_BARE_CR;
    }
  }
  if (avail < 10) return INCOMPLETE;
  if (buf[p + 5] !== 0x31 || buf[p + 7] > 0x31) return VERSION_UNSUPPORTED;
  return buf[p + 7] - 0x30;
}

function versionError(verdict: number, buf: Buffer, p: number, start: number): HttpParseError {
  switch (verdict) {
    case VERSION_UNSUPPORTED: return requestError('http1.version-not-supported', p - start);
    case VERSION_BARE_LF: return requestError('http1.bare-lf', buf.indexOf(LF, p) - start);
    case VERSION_BARE_CR: return requestError('http1.bare-cr', p + 8 - start);
    default: return requestError('http1.invalid-version', p - start);
  }
}

/** The byte that ended a method or target run was not the single SP the grammar wants. */
function lineFault(c: number, code: 'http1.invalid-method' | 'http1.invalid-target', offset: number): HttpParseError {
  if (c === LF) return requestError('http1.bare-lf', offset);
  // "GET /\r\n" is an HTTP/0.9 request line: the version is what is missing.
  if (c === CR && code === 'http1.invalid-target') return requestError('http1.invalid-version', offset);
  return requestError(code, offset);
}

/**
 * The four request-target forms of RFC 9112 3.2, each only where it belongs: origin-form
 * ('/...'), absolute-form (http/https URI), authority-form only for CONNECT, '*' only for
 * OPTIONS. Bytes were already limited to VCHAR. Returns the offending index or -1.
 */
function checkTarget(buf: Buffer, ms: number, me: number, ts: number, te: number): number {
  const first = buf[ts];
  if (me - ms === 7 && isMethod(buf, ms, 'CONNECT')) return checkAuthorityForm(buf, ts, te);
  if (first === SLASH) return -1;
  if (first === STAR) return te - ts === 1 && me - ms === 7 && isMethod(buf, ms, 'OPTIONS') ? -1 : ts;
  let p = ts;
  if (te - p > 7 && equalsLowerAscii(buf, p, 'http://')) p += 7;
  else if (te - p > 8 && equalsLowerAscii(buf, p, 'https://')) p += 8;
  else return ts;
  // Authority up to the path or query: non-empty, host characters only (no userinfo '@').
  const authorityStart = p;
  while (p < te && buf[p] !== SLASH && buf[p] !== 0x3f) {
    if (HOST_[buf[p]] !== 1) return p;
    p++;
  }
  return p === authorityStart ? p : -1;
}

/** authority-form = uri-host ":" port (RFC 9112 3.2.3): the port is mandatory. */
function checkAuthorityForm(buf: Buffer, ts: number, te: number): number {
  let colon = -1;
  for (let p = ts; p < te; p++) {
    const c = buf[p];
    if (HOST_[c] !== 1) return p;
    if (c === 0x3a) colon = p;
  }
  if (colon <= ts || colon === te - 1) return ts;
  for (let p = colon + 1; p < te; p++) {
    const c = buf[p];
    if (c < 0x30 || c > 0x39) return p;
  }
  return -1;
}

/** Host = uri-host [ ":" port ] (RFC 9110 7.2); empty is allowed when the target has no authority. */
function checkHost(buf: Buffer, field: number): number {
  const table = scannedFields.table;
  const ve = table[field * FIELD_SLOTS + 3];
  for (let p = table[field * FIELD_SLOTS + 2]; p < ve; p++) {
    if (HOST_[buf[p]] !== 1) return p;
  }
  return -1;
}

/** Expect: 100-continue (RFC 9110 10.1.1), case-insensitive. */
function isContinueExpectation(buf: Buffer, field: number): boolean {
  const table = scannedFields.table;
  const vs = table[field * FIELD_SLOTS + 2];
  return table[field * FIELD_SLOTS + 3] - vs === 12 && equalsLowerAscii(buf, vs, '100-continue');
}

function isMethod(buf: Buffer, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if (buf[at + i] !== name.charCodeAt(i)) return false;
  return true;
}

/** Standard methods come out as shared constant strings (no copy, fast equality later); others are sliced. */
function methodName(buf: Buffer, ms: number, me: number, s: string, base: number): string {
  switch (me - ms) {
    case 3:
      if (isMethod(buf, ms, 'GET')) return 'GET';
      if (isMethod(buf, ms, 'PUT')) return 'PUT';
      break;
    case 4:
      if (isMethod(buf, ms, 'POST')) return 'POST';
      if (isMethod(buf, ms, 'HEAD')) return 'HEAD';
      break;
    case 5:
      if (isMethod(buf, ms, 'PATCH')) return 'PATCH';
      if (isMethod(buf, ms, 'TRACE')) return 'TRACE';
      break;
    case 6:
      if (isMethod(buf, ms, 'DELETE')) return 'DELETE';
      break;
    case 7:
      if (isMethod(buf, ms, 'OPTIONS')) return 'OPTIONS';
      if (isMethod(buf, ms, 'CONNECT')) return 'CONNECT';
      break;
  }
  return s.slice(ms - base, me - base);
}
