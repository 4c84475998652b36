/**
 * Response head parser for upstream responses (RFC 9112 4, 6.3). Same strictness
 * on field bytes as requests; every fault is a 502 because our client must never
 * receive a response whose framing we could read differently than the upstream meant.
 */
import {
  FIELD_VALUE, latin1,
} from './char-classes.js';
import {
  KIND_UPGRADE, buildFieldList, fieldFacts, fieldValue, interpretFields, joinedFieldValues, scanFieldSection,
} from './field-section.js';
import { responseError, type HttpParseError } from './parse-error.js';
import type { HeadLimits } from './limits.js';

// Byte values and tables as module-local consts (not imports): see char-classes.ts.
const FIELD_VALUE_ = FIELD_VALUE;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

/**
 * How the response body is delimited (RFC 9112 6.3): 'none' (HEAD, 1xx, 204, 304, CONNECT 2xx),
 * 'chunked', 'length' (contentLength bytes), or 'close' (until the upstream closes).
 */
export type ResponseBodyKind = 'none' | 'length' | 'chunked' | 'close';

export interface ResponseHead {
  status: number;
  reason: string;
  versionMinor: 0 | 1;
  /** Flat [name, value, ...]: names as received, values OWS-trimmed. */
  headers: string[];
  headBytes: number;
  bodyKind: ResponseBodyKind;
  /** Content-Length when present (also for HEAD/304, where it describes the GET body), else -1. */
  contentLength: number;
  /** False when the upstream connection cannot be reused: Connection: close, HTTP/1.0 without keep-alive, or a close-delimited body. */
  keepAlive: boolean;
  connectionTokens: string[];
  /** The Upgrade value when Connection lists `upgrade` (meaningful with 101). */
  upgrade: string | undefined;
}

/**
 * Parses the response head in buf[start, end) for a request made with `requestMethod`.
 * Returns the head, a 502 error, or null when more bytes are needed. 1xx heads are returned
 * like any other (bodyKind 'none'); the caller parses the final response after them.
 * The status line is bounded by limits.maxRequestLineBytes.
 */
export function parseResponseHead(
  buf: Buffer, start: number, end: number, limits: HeadLimits, requestMethod: string,
): ResponseHead | HttpParseError | null {
  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF (RFC 9112 4).
  // Fixed part "HTTP/1.1 200" is 12 bytes; checked as far as bytes are there.
  const lineMax = start + limits.maxRequestLineBytes;
  const avail = end - start < 12 ? end - start : 12;
  for (let i = 0; i < avail; i++) {
    const c = buf[start + i];
    if (!statusLineByteOk(i, c)) {
      return responseError(c === LF ? 'http1.bare-lf' : i === 5 || i === 7 ? versionFault(buf, start, i) : 'http1.invalid-status-line', i);
    }
  }
  if (avail < 12) return null;
  const versionMinor = buf[start + 7] - 0x30;
  const status = (buf[start + 9] - 0x30) * 100 + (buf[start + 10] - 0x30) * 10 + (buf[start + 11] - 0x30);
  if (status < 100) return responseError('http1.invalid-status-line', 9);

  let p = start + 12;
  const stop = end < lineMax ? end : lineMax;
  let reasonStart = p;
  let reasonEnd = p;
  if (p < stop && buf[p] === SP) {
    // Reason phrase: HTAB / SP / VCHAR / obs-text. A missing " reason" is tolerated: it
    // cannot change framing, and real servers send "HTTP/1.1 200\r\n".
    reasonStart = ++p;
    while (p < stop && FIELD_VALUE_[buf[p]] !== 0) p++;
    reasonEnd = p;
  }
  if (p >= end) return null; // here p <= lineMax: nothing is known to be too long yet
  const c = buf[p];
  if (c !== CR) {
    if (p >= lineMax) return responseError('http1.status-line-too-long', lineMax - start);
    return responseError(c === LF ? 'http1.bare-lf' : 'http1.invalid-status-line', p - start);
  }
  if (p + 1 >= end) return null;
  if (buf[p + 1] !== LF) return responseError('http1.bare-cr', p - start);
  p += 2;

  const headEnd = scanFieldSection(buf, p, end, start, limits, 'response');
  if (typeof headEnd !== 'number') return headEnd;
  if (headEnd < 0) return null;

  const s = latin1(buf, start, headEnd);
  const fault = interpretFields(buf, s, start, versionMinor, 'response');
  if (fault !== null) return fault;
  const facts = fieldFacts;

  let bodyKind: ResponseBodyKind;
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) bodyKind = 'none';
  else if (requestMethod === 'CONNECT' && status < 300) bodyKind = 'none';
  else if (facts.chunked) bodyKind = 'chunked';
  else if (facts.contentLength >= 0) bodyKind = 'length';
  else bodyKind = 'close';

  const persistent = versionMinor === 1 ? !facts.connectionClose : facts.connectionKeepAlive && !facts.connectionClose;
  let upgrade: string | undefined;
  if (facts.connectionUpgrade && facts.upgradeCount > 0) {
    upgrade = facts.upgradeCount === 1 ? fieldValue(s, start, facts.upgradeField) : joinedFieldValues(s, start, KIND_UPGRADE);
  }
  return {
    status,
    reason: reasonPhrase(s, reasonStart - start, reasonEnd - start),
    versionMinor: versionMinor as 0 | 1,
    headers: buildFieldList(s, start),
    headBytes: headEnd - start,
    bodyKind,
    contentLength: facts.contentLength,
    keepAlive: persistent && bodyKind !== 'close',
    connectionTokens: facts.connectionTokens,
    upgrade,
  };
}

/** "OK" (the reason of most responses) as a shared constant instead of a fresh two-byte copy. */
function reasonPhrase(s: string, a: number, b: number): string {
  if (b - a === 2 && s.charCodeAt(a) === 0x4f && s.charCodeAt(a + 1) === 0x4b) return 'OK';
  return a === b ? '' : s.slice(a, b);
}

/** "HTTP/1." then the minor digit 0/1, SP, three digits. */
const FIXED = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, -1, SP, -2, -2, -2];

function statusLineByteOk(i: number, c: number): boolean {
  const want = FIXED[i];
  if (want === -1) return c === 0x30 || c === 0x31;
  if (want === -2) return c >= 0x30 && c <= 0x39;
  return c === want;
}

/** A well-formed HTTP/D.D other than 1.0/1.1 is an unsupported version; else the line is garbage. */
function versionFault(buf: Buffer, start: number, i: number): 'http1.version-not-supported' | 'http1.invalid-status-line' {
  const c = buf[start + i];
  return c >= 0x30 && c <= 0x39 ? 'http1.version-not-supported' : 'http1.invalid-status-line';
}

