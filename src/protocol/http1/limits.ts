/**
 * Size limits for an HTTP/1.1 message head (request or response). Exceeding
 * them is an error as soon as the limit is crossed, even before the head is
 * complete, so a slow client cannot make the parser hold more than this.
 */
export interface HeadLimits {
  /** Longest request line (or status line) in bytes, CRLF excluded; over it a request gets 414. */
  maxRequestLineBytes: number;
  /** Longest whole head in bytes: start line, fields, final CRLFCRLF and skipped leading CRLFs; over it 431. */
  maxHeaderBytes: number;
  /** Most header field lines in one head (trailer lines counted the same way); over it 431. */
  maxHeaderCount: number;
}

/**
 * Where the numbers come from:
 * - 8192 bytes per request line: nginx's default `large_client_header_buffers 4 8k`
 *   (a request line must fit one 8k buffer, else 414), also Node's old 8 KiB
 *   `--max-http-header-size`.
 * - 32768 bytes for the whole head: nginx's four 8k buffers together; Envoy's
 *   `max_request_headers_kb` default is 60 KiB and Node's current default is 16 KiB,
 *   so 32 KiB sits between them.
 * - 100 fields: Apache httpd's `LimitRequestFields` default and Envoy's
 *   `max_headers_count` default.
 * Keep maxRequestLineBytes <= maxHeaderBytes: an unfinished request line is
 * measured only against maxRequestLineBytes.
 */
export const DEFAULT_HEAD_LIMITS: Readonly<HeadLimits> = Object.freeze({
  maxRequestLineBytes: 8192,
  maxHeaderBytes: 32768,
  maxHeaderCount: 100,
});
