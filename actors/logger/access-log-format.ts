/**
 * Compiles an nginx-style access log format ("$remote... $status") into a
 * function from one AccessEntry to a line, once per config: per record the
 * logger only concatenates. JSON mode writes one object per line with every
 * variable the format names.
 */
import type { AccessEntry } from './access-entry.js';

type Part = string | ((e: AccessEntry) => string);

const VARIABLE = /\$([A-Za-z_][A-Za-z0-9_]*)/g;

function ms3(ms: number): string {
  return ms < 0 ? '-' : (ms / 1000).toFixed(3);
}

function variable(name: string, headerIndex: Map<string, number>): (e: AccessEntry) => string {
  switch (name) {
    case 'time_iso8601': return (e) => new Date(e.time).toISOString();
    case 'client_addr': return (e) => e.clientAddress;
    case 'client_port': return (e) => String(e.clientPort);
    case 'request_method': return (e) => e.method;
    case 'request_uri': return (e) => e.uri;
    case 'protocol': return (e) => e.protocol;
    case 'status': return (e) => String(e.status);
    case 'bytes_sent': return (e) => String(e.bytesSent);
    case 'bytes_received': return (e) => String(e.bytesReceived);
    case 'request_time': return (e) => ms3(e.requestTimeMs);
    case 'upstream_addr': return (e) => e.upstreamAddress;
    case 'upstream_connect_time': return (e) => ms3(e.upstreamConnectMs);
    case 'upstream_response_time': return (e) => ms3(e.upstreamResponseMs);
    case 'route': return (e) => e.route;
    case 'worker_id': return (e) => String(e.workerId);
    case 'tls_sni': return (e) => e.tlsSni || '-';
    case 'request_id': return (e) => e.requestId;
    case 'api_key_name': return (e) => e.apiKeyName || '-';
    default: {
      // $http_user_agent, $http_referer, $http_<name>: nginx spells '-' as '_'.
      const i = headerIndex.get(name.slice(5).replace(/_/g, '-'));
      return (e) => (i === undefined ? '-' : e.headerValues[i] ?? '-');
    }
  }
}

/** The request headers a format needs, lowercase: the worker copies only these into the record. */
export function headersNeeded(format: string): string[] {
  const names: string[] = [];
  for (const m of format.matchAll(VARIABLE)) {
    const v = m[1]!;
    if (v.startsWith('http_')) {
      const h = v.slice(5).replace(/_/g, '-');
      if (!names.includes(h)) names.push(h);
    }
  }
  return names;
}

/**
 * Identifies a header list (FNV-1a, 32 bits, over the names joined by
 * newlines): 4-5 bytes per record instead of the names. 0 for no headers.
 */
export function headerSetId(headers: readonly string[]): number {
  if (headers.length === 0) return 0;
  const text = headers.join('\n');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) || 1;
}

/**
 * `carried`: the headers the entries hold in headerValues, in order;
 * default the ones this format needs (what a producer on the same format
 * captures). A header the format names but the entries do not carry is "-".
 */
export function compileAccessFormat(format: string, json: boolean, carried: readonly string[] = headersNeeded(format)): (e: AccessEntry) => string {
  const headerIndex = new Map(carried.map((h, i) => [h, i]));
  if (json) {
    const fields: Array<[string, (e: AccessEntry) => string]> = [];
    for (const m of format.matchAll(VARIABLE)) fields.push([m[1]!, variable(m[1]!, headerIndex)]);
    return (e) => {
      const o: Record<string, string | number> = {};
      for (const [k, f] of fields) {
        const v = f(e);
        o[k] = k === 'status' || k === 'bytes_sent' || k === 'bytes_received' || k === 'client_port' ? Number(v) : v;
      }
      return JSON.stringify(o) + '\n';
    };
  }
  const parts: Part[] = [];
  let last = 0;
  for (const m of format.matchAll(VARIABLE)) {
    if (m.index! > last) parts.push(format.slice(last, m.index));
    parts.push(variable(m[1]!, headerIndex));
    last = m.index! + m[0].length;
  }
  if (last < format.length) parts.push(format.slice(last));
  return (e) => {
    let line = '';
    for (const p of parts) line += typeof p === 'string' ? p : p(e);
    return line + '\n';
  };
}
