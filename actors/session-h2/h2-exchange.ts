/**
 * One HTTP/2 stream proxied to an HTTP/1.1 upstream: routed with the
 * snapshot of the moment its HEADERS arrived, run through the route's
 * middleware chain, then forwarded on a pooled upstream connection. Flow
 * control is nghttp2's per stream; backpressure pauses the other side (a
 * full upstream socket pauses the stream, a full stream pauses the upstream).
 * Response body filters (Middleware.onResponseBody) sit between the upstream
 * payload and the stream when a middleware installs one (h2-body-filters.ts).
 * A group with protocol "h2" hands out connections whose socket is an
 * H2StreamBridge (actors/upstream-pool/h2-stream-bridge.ts), so the same code
 * drives an HTTP/2 upstream. An extended CONNECT for WebSocket (RFC 8441) is
 * routed as a GET and its upstream leg is an H2WebSocketTunnel.
 */
import http2 from 'node:http2';
import type { ServerHttp2Stream, ServerHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import { parseResponseHead, type ResponseHead } from '../../src/protocol/http1/response-head.js';
import { ChunkedScanner } from '../../src/protocol/http1/chunked-scanner.js';
import type { HttpParseError } from '../../src/protocol/http1/parse-error.js';
import { STATUS_REASONS } from '../../src/protocol/http1/serialize.js';
import { normalizePath } from '../router/normalize-path.js';
import type { CompiledRoute, ProxySnapshot } from '../session-http1/proxy-snapshot.js';
import type { AccessRecord } from '../session-http1/access-record.js';
import { buildUpstreamHead } from '../session-http1/upstream-request-head.js';
import type { UpstreamConnection, UpstreamConnectionOwner } from '../upstream-pool/upstream-connection.js';
import type { MiddlewareDecision } from '../middleware/middleware.js';
import { removeHeader, setHeader, type RequestContext, type ResponseContext } from '../middleware/request-context.js';
import { chunkedTrailerSection, requestFieldsFromH2, responseHeadersForH2, trailersForH2 } from './h2-headers.js';
import { H2WebSocketTunnel, upgradeFields, type H2WebSocketTunnelOwner, type TunnelEnd } from './h2-websocket-tunnel.js';
import { BodyFilterChain } from './h2-body-filters.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** What an exchange needs from the actor that owns the HTTP/2 sessions. */
export interface H2ExchangeOwner {
  snapshot(): ProxySnapshot;
  nextRequestId(): string;
  /** True when access records are read (access log, metrics, passive health). */
  readonly recordsWanted: boolean;
  exchangeDone(exchange: H2Exchange, record: AccessRecord | undefined): void;
  /** The client reset a stream before its exchange ended (the rapid-reset budget). */
  streamReset(session: ServerHttp2Session): void;
}

export interface H2ClientInfo {
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
}

const enum Phase { Dispatch, Exchange, Done }
const enum ReqBody { None, Length, Chunked }
const NO_DEADLINE = Number.POSITIVE_INFINITY;

function isParseError(r: ResponseHead | HttpParseError): r is HttpParseError {
  return (r as HttpParseError).code !== undefined;
}

export class H2Exchange implements UpstreamConnectionOwner, H2WebSocketTunnelOwner {
  private phase = Phase.Dispatch;
  private readonly snapshot: ProxySnapshot;
  private readonly requestId: string;
  private readonly startedAt = performance.now();
  private readonly time = Date.now();
  private readonly method: string;
  /** An extended CONNECT for WebSocket (RFC 8441): routed and filtered as the GET it stands for. */
  private readonly websocket: boolean;
  private readonly uri: string;
  private route: CompiledRoute | undefined;
  private ctx: RequestContext | undefined;
  private conn: UpstreamConnection | undefined;
  private upstreamAddress = '-';
  private upstreamStartedAt = 0;
  private upstreamConnectMs = -1;
  private upstreamResponseMs = -1;

  private reqBody = ReqBody.None;
  private reqDone = true;
  private reqTrailers: Record<string, string | string[] | undefined> | undefined;
  private bytesIn = 0;

  private resBuf: Buffer | undefined;
  private resHead: ResponseHead | undefined;
  private resRemaining = 0;
  private resScanner: ChunkedScanner | undefined;
  private resDone = false;
  private resTrailers: string[] = [];
  /** Body filters (Middleware.onResponseBody) until the filtered body ends; undefined on the plain path. */
  private filters: BodyFilterChain | undefined;
  /** False once the upstream connection cannot carry another request. */
  private reusable = true;
  private headersSent = false;
  private status = 0;
  private bytesOut = 0;

  /** Deadlines (ms since epoch), checked by the owner's sweep. */
  private readDeadline = NO_DEADLINE;
  private bodyDeadline = NO_DEADLINE;
  private stallDeadline = NO_DEADLINE;

  /** `session` is passed in: stream.session is already unset when a stream was reset as it arrived. */
  constructor(private readonly owner: H2ExchangeOwner, readonly session: ServerHttp2Session, readonly stream: ServerHttp2Stream, private readonly headers: IncomingHttpHeaders, private readonly rawHeaders: readonly string[], private readonly client: H2ClientInfo) {
    this.snapshot = owner.snapshot();
    this.requestId = owner.nextRequestId();
    this.websocket = headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket';
    this.method = this.websocket ? 'GET' : String(headers[':method'] ?? 'GET');
    this.uri = String(headers[':path'] ?? '/');
    stream.on('close', this.onStreamClose);
    stream.on('error', () => { /* 'close' follows and ends the exchange */ });
  }

  get done(): boolean {
    return this.phase === Phase.Done;
  }

  /** Called once: routes the request and starts the middleware chain. */
  start(): void {
    if (this.method === 'CONNECT') return this.respondLocal(501, undefined, 'CONNECT is not supported by a reverse proxy');
    const path = this.uri;
    if (path.charCodeAt(0) !== 0x2f /* / */) return this.respondLocal(400, undefined, 'invalid :path');
    const q = path.indexOf('?');
    const normalized = normalizePath(q < 0 ? path : path.slice(0, q));
    if (normalized === null) return this.respondLocal(400, undefined, 'invalid request path');
    const { fields, authority, bytes } = requestFieldsFromH2(this.rawHeaders);
    // nghttp2 on Node 20 does not enforce the SETTINGS_MAX_HEADER_LIST_SIZE we announce, so the
    // HTTP/1.1 limit is applied here, to the field section the upstream head would carry: both
    // protocols then admit the same requests, and no 60 KB header reaches an upstream.
    if (bytes > this.snapshot.limits.maxHeaderBytes) return this.respondLocal(431, undefined, 'request header fields too large');
    const host = authority === undefined ? undefined : authority.toLowerCase();
    // Routing always runs on this thread: the snapshot's table is the same one the router thread holds.
    const match = this.snapshot.routes.match(host, this.method, normalized);
    if (match.kind === 'not-found') return this.respondLocal(404, undefined, 'no route');
    if (match.kind === 'method-not-allowed') return this.respondLocal(405, ['allow', match.allow.join(', ')], 'method not allowed');
    const route = match.value;
    this.route = route;
    let upstreamPath = route.rewritePath ? route.rewritePath(match.params, match.wildcard) : normalized;
    if (q >= 0) upstreamPath += path.slice(q);
    const ctx: RequestContext = {
      requestId: this.requestId,
      method: this.method,
      path: upstreamPath,
      headers: fields,
      host: authority,
      clientAddress: this.client.address,
      clientPort: this.client.port,
      tls: this.client.tls,
      routeName: route.name,
      params: match.params,
      locals: {},
      bodyFilters: true,
    };
    this.ctx = ctx;
    route.requestRules.apply(ctx.headers);
    this.runMiddleware(0);
  }

  /** Fires the deadline that passed; called by the owner's 100 ms sweep. */
  checkDeadline(now: number): void {
    if (this.phase === Phase.Done) return;
    if (now >= this.stallDeadline) return this.abort(NGHTTP2_CANCEL, 'client stopped reading');
    if (now >= this.bodyDeadline) return this.fail(408, 'request body not received in time');
    if (now >= this.readDeadline) return this.fail(504, 'upstream read timed out');
  }

  /** Drain or shutdown: ends the exchange now, releasing the upstream leg. */
  destroy(): void {
    if (this.phase !== Phase.Done) this.abort(NGHTTP2_CANCEL, 'shutting down');
  }

  // ---- middleware ----

  private runMiddleware(i: number): void {
    const chain = this.route!.middleware;
    const ctx = this.ctx!;
    for (; i < chain.length; i++) {
      const mw = chain[i]!;
      if (!mw.onRequest) continue;
      let decision: MiddlewareDecision | Promise<MiddlewareDecision>;
      try {
        decision = mw.onRequest(ctx);
      } catch (err) {
        return this.middlewareFailed(mw.name, err);
      }
      if (decision instanceof Promise) {
        const next = i + 1;
        decision.then(
          (d) => { if (this.phase === Phase.Dispatch && this.applyDecision(d)) this.runMiddleware(next); },
          (err) => { if (this.phase === Phase.Dispatch) this.middlewareFailed(mw.name, err); },
        );
        return;
      }
      if (!this.applyDecision(decision)) return;
    }
    this.upstreamStartedAt = performance.now();
    this.route!.group.acquire(ctx.host, this, this.onAcquired);
  }

  /** True to continue the chain; a respond decision answers the stream. */
  private applyDecision(d: MiddlewareDecision): boolean {
    if (d.kind === 'continue') return true;
    const ctx = this.ctx!;
    if (d.kind === 'rewrite') {
      if (d.path !== undefined) ctx.path = d.path;
      if (d.removeHeaders) for (const n of d.removeHeaders) removeHeader(ctx.headers, n.toLowerCase());
      if (d.setHeaders) for (const [n, v] of Object.entries(d.setHeaders)) setHeader(ctx.headers, n, v);
      return true;
    }
    const headers: OutgoingHttpHeaders = { ':status': d.status, 'x-request-id': this.requestId };
    if (d.headers) {
      for (let i = 0; i < d.headers.length; i += 2) {
        const lower = d.headers[i]!.toLowerCase();
        if (lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection') continue;
        headers[lower] = d.headers[i + 1]!;
      }
    }
    const body = d.body === undefined ? undefined : typeof d.body === 'string' ? Buffer.from(d.body, 'utf8') : d.body;
    if (body !== undefined && body.length > 0 && headers['content-type'] === undefined) headers['content-type'] = 'text/plain; charset=utf-8';
    this.sendWhole(d.status, headers, body);
    return false;
  }

  private middlewareFailed(name: string, err: unknown): void {
    process.emitWarning(`middleware '${name}' failed on request ${this.requestId}: ${err instanceof Error ? err.message : String(err)}`, { code: 'ZPROXY_MIDDLEWARE' });
    this.fail(500, 'internal error');
  }

  // ---- upstream request ----

  private readonly onAcquired = (err: ErrorRecord | undefined, conn: UpstreamConnection | undefined, reused: boolean): void => {
    if (this.phase !== Phase.Dispatch) {
      if (conn) this.route!.group.release(conn, reused && !conn.closed);
      return;
    }
    if (err || !conn) {
      const status = err?.status ?? 502;
      return this.fail(status, status === 503 ? 'no upstream available' : status === 504 ? 'upstream connect timed out' : 'upstream connect failed');
    }
    this.conn = conn;
    this.phase = Phase.Exchange;
    this.upstreamAddress = conn.host.address;
    this.upstreamConnectMs = performance.now() - this.upstreamStartedAt;
    if (this.websocket) return this.startTunnel(conn);
    const ctx = this.ctx!;
    const route = this.route!;
    const stream = this.stream;
    const fields = ctx.headers;
    const hasLength = this.headers['content-length'] !== undefined;
    if (stream.endAfterHeaders) {
      this.reqBody = ReqBody.None;
      this.reqDone = true;
    } else {
      this.reqDone = false;
      // No Content-Length: the body's end is END_STREAM, which HTTP/1.1 can only carry as chunked (trailers too).
      this.reqBody = hasLength ? ReqBody.Length : ReqBody.Chunked;
      if (!hasLength) fields.push('transfer-encoding', 'chunked');
    }
    const head = buildUpstreamHead(this.method, ctx.path, fields, [], {
      clientAddress: this.client.address,
      proto: this.client.tls ? 'https' : 'http',
      hostOverride: route.hostRewrite ?? (ctx.host === undefined ? conn.host.address : undefined),
      requestHost: ctx.host,
      upgrade: false,
    });
    const now = Date.now();
    this.readDeadline = now + route.readTimeoutMs;
    conn.socket.write(head, 'latin1');
    if (!this.reqDone) {
      this.bodyDeadline = now + this.snapshot.timeouts.clientBodyMs;
      stream.on('trailers', (t: Record<string, string | string[] | undefined>) => { this.reqTrailers = t; });
      stream.on('data', this.onClientData);
      stream.on('end', this.onClientEnd);
    }
  };

  // ---- WebSocket over HTTP/2 (RFC 8441) ----

  /** Sends the Upgrade request; the tunnel takes the connection's events from here. */
  private startTunnel(conn: UpstreamConnection): void {
    const ctx = this.ctx!;
    const route = this.route!;
    const fields = upgradeFields(ctx.headers);
    const head = buildUpstreamHead('GET', ctx.path, fields, [], {
      clientAddress: this.client.address,
      proto: this.client.tls ? 'https' : 'http',
      hostOverride: route.hostRewrite ?? (ctx.host === undefined ? conn.host.address : undefined),
      requestHost: ctx.host,
      upgrade: true,
    });
    this.readDeadline = Date.now() + route.readTimeoutMs;
    new H2WebSocketTunnel(this, this.stream, conn, this.snapshot.limits);
    conn.socket.write(head, 'latin1');
  }

  tunnelAnswered(status: number): void {
    if (this.upstreamResponseMs < 0) this.upstreamResponseMs = performance.now() - this.upstreamStartedAt;
    this.readDeadline = NO_DEADLINE;
    if (status !== 101) return;
    this.status = 200;
    this.headersSent = true;
    this.tunnelActive(0, 0);
  }

  /** The tunnel's idle deadline is the group's idleMs, as for an HTTP/1.1 WebSocket tunnel (0: none). */
  tunnelActive(bytesIn: number, bytesOut: number): void {
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    const idleMs = this.route!.group.config.timeouts.idleMs;
    this.readDeadline = idleMs > 0 ? Date.now() + idleMs : NO_DEADLINE;
  }

  tunnelEnded(end: TunnelEnd): void {
    if (this.phase !== Phase.Exchange) return;
    if (end.kind === 'refused') return this.fail(end.status, 'upstream refused the WebSocket upgrade');
    if (end.kind === 'failed') return this.fail(502, end.detail);
    this.releaseConn(false);
    this.reqDone = this.resDone = true;
    this.finish();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    const conn = this.conn;
    if (conn === undefined) return;
    this.bytesIn += chunk.length;
    const maxBody = this.snapshot.limits.maxBodyBytes;
    if (maxBody > 0 && this.bytesIn > maxBody) return this.fail(413, 'request body too large');
    this.bodyDeadline = Date.now() + this.snapshot.timeouts.clientBodyMs;
    let ok: boolean;
    if (this.reqBody === ReqBody.Chunked) {
      conn.socket.cork();
      conn.socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
      conn.socket.write(chunk);
      ok = conn.socket.write('\r\n', 'latin1');
      conn.socket.uncork();
    } else {
      ok = conn.socket.write(chunk);
    }
    if (!ok) this.stream.pause(); // resumed by onUpstreamDrain
  };

  private readonly onClientEnd = (): void => {
    this.reqDone = true;
    this.bodyDeadline = NO_DEADLINE;
    const conn = this.conn;
    if (conn !== undefined && this.reqBody === ReqBody.Chunked) conn.socket.write(chunkedTrailerSection(this.reqTrailers ?? {}), 'latin1');
    this.maybeFinish();
  };

  onUpstreamDrain(): void {
    if (!this.reqDone && this.stream.isPaused()) {
      this.bodyDeadline = Date.now() + this.snapshot.timeouts.clientBodyMs;
      this.stream.resume();
    }
  }

  // ---- upstream response ----

  onUpstreamData(chunk: Buffer): void {
    if (this.phase !== Phase.Exchange) return;
    if (this.upstreamResponseMs < 0) this.upstreamResponseMs = performance.now() - this.upstreamStartedAt;
    this.readDeadline = Date.now() + this.route!.readTimeoutMs;
    if (this.resHead === undefined) return this.onResponseHeadBytes(chunk);
    this.onResponseBody(chunk, 0);
  }

  private onResponseHeadBytes(chunk: Buffer): void {
    const buf = this.resBuf === undefined ? chunk : Buffer.concat([this.resBuf, chunk]);
    let off = 0;
    for (;;) {
      const r = parseResponseHead(buf, off, buf.length, this.snapshot.limits, this.method);
      if (r === null) {
        this.resBuf = off === 0 ? buf : buf.subarray(off);
        return;
      }
      if (isParseError(r) || r.status === 101) {
        this.reusable = false;
        return this.fail(502, 'invalid response from upstream');
      }
      off += r.headBytes;
      if (r.status >= 200) {
        this.resBuf = undefined;
        this.startResponse(r);
        if (off < buf.length && this.phase === Phase.Exchange) this.onResponseBody(buf, off);
        return;
      }
      // Interim responses (100, 103) are not relayed: the final head follows.
      if (off >= buf.length) {
        this.resBuf = undefined;
        return;
      }
    }
  }

  private startResponse(r: ResponseHead): void {
    this.resHead = r;
    if (!r.keepAlive) this.reusable = false;
    const route = this.route!;
    const res: ResponseContext = { status: r.status, headers: r.headers };
    const chain = route.middleware;
    for (let i = chain.length - 1; i >= 0; i--) {
      const mw = chain[i]!;
      if (!mw.onResponseHead) continue;
      try {
        mw.onResponseHead(this.ctx!, res);
      } catch (err) {
        this.reusable = false;
        return this.middlewareFailed(mw.name, err);
      }
    }
    route.responseRules.apply(res.headers);
    this.status = res.status;
    const upstreamBodyless = r.bodyKind === 'none' || (r.bodyKind === 'length' && r.contentLength === 0);
    let filters: BodyFilterChain | undefined;
    if (this.method !== 'HEAD' && res.status >= 200 && res.status !== 204 && res.status !== 304) {
      try {
        filters = BodyFilterChain.create(chain, this.ctx!, res, {
          push: this.pushFiltered,
          end: this.endFiltered,
          fail: (err) => {
            process.emitWarning(`response body filter failed on request ${this.requestId}: ${err instanceof Error ? err.message : String(err)}`, { code: 'ZPROXY_MIDDLEWARE' });
            this.abort(NGHTTP2_INTERNAL_ERROR, 'response body filter failed');
          },
          resume: () => {
            this.stallDeadline = NO_DEADLINE;
            this.conn?.socket.resume();
          },
        });
      } catch (err) {
        this.reusable = false;
        return this.middlewareFailed('onResponseBody', err);
      }
    }
    this.filters = filters;
    // A filter may answer a bodyless upstream response with a body of its own (a revalidated cache entry).
    const bodyless = upstreamBodyless && filters === undefined;
    // Filtered bytes have no known length (HTTP/2 frames them itself) unless every filter is a tee.
    const keepLength = filters === undefined ? r.bodyKind === 'length' || this.method === 'HEAD' : r.bodyKind === 'length' && filters.preservesLength;
    const headers = responseHeadersForH2(res.status, res.headers, r.connectionTokens, keepLength, this.requestId);
    // Trailers need an open stream after the last DATA; ask for them only when they may come.
    const wantTrailers = r.bodyKind === 'chunked' && (hasField(r.headers, 'trailer') || this.headers.te === 'trailers');
    this.headersSent = true;
    this.stream.respond(headers, { endStream: bodyless, waitForTrailers: wantTrailers });
    if (wantTrailers) this.stream.once('wantTrailers', () => this.stream.sendTrailers(trailersForH2(this.resTrailers)));
    if (bodyless) return this.responseComplete();
    this.stream.on('drain', this.onStreamDrain);
    if (upstreamBodyless) return this.responseComplete(); // the filters end now, or make the body themselves
    if (r.bodyKind === 'length') this.resRemaining = r.contentLength;
    else if (r.bodyKind === 'chunked') this.resScanner = new ChunkedScanner({ side: 'response', limits: this.snapshot.limits, onData: this.writeClient });
  }

  private onResponseBody(buf: Buffer, off: number): void {
    const r = this.resHead!;
    if (this.resDone) {
      this.reusable = false; // bytes past the end of the response: never reuse
      return;
    }
    if (r.bodyKind === 'length') {
      const n = Math.min(this.resRemaining, buf.length - off);
      this.writeClient(buf, off, off + n);
      this.resRemaining -= n;
      if (off + n < buf.length) this.reusable = false;
      if (this.resRemaining === 0) this.responseComplete();
      return;
    }
    if (r.bodyKind === 'chunked') {
      const scanner = this.resScanner!;
      const used = scanner.scan(buf, off, buf.length);
      if (scanner.error) {
        this.reusable = false;
        return this.abort(NGHTTP2_INTERNAL_ERROR, 'invalid chunked body from upstream');
      }
      if (scanner.done) {
        if (off + used < buf.length) this.reusable = false;
        this.resTrailers = scanner.trailers;
        this.responseComplete();
      }
      return;
    }
    this.writeClient(buf, off, buf.length); // close-delimited
  }

  /** Upstream payload (framing removed): to the innermost filter, or straight to the stream. */
  private readonly writeClient = (buf: Buffer, start: number, end: number): void => {
    if (end <= start || this.phase !== Phase.Exchange) return; // a filter may have failed the exchange mid-scan
    const chunk = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    const filters = this.filters;
    if (filters !== undefined) {
      // The innermost filter is full (its consumer, finally the stream, is): resumed by its link's ready().
      if (!filters.write(chunk)) this.pauseUpstream();
      return;
    }
    this.bytesOut += end - start;
    // The client's window is closed or it reads slowly: stop reading the upstream until 'drain'.
    if (!this.stream.write(chunk)) this.pauseUpstream();
  };

  private pauseUpstream(): void {
    this.conn?.socket.pause();
    if (this.stallDeadline === NO_DEADLINE) this.stallDeadline = Date.now() + this.route!.writeTimeoutMs;
  }

  /** The outermost filter's output. */
  private readonly pushFiltered = (chunk: Buffer): boolean => {
    if (chunk.length === 0 || this.stream.destroyed) return true;
    this.bytesOut += chunk.length;
    const ok = this.stream.write(chunk);
    if (!ok && this.stallDeadline === NO_DEADLINE) this.stallDeadline = Date.now() + this.route!.writeTimeoutMs;
    return ok;
  };

  /** The filtered body is complete: the stream ends (trailers follow when asked for). */
  private readonly endFiltered = (): void => {
    this.filters = undefined;
    // A filter that ended before the upstream body did: that connection's framing is unknown.
    if (this.conn !== undefined) this.reusable = false;
    this.resDone = true;
    this.responseComplete();
  };

  private readonly onStreamDrain = (): void => {
    this.stallDeadline = NO_DEADLINE;
    // Filtered: the outermost filter pushes again; the upstream resumes when the innermost is ready.
    if (this.filters !== undefined) this.filters.drained();
    else this.conn?.socket.resume();
  };

  private responseComplete(): void {
    if (this.phase !== Phase.Exchange) return;
    this.resDone = true;
    this.readDeadline = NO_DEADLINE;
    const filters = this.filters;
    if (filters !== undefined) {
      // The upstream's part is over: its connection goes back now while the filters finish.
      this.releaseConn(this.reusable && this.reqDone);
      filters.end();
      return;
    }
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
    this.maybeFinish();
  }

  /** Both directions framed completely: the upstream connection goes back to the pool. */
  private maybeFinish(): void {
    if (this.phase !== Phase.Exchange || !this.resDone) return;
    if (!this.reqDone) {
      // The upstream answered before the request body ended: the connection's framing is unknown.
      this.reusable = false;
      this.stream.resume(); // discard the rest of the client's body
    }
    this.releaseConn(this.reusable && this.reqDone);
    this.finish();
  }

  onUpstreamClose(error: Error | undefined): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.route!.group.release(conn, false);
    if (this.phase !== Phase.Exchange) return;
    if (this.resHead === undefined) return this.fail(502, error ? 'upstream connection reset' : 'upstream closed the connection before answering');
    if (this.resHead.bodyKind === 'close' && error === undefined) {
      this.reqDone = true;
      if (this.filters !== undefined) return this.responseComplete();
      this.resDone = true;
      this.readDeadline = NO_DEADLINE;
      if (!this.stream.destroyed) this.stream.end();
      return this.finish();
    }
    if (!this.resDone) this.abort(NGHTTP2_INTERNAL_ERROR, 'upstream closed mid-response');
  }

  // ---- ends ----

  /** An error status when the head is not sent yet; else the stream is reset. */
  private fail(status: number, detail: string): void {
    if (this.phase === Phase.Done) return;
    this.releaseConn(false);
    if (this.headersSent) return this.abort(NGHTTP2_INTERNAL_ERROR, detail);
    this.respondLocal(status, undefined, detail);
  }

  private respondLocal(status: number, extra: string[] | undefined, detail: string): void {
    const reason = STATUS_REASONS[status] ?? 'Error';
    const body = Buffer.from(`${status} ${reason}: ${detail}\nrequest id: ${this.requestId}\n`, 'utf8');
    const headers: OutgoingHttpHeaders = { ':status': status, 'content-type': 'text/plain; charset=utf-8', 'x-request-id': this.requestId };
    if (extra) for (let i = 0; i < extra.length; i += 2) headers[extra[i]!] = extra[i + 1]!;
    this.sendWhole(status, headers, body);
  }

  /** A complete response from the proxy itself (error, middleware answer). */
  private sendWhole(status: number, headers: OutgoingHttpHeaders, body: Buffer | undefined): void {
    this.releaseConn(false);
    this.status = status;
    const bodyless = status === 204 || status === 304 || this.method === 'HEAD' || body === undefined || body.length === 0;
    if (!bodyless) headers['content-length'] = body.length;
    if (!this.stream.destroyed && !this.stream.headersSent) {
      this.headersSent = true;
      this.stream.respond(headers, { endStream: bodyless });
      if (!bodyless) {
        this.bytesOut += body.length;
        this.stream.end(body);
      }
    }
    if (!this.stream.endAfterHeaders) this.stream.resume(); // the request body is not needed: discard it
    this.reqDone = true;
    this.finish();
  }

  private abort(code: number, _detail: string): void {
    if (this.phase === Phase.Done) return;
    this.releaseConn(false);
    if (this.status === 0) this.status = 499;
    if (!this.stream.destroyed) this.stream.close(code);
    this.finish();
  }

  private readonly onStreamClose = (): void => {
    if (this.phase === Phase.Done) return;
    // The client reset the stream or the session went away before the exchange ended.
    this.releaseConn(false);
    this.owner.streamReset(this.session);
    if (!this.resDone) this.status = this.headersSent ? this.status : 499;
    this.finish();
  };

  private releaseConn(reusable: boolean): void {
    const conn = this.conn;
    if (conn === undefined) return;
    this.conn = undefined;
    // Backpressure may have paused it on the last write; the next exchange on it must read.
    conn.socket.resume();
    this.route!.group.release(conn, reusable);
  }

  private finish(): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    this.readDeadline = this.bodyDeadline = this.stallDeadline = NO_DEADLINE;
    this.stream.removeListener('drain', this.onStreamDrain);
    const filters = this.filters;
    this.filters = undefined;
    filters?.destroy(); // aborted mid-body
    const ctx = this.ctx;
    if (ctx !== undefined) {
      for (const mw of this.route!.middleware) {
        try { mw.onDone?.(ctx, this.status); } catch { /* accounting only; the exchange is over */ }
      }
    }
    this.owner.exchangeDone(this, this.owner.recordsWanted ? this.record() : undefined);
  }

  private record(): AccessRecord {
    const headers: string[] = [];
    for (let i = 0; i < this.rawHeaders.length; i += 2) if (this.rawHeaders[i]!.charCodeAt(0) !== 0x3a) headers.push(this.rawHeaders[i]!, this.rawHeaders[i + 1]!);
    return {
      time: this.time,
      requestId: this.requestId,
      clientAddress: this.client.address,
      clientPort: this.client.port,
      method: this.method,
      uri: this.uri,
      protocol: 'HTTP/2.0',
      status: this.status,
      bytesSent: this.bytesOut,
      bytesReceived: this.bytesIn,
      requestTimeMs: performance.now() - this.startedAt,
      upstreamAddress: this.upstreamAddress,
      upstreamConnectMs: this.upstreamConnectMs,
      upstreamResponseMs: this.upstreamResponseMs,
      route: this.route?.name ?? '-',
      headers,
      tlsSni: '',
      locals: this.ctx?.locals,
    };
  }
}

function hasField(fields: readonly string[], lower: string): boolean {
  for (let i = 0; i < fields.length; i += 2) if (fields[i]!.toLowerCase() === lower) return true;
  return false;
}
