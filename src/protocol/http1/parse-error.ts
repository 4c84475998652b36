/**
 * Typed parse errors of the HTTP/1.1 codec. Every error has a stable `code`,
 * the status the session should answer with, and a short human message that can
 * go into the response body. The same code maps to a request status (400, 414,
 * 431, 501, 505) when a client sent it and to 502 when an upstream sent it,
 * because a broken upstream response is always a Bad Gateway for our client.
 * Errors are plain records (no class) so they survive postMessage between actors.
 */

export type HttpParseStatus = 400 | 413 | 414 | 431 | 501 | 505 | 502;

/** Which peer sent the bytes: decides the status (requests: per code, responses: 502). */
export type MessageSide = 'request' | 'response';

export interface HttpParseError {
  readonly code: HttpParseErrorCode;
  readonly status: HttpParseStatus;
  readonly message: string;
  /** Byte offset, from the `start` the parser was given, of the byte that showed the fault. */
  readonly offset: number;
}

/**
 * code -> [status when a client sent it, message]. The codes are part of the
 * API: logs, metrics and tests branch on them, so they never change meaning.
 */
const CATALOGUE = {
  'http1.bare-lf': [400, 'bare LF without CR in message framing'],
  'http1.bare-cr': [400, 'bare CR not followed by LF'],
  'http1.too-many-empty-lines': [400, 'too many empty lines before the request line'],
  'http1.invalid-method': [400, 'invalid request method'],
  'http1.invalid-target': [400, 'invalid request target'],
  'http1.invalid-version': [400, 'invalid HTTP version'],
  'http1.version-not-supported': [505, 'HTTP version not supported'],
  'http1.request-line-too-long': [414, 'request line too long'],
  'http1.invalid-status-line': [502, 'invalid status line'],
  'http1.status-line-too-long': [502, 'status line too long'],
  'http1.head-too-large': [431, 'header section too large'],
  'http1.too-many-headers': [431, 'too many header fields'],
  'http1.obs-fold': [400, 'obsolete line folding or whitespace before a field line'],
  'http1.empty-header-name': [400, 'empty header field name'],
  'http1.invalid-header-name': [400, 'invalid character in header field name'],
  'http1.space-before-colon': [400, 'whitespace between header field name and colon'],
  'http1.header-without-colon': [400, 'header field line without a colon'],
  'http1.invalid-header-value': [400, 'invalid character in header field value'],
  'http1.both-cl-and-te': [400, 'both Content-Length and Transfer-Encoding present'],
  'http1.invalid-content-length': [400, 'invalid Content-Length'],
  'http1.conflicting-content-length': [400, 'conflicting Content-Length values'],
  'http1.content-length-too-large': [400, 'Content-Length too large'],
  'http1.invalid-transfer-encoding': [400, 'invalid Transfer-Encoding'],
  'http1.te-chunked-not-final': [400, 'chunked is not the final transfer coding'],
  'http1.te-chunked-repeated': [400, 'chunked transfer coding applied more than once'],
  'http1.te-unsupported': [501, 'transfer coding not implemented'],
  'http1.te-on-http10': [400, 'Transfer-Encoding in an HTTP/1.0 message'],
  'http1.invalid-connection': [400, 'invalid Connection header field'],
  'http1.missing-host': [400, 'missing Host header field'],
  'http1.duplicate-host': [400, 'more than one Host header field'],
  'http1.invalid-host': [400, 'invalid Host header field'],
  'http1.chunk-size-invalid': [400, 'invalid chunk size'],
  'http1.chunk-size-too-large': [400, 'chunk size too large'],
  'http1.chunk-ext-invalid': [400, 'invalid chunk extension'],
  'http1.chunk-line-too-long': [400, 'chunk size line too long'],
  'http1.chunk-data-unterminated': [400, 'chunk data not followed by CRLF'],
  'http1.trailers-too-large': [431, 'trailer section too large'],
} as const satisfies Record<string, readonly [HttpParseStatus, string]>;

export type HttpParseErrorCode = keyof typeof CATALOGUE;

/** Builds the error for `code` as sent by `side`; offset is relative to the parser's start. */
export function httpParseError(code: HttpParseErrorCode, side: MessageSide, offset: number): HttpParseError {
  const entry = CATALOGUE[code];
  return { code, status: side === 'response' ? 502 : entry[0], message: entry[1], offset };
}

/** A client-side error (status from the catalogue). */
export function requestError(code: HttpParseErrorCode, offset: number): HttpParseError {
  return httpParseError(code, 'request', offset);
}

/** An upstream-side error (always 502). */
export function responseError(code: HttpParseErrorCode, offset: number): HttpParseError {
  return httpParseError(code, 'response', offset);
}

/** Tells a parse result apart from an error: only errors carry `code`. */
export function isHttpParseError(value: unknown): value is HttpParseError {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}
