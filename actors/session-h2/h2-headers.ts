/**
 * Header translation between an HTTP/2 stream and an HTTP/1.1 upstream.
 * Request: pseudo-header fields dropped (the request line carries them),
 * :authority becomes Host, split Cookie fields joined (RFC 9113 8.2.3).
 * Response: fields HTTP/2 forbids (connection-specific, RFC 9113 8.2.2) and
 * those the upstream's Connection names are dropped, Via is appended.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import { eqLower } from '../session-http1/upstream-request-head.js';

/** The Via pseudonym, as the HTTP/1.1 path writes it (RFC 9110 7.6.3). */
const VIA_H2 = '2.0 zproxy';

/**
 * Flat [name, value, ...] request fields for the upstream head, from the
 * stream's raw headers (pseudo-headers included, as node:http2 gives them).
 * Host comes first, from :authority (or a Host field when :authority is absent).
 * `bytes`: the size of that field section as HTTP/1.1 ("name: value\r\n" per
 * field), counted in the same pass, for server.limits.maxHeaderBytes.
 */
export function requestFieldsFromH2(rawHeaders: readonly string[]): { fields: string[]; authority: string | undefined; bytes: number } {
  const fields: string[] = [];
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  let bytes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':authority') {
        authority = value;
        bytes += 8 + value.length; // "host: " + value + CRLF
      }
      continue;
    }
    bytes += name.length + value.length + 4;
    if (name === 'host') { host ??= value; continue; }
    if (name === 'cookie') { cookie = cookie === undefined ? value : cookie + '; ' + value; continue; }
    // h2 forbids these (nghttp2 already refuses most); never let one reach the upstream's framing.
    if (name === 'transfer-encoding' || name === 'connection' || name === 'keep-alive' || name === 'proxy-connection' || name === 'upgrade') continue;
    fields.push(name, value);
  }
  const target = authority ?? host;
  const out = target !== undefined ? ['host', target] : [];
  for (const f of fields) out.push(f);
  if (cookie !== undefined) out.push('cookie', cookie);
  return { fields: out, authority: target, bytes };
}

/** Response fields that HTTP/2 forbids or that describe the upstream hop only. */
function connectionSpecific(lower: string): boolean {
  switch (lower) {
    case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade': case 'te': case 'trailer':
      return true;
    default:
      return false;
  }
}

/**
 * The HTTP/2 response header object for the upstream's flat fields.
 * `keepLength` keeps Content-Length (a length-framed body is forwarded whole).
 * Repeated fields become arrays (node:http2 sends each as its own field).
 */
export function responseHeadersForH2(status: number, fields: readonly string[], connectionTokens: readonly string[], keepLength: boolean, requestId: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  let via = '';
  for (let i = 0; i < fields.length; i += 2) {
    const lower = fields[i]!.toLowerCase();
    const value = fields[i + 1]!;
    if (connectionSpecific(lower) || connectionTokens.includes(lower)) continue;
    if (!keepLength && eqLower(lower, 'content-length')) continue;
    if (lower === 'via') { via = via === '' ? value : via + ', ' + value; continue; }
    const prev = out[lower];
    if (prev === undefined) out[lower] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[lower] = [String(prev), value];
  }
  out.via = via === '' ? VIA_H2 : via + ', ' + VIA_H2;
  out['x-request-id'] = requestId;
  return out;
}

/** Trailer fields (flat pairs from the chunked scanner) as a header object, minus the forbidden ones. */
export function trailersForH2(fields: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i < fields.length; i += 2) {
    const lower = fields[i]!.toLowerCase();
    if (connectionSpecific(lower) || lower === 'content-length') continue;
    const prev = out[lower];
    out[lower] = prev === undefined ? fields[i + 1]! : Array.isArray(prev) ? [...prev, fields[i + 1]!] : [String(prev), fields[i + 1]!];
  }
  return out;
}

/** Request trailers from node:http2 (an object) as an HTTP/1.1 chunked trailer section plus the final CRLF. */
export function chunkedTrailerSection(trailers: Record<string, string | string[] | undefined>): string {
  let s = '0\r\n';
  for (const [name, value] of Object.entries(trailers)) {
    if (name.charCodeAt(0) === 0x3a || value === undefined || connectionSpecific(name) || name === 'content-length') continue;
    for (const v of Array.isArray(value) ? value : [value]) s += name + ': ' + v + '\r\n';
  }
  return s + '\r\n';
}
