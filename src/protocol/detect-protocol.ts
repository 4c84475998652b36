/**
 * Classifies a connection from its first bytes, without consuming them: the
 * caller keeps the buffer and hands it to the session it picks.
 */
export type DetectedProtocol = 'tls' | 'h2-preface' | 'http1' | 'unknown' | 'need-more';

/** RFC 9113 3.4: the client connection preface. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** RFC 8446 5.1: a TLS record starts with content type 22 (handshake) and major version 3. */
const TLS_HANDSHAKE = 0x16;

/** RFC 9110 5.6.2 tchar, for the method token of an HTTP/1.x request line. */
function isTchar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
    || c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e
    || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

/** The longest method we wait for before calling the bytes unknown (extension methods are short tokens). */
const MAX_METHOD_PROBE = 24;

export function detectProtocol(buf: Buffer): DetectedProtocol {
  if (buf.length === 0) return 'need-more';
  const first = buf[0]!;
  if (first === TLS_HANDSHAKE) {
    if (buf.length < 2) return 'need-more';
    return buf[1] === 3 ? 'tls' : 'unknown';
  }
  if (first === 0x50 /* P */) {
    const n = Math.min(buf.length, H2_PREFACE.length);
    if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return n === H2_PREFACE.length ? 'h2-preface' : 'need-more';
  }
  // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
  let i = 0;
  while (i < buf.length && i < 4 && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  const start = i;
  for (; i < buf.length && i - start <= MAX_METHOD_PROBE; i++) {
    const c = buf[i]!;
    if (c === 0x20) return i > start ? 'http1' : 'unknown';
    if (!isTchar(c)) return 'unknown';
  }
  return i - start > MAX_METHOD_PROBE ? 'unknown' : 'need-more';
}
