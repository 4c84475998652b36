/**
 * WebSocket over HTTP/2 (RFC 8441): an extended CONNECT stream
 * (:protocol websocket), already routed and passed through the middleware
 * by its H2Exchange, tunnelled to an HTTP/1.1 upstream as an Upgrade:
 * websocket request. The upstream's 101 becomes :status 200 on the stream,
 * then bytes are copied both ways with backpressure (a full stream pauses
 * the upstream socket, a full socket pauses the stream). Any other answer
 * ends the stream with that status. Owns the upstream connection's events
 * while it lives; the exchange owns the connection and the access record.
 */
import { randomBytes } from 'node:crypto';
import type { ServerHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { HeadLimits } from '../../src/protocol/http1/limits.js';
import { parseResponseHead, type ResponseHead } from '../../src/protocol/http1/response-head.js';
import type { HttpParseError } from '../../src/protocol/http1/parse-error.js';
import type { UpstreamConnection, UpstreamConnectionOwner } from '../upstream-pool/upstream-connection.js';

/** How the tunnel ended, for the exchange's access record and error answer. */
export type TunnelEnd =
  | { readonly kind: 'refused'; readonly status: number; readonly headers: OutgoingHttpHeaders }
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'closed' };

export interface H2WebSocketTunnelOwner {
  /** The upstream answered (101 or not): the read deadline is over. */
  tunnelAnswered(status: number): void;
  /** Bytes moved (either way): the idle deadline restarts. */
  tunnelActive(bytesIn: number, bytesOut: number): void;
  tunnelEnded(end: TunnelEnd): void;
}

/**
 * The upstream's Upgrade request fields from the extended CONNECT's fields
 * (RFC 8441 5): Sec-WebSocket-Version/Protocol/Extensions pass as they are,
 * a Sec-WebSocket-Key is generated (RFC 6455 4.1: a fresh random 16-byte
 * nonce; an HTTP/2 client sends none, and one it did send is not ours to reuse).
 */
export function upgradeFields(fields: readonly string[]): string[] {
  const out: string[] = [];
  let version = false;
  for (let i = 0; i < fields.length; i += 2) {
    const lower = fields[i]!.toLowerCase();
    if (lower === 'sec-websocket-key') continue;
    if (lower === 'sec-websocket-version') version = true;
    out.push(fields[i]!, fields[i + 1]!);
  }
  if (!version) out.push('sec-websocket-version', '13');
  out.push('upgrade', 'websocket', 'sec-websocket-key', randomBytes(16).toString('base64'));
  return out;
}

/** Response fields kept on the :status 200: the negotiated subprotocol and extensions. */
function acceptedHeaders(r: ResponseHead): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': 200 };
  for (let i = 0; i < r.headers.length; i += 2) {
    const lower = r.headers[i]!.toLowerCase();
    if (lower === 'sec-websocket-protocol' || lower === 'sec-websocket-extensions') out[lower] = r.headers[i + 1]!;
  }
  return out;
}

function isParseError(r: ResponseHead | HttpParseError): r is HttpParseError {
  return (r as HttpParseError).code !== undefined;
}

export class H2WebSocketTunnel implements UpstreamConnectionOwner {
  private headBuf: Buffer | undefined;
  private open = false;
  private ended = false;

  constructor(private readonly owner: H2WebSocketTunnelOwner, private readonly stream: ServerHttp2Stream, private readonly conn: UpstreamConnection, private readonly limits: HeadLimits) {
    conn.owner = this;
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.ended) return;
    if (this.open) {
      this.owner.tunnelActive(0, chunk.length);
      if (!this.stream.write(chunk)) this.conn.socket.pause();
      return;
    }
    const buf = this.headBuf === undefined ? chunk : Buffer.concat([this.headBuf, chunk]);
    const r = parseResponseHead(buf, 0, buf.length, this.limits, 'GET');
    if (r === null) {
      this.headBuf = buf;
      return;
    }
    this.headBuf = undefined;
    if (isParseError(r)) return this.end({ kind: 'failed', detail: 'invalid response from upstream' });
    if (r.status !== 101) {
      this.owner.tunnelAnswered(r.status);
      return this.end({ kind: 'refused', status: r.status < 200 ? 502 : r.status, headers: {} });
    }
    if (r.upgrade === undefined || r.upgrade.toLowerCase() !== 'websocket') return this.end({ kind: 'failed', detail: 'upstream switched to another protocol' });
    this.open = true;
    this.owner.tunnelAnswered(101);
    this.stream.respond(acceptedHeaders(r));
    this.stream.on('data', this.onStreamData);
    this.stream.on('end', this.onStreamEnd);
    this.stream.on('drain', () => this.conn.socket.resume());
    // Frames the upstream sent right after its 101.
    if (r.headBytes < buf.length) this.onUpstreamData(buf.subarray(r.headBytes));
  }

  onUpstreamDrain(): void {
    if (this.open && this.stream.isPaused()) this.stream.resume();
  }

  onUpstreamClose(error: Error | undefined): void {
    if (this.ended) return;
    if (!this.open) return this.end({ kind: 'failed', detail: error ? 'upstream connection reset' : 'upstream closed the connection before answering' });
    // A closed WebSocket connection ends the stream cleanly (its Close frame already went through).
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
    this.end({ kind: 'closed' });
  }

  private readonly onStreamData = (chunk: Buffer): void => {
    if (this.ended) return;
    this.owner.tunnelActive(chunk.length, 0);
    if (!this.conn.socket.write(chunk)) this.stream.pause(); // resumed by onUpstreamDrain
  };

  /** The client's END_STREAM: half-close towards the upstream; the tunnel ends when the upstream closes. */
  private readonly onStreamEnd = (): void => {
    if (!this.ended) this.conn.socket.end();
  };

  private end(end: TunnelEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.tunnelEnded(end);
  }
}
