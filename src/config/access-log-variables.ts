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
  'api_key_name',
] as const;

export type AccessLogVariable = (typeof ACCESS_LOG_VARIABLES)[number];

/** What each variable holds (docs/configuration.md lists these). Missing values are logged as "-", as nginx does. */
export const ACCESS_LOG_VARIABLE_DESCRIPTIONS: Record<AccessLogVariable, string> = {
  time_iso8601: 'time the request started, ISO 8601 with milliseconds (2025-01-31T12:00:00.000Z)',
  client_addr: 'client IP address',
  client_port: 'client TCP port',
  request_method: 'request method (GET)',
  request_uri: 'request target as received, with the query string',
  protocol: 'HTTP version (HTTP/1.1, HTTP/2.0), or TCP/TLS for stream listeners',
  status: 'response status sent to the client',
  bytes_sent: 'bytes sent to the client, headers included',
  bytes_received: 'bytes received from the client, headers included',
  request_time: 'seconds from the first request byte to the last response byte, millisecond resolution (0.012)',
  upstream_addr: 'host:port of the upstream server used',
  upstream_connect_time: 'seconds spent connecting to the upstream (0 for a pooled connection)',
  upstream_response_time: 'seconds from sending the request upstream to the last response byte',
  route: 'name of the matched route (or the stream listener)',
  worker_id: 'index of the worker that served the request',
  http_user_agent: 'User-Agent request header',
  http_referer: 'Referer request header',
  tls_sni: 'server name the client sent in its TLS ClientHello',
  request_id: 'unique id of the request',
  api_key_name: 'name of the API key the api-key middleware accepted (never the key)',
};

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
