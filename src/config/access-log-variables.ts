/**
 * The variables an access log format may use. The logger fills them; the
 * config loader rejects a format naming any other (a typo would otherwise log
 * the literal text forever).
 */

export const ACCESS_LOG_VARIABLES = [
  'time_iso8601',
  'client_addr',
  'client_port',
  'request_method',
  'request_uri',
  'protocol',
  'status',
  'bytes_sent',
  'bytes_received',
  'request_time',
  'upstream_addr',
  'upstream_connect_time',
  'upstream_response_time',
  'route',
  'worker_id',
  'http_user_agent',
  'http_referer',
  'tls_sni',
  'request_id',
] as const;

export type AccessLogVariable = (typeof ACCESS_LOG_VARIABLES)[number];

/** `$http_<name>`: any request header, lowercase with "-" written as "_" (as in nginx). */
export const ACCESS_LOG_HEADER_PREFIX = 'http_';

// Variable names end at the first character that cannot be part of one, as in nginx.
const VARIABLE = /\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The `$names` a format uses that the logger does not know, in order of appearance. */
export function unknownAccessLogVariables(format: string): string[] {
  const known = new Set<string>(ACCESS_LOG_VARIABLES);
  const unknown: string[] = [];
  for (const match of format.matchAll(VARIABLE)) {
    const name = match[1];
    if (known.has(name)) continue;
    if (name.startsWith(ACCESS_LOG_HEADER_PREFIX) && name.length > ACCESS_LOG_HEADER_PREFIX.length && name === name.toLowerCase()) continue;
    unknown.push(name);
  }
  return unknown;
}
