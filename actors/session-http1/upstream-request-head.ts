/**
 * Builds the request head zproxy sends upstream, in one pass over the
 * received fields: hop-by-hop fields (RFC 9110 7.6.1) and those named in
 * Connection are dropped, framing fields are kept exactly as validated (the
 * body is forwarded byte for byte, so upstream frames it as we did), and the
 * forwarding fields are added. Returned as one latin1 string: one write, one
 * syscall with the first body bytes (cork).
 */

export interface ForwardingInfo {
  readonly clientAddress: string;
  /** 'http' or 'https': what the client spoke to us. */
  readonly proto: string;
  /** Host header to send upstream (rewrite, absolute-form authority), or undefined to keep the Host field. */
  readonly hostOverride: string | undefined;
  /**
   * The host the request was routed on: the Host field, or the authority of
   * an absolute-form target, which replaces Host (RFC 9112 3.2.2). Sent as
   * X-Forwarded-Host, so the upstream never sees another host there than the
   * one the route matched.
   */
  readonly requestHost: string | undefined;
  /** True for an Upgrade (WebSocket) request: Upgrade and Connection: upgrade are kept. */
  readonly upgrade: boolean;
}

/** The Via pseudonym (RFC 9110 7.6.3). */
const VIA = '1.1 zproxy';

export function eqLower(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/**
 * Hop-by-hop by definition (RFC 9110 7.6.1). Transfer-Encoding is hop-by-hop
 * too but it is framing: kept because the body is forwarded unchanged.
 */
function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2: return eqLower(name, 'te');
    case 7: return eqLower(name, 'trailer') || eqLower(name, 'upgrade');
    case 10: return eqLower(name, 'connection', ) || eqLower(name, 'keep-alive');
    case 16: return eqLower(name, 'proxy-connection');
    case 18: return eqLower(name, 'proxy-authenticate');
    case 19: return eqLower(name, 'proxy-authorization');
    default: return false;
  }
}

/** Connection may name fields to drop, but never the framing or Host: that would let a client change how upstream frames the body. */
function droppableToken(token: string): boolean {
  return token !== 'content-length' && token !== 'transfer-encoding' && token !== 'host';
}

export function buildUpstreamHead(method: string, target: string, headers: readonly string[], connectionTokens: readonly string[], info: ForwardingInfo): string {
  let head = method + ' ' + target + ' HTTP/1.1\r\n';
  let xff = '';
  let host: string | undefined;
  const hasTokens = connectionTokens.length > 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (isHopByHop(name)) continue;
    if (name.length === 4 && eqLower(name, 'host')) {
      host = value;
      continue;
    }
    if (name.length === 15 && eqLower(name, 'x-forwarded-for')) {
      xff = xff === '' ? value : xff + ', ' + value;
      continue;
    }
    if ((name.length === 17 && eqLower(name, 'x-forwarded-proto')) || (name.length === 16 && eqLower(name, 'x-forwarded-host'))) continue;
    if (hasTokens) {
      const lower = name.toLowerCase();
      if (connectionTokens.includes(lower) && droppableToken(lower)) continue;
    }
    head += name + ': ' + value + '\r\n';
  }
  const outHost = info.hostOverride ?? host;
  if (outHost !== undefined) head += 'host: ' + outHost + '\r\n';
  head += 'x-forwarded-for: ' + (xff === '' ? info.clientAddress : xff + ', ' + info.clientAddress) + '\r\n';
  head += 'x-forwarded-proto: ' + info.proto + '\r\n';
  if (info.requestHost !== undefined) head += 'x-forwarded-host: ' + info.requestHost + '\r\n';
  head += 'via: ' + VIA + '\r\n';
  if (info.upgrade) {
    const up = findValue(headers, 'upgrade');
    if (up !== undefined) head += 'upgrade: ' + up + '\r\nconnection: upgrade\r\n';
  }
  return head + '\r\n';
}

/**
 * Builds the response head sent to the client from the upstream's fields:
 * hop-by-hop dropped, framing per `framing` ('keep' the upstream's framing
 * fields, 'chunk' replace them by chunked, 'none' drop them: the body ends at
 * close), Via appended, keep-alive decided by the client connection (not by
 * the upstream's).
 */
export function buildClientHead(status: number, reason: string, headers: readonly string[], connectionTokens: readonly string[], framing: 'keep' | 'chunk' | 'none', keepAlive: boolean, requestId: string | undefined, clientVersionMinor = 1): string {
  let head = 'HTTP/1.1 ' + status + ' ' + reason + '\r\n';
  const hasTokens = connectionTokens.length > 0;
  let via = '';
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (isHopByHop(name)) continue;
    if (framing !== 'keep' && (eqLower(name, 'content-length') || eqLower(name, 'transfer-encoding'))) continue;
    if (name.length === 3 && eqLower(name, 'via')) {
      via = via === '' ? value : via + ', ' + value;
      continue;
    }
    if (hasTokens) {
      const lower = name.toLowerCase();
      if (connectionTokens.includes(lower) && droppableToken(lower)) continue;
    }
    head += name + ': ' + value + '\r\n';
  }
  head += 'via: ' + (via === '' ? VIA : via + ', ' + VIA) + '\r\n';
  if (framing === 'chunk') head += 'transfer-encoding: chunked\r\n';
  if (requestId !== undefined) head += 'x-request-id: ' + requestId + '\r\n';
  if (!keepAlive) head += 'connection: close\r\n';
  // An HTTP/1.0 client closes after the response unless it says keep-alive (RFC 9112 9.3).
  else if (clientVersionMinor === 0) head += 'connection: keep-alive\r\n';
  return head + '\r\n';
}

function findValue(headers: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (eqLower(headers[i]!, lower)) return headers[i + 1];
  return undefined;
}
