/**
 * One client connection speaking HTTP/1.1: parses request heads, routes,
 * runs the route's middleware, forwards the request to an upstream
 * connection and the response back, both bodies streamed as slices of the
 * bytes received (zero-copy) with backpressure both ways. Requests on one
 * connection are served one at a time, so pipelined requests are answered in
 * order: bytes of the next request wait in the input buffer.
 *
 * Hot path: the socket listeners are shared by all sessions (the socket
 * points at its session), so a connection costs no closures; per request the
 * session allocates the parsed head, the context and the head string.
 */
import type net from 'node:net';
import { directReader, readDirect } from '../../src/platform/direct-read.js';
import { parseRequestHead, type RequestHead } from '../../src/protocol/http1/request-head.js';
import { parseResponseHead, type ResponseHead } from '../../src/protocol/http1/response-head.js';
import { ChunkedScanner } from '../../src/protocol/http1/chunked-scanner.js';
import type { HttpParseError } from '../../src/protocol/http1/parse-error.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import { normalizePath } from '../router/normalize-path.js';
import type { RouteMatch } from '../router/route-table.js';
import type { RouterReply } from '../router/router-actor.js';
import type { UpstreamConnection, UpstreamConnectionOwner } from '../upstream-pool/upstream-connection.js';
import type { Middleware, MiddlewareDecision, ResponseBodyFilter, ResponseBodyLink } from '../middleware/middleware.js';
import type { RequestContext, ResponseContext } from '../middleware/request-context.js';
import { removeHeader, setHeader } from '../middleware/request-context.js';
import { errorResponse, middlewareResponse } from './error-response.js';
import { buildClientHead, buildUpstreamHead } from './upstream-request-head.js';
import type { CompiledRoute, ProxySnapshot } from './proxy-snapshot.js';
import type { AccessRecord } from './access-record.js';

/** What a session needs from the actor that owns it. */
export interface SessionOwner {
  snapshot(): ProxySnapshot;
  nextRequestId(): string;
  /** A drain started: responses from now on announce connection: close. */
  readonly draining: boolean;
  /** The drain's lame-duck window is over: a connection that goes idle closes. */
  readonly closingIdle: boolean;
  readonly accessLogEnabled: boolean;
  sessionClosed(session: Http1Session): void;
  /** A bug escaped the session's code: count and log it (the session answers 500 and closes). */
  internalError(err: unknown, requestId: string): void;
  exchangeDone(record: AccessRecord): void;
  requestStarted(): void;
  /** True while the worker sheds load (server.overload): the request gets 503 and the connection closes. */
  overloaded(): boolean;
}

/** Sent with a 503 for overload: a client may come back in a second (nginx's limit_req and Envoy's overload answer alike). */
const RETRY_AFTER = ['retry-after', '1'];

const enum Phase { Head, Dispatch, Exchange, Tunnel, Closed }
const enum Body { None, Length, Chunked, Close, Rechunk, Dechunk }
const enum Deadline { None, Header, Idle, ClientBody, UpstreamRead, Write, TunnelIdle, Linger }

/** Body bytes held while the upstream connection is being set up; past this the client is paused. */
const PENDING_BODY_LIMIT = 64 * 1024;
/** Pipelined bytes buffered behind an in-flight request; past this the client is paused. */
const PIPELINE_LIMIT = 64 * 1024;
/** Linger bound when headerMs is 0 (disabled): nginx's lingering_timeout default. */
const LINGER_FALLBACK_MS = 5000;
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** Up to this size a head and its first body bytes are copied into one buffer: one write() beats writev(). */
const COALESCE_LIMIT = 16 * 1024;

/** Writes a latin1 head and body bytes with one syscall when small; returns write()'s backpressure flag. */
function writeHeadAndBody(socket: net.Socket, head: string, body: Buffer): boolean {
  const total = head.length + body.length;
  if (total > COALESCE_LIMIT) {
    socket.cork();
    socket.write(head, 'latin1');
    const ok = socket.write(body);
    socket.uncork();
    return ok;
  }
  const out = Buffer.allocUnsafe(total);
  out.write(head, 0, 'latin1');
  body.copy(out, head.length);
  return socket.write(out);
}

function isParseError(r: RequestHead | ResponseHead | HttpParseError): r is HttpParseError {
  return (r as HttpParseError).code !== undefined;
}

/** RFC 9110 9.2.2: the methods a proxy may replay without knowing whether the upstream acted. */
function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET': case 'HEAD': case 'OPTIONS': case 'TRACE': case 'PUT': case 'DELETE': return true;
    default: return false;
  }
}

/** The session a client socket belongs to; read by the shared socket listeners. */
const SESSION = Symbol('zproxy.http1-session');
type SessionSocket = net.Socket & { [SESSION]?: Http1Session };

export class Http1Session implements UpstreamConnectionOwner {
  private phase = Phase.Head;
  private input: Buffer | undefined;
  private inputOff = 0;
  private deadline = 0;
  private deadlineKind = Deadline.None;
  private requests = 0;
  private paused = false;
  /** True while processInput's loop runs (re-entry guard). */
  private processingInput = false;
  /** Closed by us with end(): waiting for the client's side to close (or the Linger deadline). */
  private lingering = false;
  /** Set by closeSoon() (rebalancing): no keep-alive after the response in progress. */
  private closeRequested = false;

  // ---- per-request state (reset in resetExchange) ----
  private head: RequestHead | undefined;
  private route: CompiledRoute | undefined;
  private ctx: RequestContext | undefined;
  private requestId = '';
  private reqKind = Body.None;
  private reqRemaining = 0;
  private reqBodyBytes = 0;
  private reqDone = true;
  private reqScanner: ChunkedScanner | undefined;
  /** Created on first use and kept: a session that never gets a body early holds no array. */
  private pendingBody: Buffer[] | undefined;
  private pendingBytes = 0;
  private conn: UpstreamConnection | undefined;
  private connReused = false;
  private retried = false;
  private upstreamBlocked = false;
  private resBuf: Buffer | undefined;
  private resHead: ResponseHead | undefined;
  private resKind = Body.None;
  private resRemaining = 0;
  private resScanner: ChunkedScanner | undefined;
  /** Strips chunk framing for HTTP/1.0 clients (created on first use: its onData closure is per session). */
  private dechunkScanner: ChunkedScanner | undefined;
  private dechunkWritesOk = true;
  private resReusable = true;
  private clientKeepAlive = true;
  private startedAt = 0;
  private upstreamStartedAt = 0;
  private upstreamConnectMs = -1;
  private upstreamFirstByteMs = -1;
  private bytesIn = 0;
  private bytesOut = 0;
  private status = 0;
  private upstreamAddress = '-';
  /** Response head waiting to go out with the first body bytes. */
  private pendingHead: string | undefined;
  /**
   * Body filters of this exchange (Middleware.onResponseBody), outermost
   * first; undefined on the zero-copy path. Their payload is cut from the
   * upstream framing here and re-framed for the client (chunked, or close-
   * delimited for HTTP/1.0).
   */
  private filters: ResponseBodyFilter[] | undefined;
  private filterScanner: ChunkedScanner | undefined;
  private filterChunked = false;
  /** Every filter passes bytes through unchanged and the upstream gave a length: keep it. */
  private filterKeepsLength = false;
  /** Set while feeding the filters when the innermost said stop: the upstream socket pauses. */
  private filterBlocked = false;

  constructor(
    readonly socket: net.Socket,
    private readonly owner: SessionOwner,
    readonly clientAddress: string,
    readonly clientPort: number,
    private readonly isTls: boolean,
    firstChunk: Buffer | undefined,
  ) {
    socket.setNoDelay(true);
    (socket as SessionSocket)[SESSION] = this;
    socket.on('data', Http1Session.socketData);
    socket.on('drain', Http1Session.socketDrain);
    socket.on('close', Http1Session.socketClose);
    socket.on('error', Http1Session.socketError);
    // Plain TCP: reads skip node's Readable layer (src/platform/direct-read.ts); TLS keeps 'data'.
    if (!isTls) readDirect(socket, Http1Session.socketRead);
    this.setDeadline(Deadline.Header, owner.snapshot().timeouts.headerMs);
    if (firstChunk) this.onData(firstChunk);
  }

  get closed(): boolean {
    return this.phase === Phase.Closed && !this.lingering;
  }

  /** True when between requests with nothing buffered: safe to close for drain or rebalancing. */
  get idle(): boolean {
    return this.phase === Phase.Head && (this.input === undefined || this.inputOff >= this.input.length);
  }

  /** Called by the owner's sweeper: fires the timeout whose deadline passed. */
  checkDeadline(now: number): void {
    if (this.deadlineKind === Deadline.None || now < this.deadline) return;
    const kind = this.deadlineKind;
    this.deadlineKind = Deadline.None;
    switch (kind) {
      case Deadline.Header:
        if (this.input !== undefined && this.inputOff < this.input.length) this.respondErrorAndClose(408, 'request head not received in time');
        else this.destroy();
        return;
      case Deadline.Idle:
        this.destroy();
        return;
      case Deadline.ClientBody:
        this.failExchange(408, 'request body not received in time', false);
        return;
      case Deadline.UpstreamRead:
        this.failExchange(504, 'upstream did not answer in time', true);
        return;
      case Deadline.Write:
        this.failExchange(504, 'peer stopped reading', true);
        return;
      case Deadline.TunnelIdle:
        this.destroy();
        return;
      case Deadline.Linger:
        this.socket.destroy(); // 'close' follows: onClientClose finishes the session
        return;
    }
  }

  /** Graceful close for drain: idle connections close now, busy ones after their response. */
  closeWhenIdle(): void {
    if (this.idle) this.destroy();
  }

  /**
   * Rebalancing: this connection should go so that its client reconnects
   * (and lands wherever the acceptor places it). Idle: closed now; busy: it
   * closes after the response in progress, with `connection: close`.
   */
  closeSoon(): void {
    this.closeRequested = true;
    if (this.idle) this.destroy();
    else if (this.phase !== Phase.Head) this.clientKeepAlive = false;
  }

  destroy(): void {
    if (this.phase === Phase.Closed) {
      if (this.lingering) this.socket.destroy();
      return;
    }
    this.socket.destroy();
    this.onClientClose();
  }

  // ---- client side ------------------------------------------------------------

  // One listener of each kind for all sessions (a bound handler per connection
  // was ~56 bytes each, measured with 10,000 idle connections); `this` is the socket.
  private static socketData(this: SessionSocket, chunk: Buffer): void {
    this[SESSION]!.onData(chunk);
  }

  /** Plain-TCP sockets: the same handler, called by node's onread instead of a 'data' emit. */
  private static readonly socketRead = directReader(Http1Session.socketData);

  private static socketDrain(this: SessionSocket): void {
    this[SESSION]!.onClientDrain();
  }

  private static socketClose(this: SessionSocket): void {
    this[SESSION]!.onClientClose();
  }

  private static socketError(this: SessionSocket): void {
    // 'close' follows every 'error'; an ECONNRESET here is a client that went away.
  }

  /**
   * Every entry point from I/O is guarded: a bug in this code fails the
   * current request with a 500 and closes this connection; it never throws
   * into the event loop, which would take the whole worker down.
   */
  private onData(chunk: Buffer): void {
    try {
      this.handleData(chunk);
    } catch (err) {
      this.internalError(err);
    }
  }

  private handleData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    switch (this.phase) {
      case Phase.Head:
        this.appendInput(chunk);
        this.processInput();
        return;
      case Phase.Dispatch:
      case Phase.Exchange:
        if (!this.reqDone) {
          const end = this.consumeBody(chunk, 0, chunk.length);
          if (end < 0) return;
          if (end < chunk.length) this.appendInput(chunk.subarray(end));
        } else {
          this.appendInput(chunk);
        }
        if (this.input !== undefined && this.input.length - this.inputOff > PIPELINE_LIMIT) this.pauseClient();
        return;
      case Phase.Tunnel:
        this.tunnelToUpstream(chunk);
        return;
      case Phase.Closed:
        return;
    }
  }

  /** An exception escaped our own code while handling this connection: 500 if possible, then close. */
  private internalError(err: unknown): void {
    this.owner.internalError(err, this.requestId);
    try {
      this.failExchange(500, 'internal error', false);
    } catch {
      // failing cleanly failed too: drop the connection rather than leave it half-handled
    }
    if (this.phase !== Phase.Closed) this.destroy();
  }

  private onClientDrain(): void {
    if (this.filters !== undefined && this.phase === Phase.Exchange) {
      // Filtered body: the client's drain goes to the outermost filter; the upstream resumes
      // when the innermost filter says it is ready (filterLink).
      if (this.conn) this.setReadDeadline();
      else this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
      this.filters[0]!.drained();
      return;
    }
    if (this.conn && this.phase !== Phase.Closed) {
      if (this.deadlineKind === Deadline.Write) this.setReadDeadline();
      this.conn.socket.resume();
    }
  }

  private onClientClose(): void {
    if (this.phase === Phase.Closed) {
      if (this.lingering) {
        this.lingering = false;
        this.deadlineKind = Deadline.None;
        this.owner.sessionClosed(this);
      }
      return;
    }
    const wasBusy = this.phase !== Phase.Head;
    this.destroyFilters();
    this.phase = Phase.Closed;
    this.deadlineKind = Deadline.None;
    if (this.conn) {
      // A client abort tears down the upstream leg: never return a half-used connection.
      const conn = this.conn;
      this.conn = undefined;
      this.route?.group.release(conn, false);
    }
    if (wasBusy && this.status === 0) this.status = 499; // nginx's "client closed request"
    if (wasBusy) this.finishRecord();
    this.owner.sessionClosed(this);
  }

  private appendInput(chunk: Buffer): void {
    if (this.input === undefined || this.inputOff >= this.input.length) {
      this.input = chunk;
      this.inputOff = 0;
    } else {
      this.input = Buffer.concat([this.input.subarray(this.inputOff), chunk]);
      this.inputOff = 0;
    }
  }

  /** Parses the next request head from the input buffer, if complete, and starts its exchange. */
  private processInput(): void {
    // A request answered synchronously (404, 405, a middleware's response) ends its exchange
    // inside startRequest, and endExchange comes back here for the next pipelined head: the
    // loop below already does that, so a nested call returns instead of recursing once per
    // request (thousands of pipelined 404s would overflow the stack).
    if (this.processingInput) return;
    this.processingInput = true;
    while (this.phase === Phase.Head && this.input !== undefined && this.inputOff < this.input.length) {
      if (this.deadlineKind === Deadline.Idle) this.setDeadline(Deadline.Header, this.owner.snapshot().timeouts.headerMs);
      const snapshot = this.owner.snapshot();
      const r = parseRequestHead(this.input, this.inputOff, this.input.length, snapshot.limits);
      if (r === null) break; // an incomplete head: read on (resumed below if pipelining paused us)
      if (isParseError(r)) {
        this.requestId = this.owner.nextRequestId();
        this.startedAt = performance.now();
        this.phase = Phase.Dispatch;
        this.respondErrorAndClose(r.status, r.message);
        break;
      }
      this.inputOff += r.headBytes;
      this.startRequest(r, snapshot);
    }
    this.processingInput = false;
    // Drop a fully consumed chunk: an idle keep-alive connection must not pin its last read buffer.
    if (this.input !== undefined && this.inputOff >= this.input.length) {
      this.input = undefined;
      this.inputOff = 0;
    }
    if (this.phase === Phase.Head && this.paused) this.resumeClient();
  }

  private startRequest(head: RequestHead, snapshot: ProxySnapshot): void {
    this.owner.requestStarted();
    this.requests++;
    this.phase = Phase.Dispatch;
    this.head = head;
    this.requestId = this.owner.nextRequestId();
    this.startedAt = performance.now();
    this.clientKeepAlive = head.keepAlive;
    const max = snapshot.limits.maxRequestsPerConnection;
    if ((max > 0 && this.requests >= max) || this.owner.draining || this.closeRequested) this.clientKeepAlive = false;

    // Framing first: once we know where this request ends we can always answer it.
    if (head.chunked) {
      this.reqKind = Body.Chunked;
      this.reqDone = false;
      if (this.reqScanner) this.reqScanner.reset();
      else this.reqScanner = new ChunkedScanner();
    } else if (head.contentLength > 0) {
      this.reqKind = Body.Length;
      this.reqRemaining = head.contentLength;
      this.reqDone = false;
      const maxBody = snapshot.limits.maxBodyBytes;
      if (maxBody > 0 && head.contentLength > maxBody) return this.respondErrorAndClose(413, 'request body too large');
    } else {
      this.reqKind = Body.None;
      this.reqDone = true;
    }
    if (this.owner.overloaded()) {
      this.clientKeepAlive = false;
      return this.respondLocal(503, RETRY_AFTER, 'the proxy is overloaded, retry later');
    }

    const target = head.target;
    let path: string;
    let host = head.host;
    if (target.charCodeAt(0) === 0x2f /* / */) {
      path = target;
    } else if (target === '*') {
      path = '/';
    } else if (head.method === 'CONNECT') {
      return this.respondErrorAndClose(501, 'CONNECT is not supported by a reverse proxy');
    } else {
      // absolute-form (RFC 9112 3.2.2): the target's authority replaces Host.
      // The authority ends at the first '/' or '?' (RFC 3986 3.2): `http://a?x=/y` is host `a`, path `/?x=/y`
      // (an empty path becomes '/', RFC 9112 3.2.1), never host `a?x=` with path `/y`.
      const afterScheme = target.indexOf('//') + 2;
      let authorityEnd = afterScheme;
      while (authorityEnd < target.length && target.charCodeAt(authorityEnd) !== 0x2f && target.charCodeAt(authorityEnd) !== 0x3f) authorityEnd++;
      host = target.slice(afterScheme, authorityEnd);
      path = authorityEnd === target.length ? '/' : target.charCodeAt(authorityEnd) === 0x3f ? '/' + target.slice(authorityEnd) : target.slice(authorityEnd);
    }
    const q = path.indexOf('?');
    const rawPath = q < 0 ? path : path.slice(0, q);
    const normalized = normalizePath(rawPath);
    if (normalized === null) return this.respondErrorAndClose(400, 'invalid request path');
    const remote = snapshot.remoteRouter;
    if (remote !== undefined) {
      // Placements pipelined/postmessage: the match crosses to the router
      // thread; the body that came with the head waits in pendingBody.
      if (!this.takeBodyWithHead()) return;
      this.routing = { snapshot, host, path, q, normalized };
      remote.match(snapshot.generation, host, head.method, normalized, (this.remoteMatched ??= (e, reply) => this.onRemoteMatch(e, reply)));
      return;
    }
    this.dispatch(snapshot.routes.match(host, head.method, normalized), host, path, q, normalized);
  }

  /** Created on the first remote match (pipelined placements only), then reused. */
  private remoteMatched: ((err: ErrorRecord | undefined, reply: RouterReply | undefined) => void) | undefined;

  /** What the request was routed with, kept while a remote match is in flight. */
  private routing: { snapshot: ProxySnapshot; host: string | undefined; path: string; q: number; normalized: string } | undefined;

  private onRemoteMatch(err: ErrorRecord | undefined, reply: RouterReply | undefined): void {
    try {
      this.handleRemoteMatch(err, reply);
    } catch (e) {
      this.internalError(e);
    }
  }

  private handleRemoteMatch(err: ErrorRecord | undefined, reply: RouterReply | undefined): void {
    const r = this.routing;
    this.routing = undefined;
    if (r === undefined || this.phase !== Phase.Dispatch) return; // the client went away meanwhile
    if (err || reply === undefined) {
      this.failExchange(err?.status ?? 500, 'routing failed', false);
      return;
    }
    let match: RouteMatch<CompiledRoute>;
    switch (reply.k) {
      case 'm': match = { kind: 'matched', value: r.snapshot.routeList[reply.i]!, params: reply.p, wildcard: reply.w }; break;
      case 'nf': match = { kind: 'not-found' }; break;
      case 'na': match = { kind: 'method-not-allowed', allow: reply.allow }; break;
      case 'stale': match = r.snapshot.routes.match(r.host, this.head!.method, r.normalized); break; // mid-reload: answer locally
    }
    this.dispatch(match, r.host, r.path, r.q, r.normalized);
  }

  /** Takes the body bytes that arrived with the head (into pendingBody). False when the body was invalid. */
  private takeBodyWithHead(): boolean {
    if (!this.reqDone && this.input !== undefined && this.inputOff < this.input.length) {
      const end = this.consumeBody(this.input, this.inputOff, this.input.length);
      if (end < 0) return false;
      this.inputOff = end;
    }
    return true;
  }

  /** Continues a routed request: 404/405, or rewrite, header rules and the middleware chain. */
  private dispatch(match: RouteMatch<CompiledRoute>, host: string | undefined, path: string, q: number, normalized: string): void {
    const head = this.head!;
    const target = head.target;
    if (match.kind !== 'matched') {
      if (match.kind === 'not-found') return this.respondLocal(404, undefined, 'no route');
      return this.respondLocal(405, ['allow', match.allow.join(', ')], 'method not allowed');
    }
    const route = match.value;
    this.route = route;
    let upstreamPath = target === '*' ? '*' : normalized;
    if (route.rewritePath) upstreamPath = route.rewritePath(match.params, match.wildcard);
    if (q >= 0) upstreamPath += path.slice(q);

    const ctx: RequestContext = {
      requestId: this.requestId,
      method: head.method,
      path: upstreamPath,
      headers: head.headers,
      host,
      clientAddress: this.clientAddress,
      clientPort: this.clientPort,
      tls: this.isTls,
      routeName: route.name,
      params: match.params,
      locals: {},
      bodyFilters: true,
    };
    this.ctx = ctx;
    route.requestRules.apply(ctx.headers);

    // The body that arrived with the head is taken now (it waits in pendingBody).
    if (!this.takeBodyWithHead()) return;
    this.setDeadline(Deadline.UpstreamRead, route.readTimeoutMs);
    this.runMiddleware(0);
  }

  /** Runs middleware i..n; synchronous results continue inline, promises resume later. */
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
          (d) => { if (this.ctx === ctx && this.phase === Phase.Dispatch && this.applyDecision(d)) this.runMiddleware(next); },
          (err) => { if (this.ctx === ctx && this.phase === Phase.Dispatch) this.middlewareFailed(mw.name, err); },
        );
        return;
      }
      if (!this.applyDecision(decision)) return;
    }
    this.connectUpstream();
  }

  /** Returns true to continue the chain. */
  private applyDecision(d: MiddlewareDecision): boolean {
    if (d.kind === 'continue') return true;
    const ctx = this.ctx!;
    if (d.kind === 'rewrite') {
      if (d.path !== undefined) ctx.path = d.path;
      if (d.removeHeaders) for (const n of d.removeHeaders) removeHeader(ctx.headers, n.toLowerCase());
      if (d.setHeaders) for (const [n, v] of Object.entries(d.setHeaders)) setHeader(ctx.headers, n, v);
      return true;
    }
    this.status = d.status;
    if (!this.reqDone) this.clientKeepAlive = false;
    this.writeClient(middlewareResponse(d.status, d.headers, d.body, this.requestId, this.clientKeepAlive, this.head!.method === 'HEAD'));
    this.endExchange();
    return false;
  }

  private middlewareFailed(name: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    process.emitWarning(`middleware '${name}' failed on request ${this.requestId}: ${message}`, { code: 'ZPROXY_MIDDLEWARE' });
    this.failExchange(500, 'internal error', false);
  }

  private connectUpstream(): void {
    const route = this.route!;
    this.upstreamStartedAt = performance.now();
    route.group.acquire(this.ctx!.host, this, Http1Session.acquired);
  }

  /** The pool calls it with the session as `this`: one function for all sessions, no closure per connection. */
  private static acquired(this: Http1Session, err: ErrorRecord | undefined, conn: UpstreamConnection | undefined, reused: boolean): void {
    try {
      this.handleAcquired(err, conn, reused);
    } catch (e) {
      this.internalError(e);
    }
  }

  private handleAcquired(err: ErrorRecord | undefined, conn: UpstreamConnection | undefined, reused: boolean): void {
    if (this.phase !== Phase.Dispatch) {
      // The client went away (or timed out) while we connected.
      if (conn) this.route?.group.release(conn, reused && !conn.closed);
      return;
    }
    if (err || !conn) {
      const e = err!;
      this.failExchange(e.status, e.status === 503 ? 'no upstream available' : e.status === 504 ? 'upstream connect timed out' : 'upstream connect failed', false);
      return;
    }
    this.conn = conn;
    this.connReused = reused;
    this.upstreamAddress = conn.host.address;
    this.upstreamConnectMs = performance.now() - this.upstreamStartedAt;
    this.phase = Phase.Exchange;
    this.resReusable = true;
    const head = this.head!;
    const ctx = this.ctx!;
    const route = this.route!;
    if (head.upgrade !== undefined) {
      // Whatever the answer, this exchange ends both connections: a 101 turns them into a tunnel,
      // and after a refusal bytes the client sent for the tunnel may already be on the way.
      this.resReusable = false;
      this.clientKeepAlive = false;
    }
    const upstreamHead = buildUpstreamHead(head.method, ctx.path, ctx.headers, head.connectionTokens, {
      clientAddress: this.clientAddress,
      proto: this.isTls ? 'https' : 'http',
      // An absolute-form target's authority replaces Host (RFC 9112 3.2.2), so ctx.host differs
      // from the field. An HTTP/1.0 request may lack Host, but the HTTP/1.1 request we send must
      // carry one (RFC 9112 3.2): name the upstream, as nginx's default `Host: $proxy_host` does.
      hostOverride: route.hostRewrite ?? (ctx.host === undefined ? conn.host.address : ctx.host !== head.host ? ctx.host : undefined),
      requestHost: ctx.host,
      upgrade: head.upgrade !== undefined,
    });
    const s = conn.socket;
    let ok: boolean;
    const pending = this.pendingBody;
    if (pending === undefined || pending.length === 0) ok = s.write(upstreamHead, 'latin1');
    else if (pending.length === 1) ok = writeHeadAndBody(s, upstreamHead, pending[0]!);
    else {
      s.cork();
      s.write(upstreamHead, 'latin1');
      for (const b of pending) ok = s.write(b);
      ok = s.writableLength < s.writableHighWaterMark;
      s.uncork();
    }
    if (pending !== undefined) pending.length = 0;
    this.pendingBytes = 0;
    if (!ok) this.upstreamBlocked = true;
    if (this.reqDone) this.setReadDeadline();
    else this.setDeadline(Deadline.ClientBody, this.owner.snapshot().timeouts.clientBodyMs);
    if (this.paused && !this.upstreamBlocked) this.resumeClient();
  }

  /**
   * Takes request-body bytes from buf[off..end): forwards them upstream (or
   * holds them until connected). Returns where the body ended in buf, or -1
   * when the body was invalid and the exchange has been failed.
   */
  private consumeBody(buf: Buffer, off: number, end: number): number {
    let n: number;
    if (this.reqKind === Body.Length) {
      n = Math.min(end - off, this.reqRemaining);
      this.reqRemaining -= n;
      if (this.reqRemaining === 0) this.reqDone = true;
    } else {
      const scanner = this.reqScanner!;
      n = scanner.scan(buf, off, end);
      if (scanner.error) {
        this.failExchange(scanner.error.status, scanner.error.message, false);
        return -1;
      }
      if (scanner.done) this.reqDone = true;
      const maxBody = this.owner.snapshot().limits.maxBodyBytes;
      if (maxBody > 0 && this.reqBodyBytes + n > maxBody) {
        this.failExchange(413, 'request body too large', false);
        return -1;
      }
    }
    this.reqBodyBytes += n;
    if (n > 0) {
      const slice = n === buf.length ? buf : buf.subarray(off, off + n);
      if (this.phase === Phase.Exchange && this.conn) {
        if (!this.conn.socket.write(slice)) {
          this.upstreamBlocked = true;
          this.pauseClient();
          this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
        } else if (!this.reqDone) {
          this.setDeadline(Deadline.ClientBody, this.owner.snapshot().timeouts.clientBodyMs);
        }
      } else {
        (this.pendingBody ??= []).push(slice);
        this.pendingBytes += n;
        if (this.pendingBytes > PENDING_BODY_LIMIT) this.pauseClient();
      }
    }
    if (this.reqDone && this.phase === Phase.Exchange && !this.upstreamBlocked) this.setReadDeadline();
    return off + n;
  }

  // ---- upstream side ----------------------------------------------------------

  onUpstreamDrain(): void {
    if (!this.upstreamBlocked) return;
    this.upstreamBlocked = false;
    if (this.phase === Phase.Tunnel) {
      this.resumeClient();
      return;
    }
    if (this.reqDone) this.setReadDeadline();
    else this.setDeadline(Deadline.ClientBody, this.owner.snapshot().timeouts.clientBodyMs);
    if (this.paused) this.resumeClient();
  }

  onUpstreamData(chunk: Buffer): void {
    try {
      this.handleUpstreamData(chunk);
    } catch (err) {
      this.internalError(err);
    }
  }

  private handleUpstreamData(chunk: Buffer): void {
    if (this.phase === Phase.Tunnel) {
      this.setDeadline(Deadline.TunnelIdle, this.route!.group.config.timeouts.idleMs);
      this.bytesOut += chunk.length;
      if (!this.socket.write(chunk)) this.conn!.socket.pause();
      return;
    }
    if (this.phase !== Phase.Exchange) return;
    if (this.upstreamFirstByteMs < 0) this.upstreamFirstByteMs = performance.now() - this.upstreamStartedAt;
    if (this.resHead === undefined) {
      this.onResponseHeadBytes(chunk);
      return;
    }
    if (this.filters !== undefined) this.filterResponseBody(chunk, 0, chunk.length);
    else this.forwardResponseBody(chunk, 0, chunk.length);
  }

  private onResponseHeadBytes(chunk: Buffer): void {
    let buf: Buffer;
    if (this.resBuf === undefined) buf = chunk;
    else buf = Buffer.concat([this.resBuf, chunk]);
    let off = 0;
    const head = this.head!;
    for (;;) {
      const r = parseResponseHead(buf, off, buf.length, this.owner.snapshot().limits, head.method);
      if (r === null) {
        this.resBuf = off === 0 ? buf : buf.subarray(off);
        return;
      }
      if (isParseError(r)) {
        this.resReusable = false;
        this.failExchange(502, 'invalid response from upstream', false);
        return;
      }
      if (r.status < 200) {
        if (r.status === 101) {
          if (head.upgrade === undefined) {
            this.resReusable = false;
            this.failExchange(502, 'upstream switched protocols without an upgrade request', false);
            return;
          }
          this.startTunnel(buf, off, r);
          return;
        }
        // Interim responses (100 Continue, 103 Early Hints) go to the client as received,
        // except to an HTTP/1.0 client, which must never get a 1xx (RFC 9110 15.2).
        if (head.versionMinor === 1) this.writeClient(buf.subarray(off, off + r.headBytes));
        off += r.headBytes;
        if (off >= buf.length) {
          this.resBuf = undefined;
          return;
        }
        continue;
      }
      this.resBuf = undefined;
      this.startResponse(r, buf, off + r.headBytes);
      return;
    }
  }

  private startResponse(r: ResponseHead, buf: Buffer, bodyOff: number): void {
    this.resHead = r;
    this.status = r.status;
    const head = this.head!;
    const route = this.route!;
    let framing: 'keep' | 'chunk' | 'none' = 'keep';
    switch (r.bodyKind) {
      case 'none': this.resKind = Body.None; break;
      case 'length':
        // Content-Length: 0 ends here: no body byte will come to finish the exchange.
        if (r.contentLength === 0) this.resKind = Body.None;
        else { this.resKind = Body.Length; this.resRemaining = r.contentLength; }
        break;
      case 'chunked':
        if (head.versionMinor === 0) {
          // RFC 9112 6.1: no Transfer-Encoding to an HTTP/1.0 client. Send the payload alone,
          // delimited by closing the connection.
          this.resKind = Body.Dechunk;
          framing = 'none';
          this.clientKeepAlive = false;
          if (this.dechunkScanner) this.dechunkScanner.reset();
          else this.dechunkScanner = new ChunkedScanner({ onData: (b, start, end) => this.writeDechunked(b, start, end) });
          break;
        }
        this.resKind = Body.Chunked;
        if (this.resScanner) this.resScanner.reset();
        else this.resScanner = new ChunkedScanner({ side: 'response' });
        break;
      case 'close':
        this.resReusable = false;
        if (head.versionMinor === 1) {
          this.resKind = Body.Rechunk;
          framing = 'chunk';
        } else {
          this.resKind = Body.Close;
          this.clientKeepAlive = false;
        }
        break;
    }
    if (!r.keepAlive) this.resReusable = false;
    if (!this.reqDone) this.clientKeepAlive = false; // answered before the body ended: the rest cannot be resynced

    let headers = r.headers;
    const chain = route.middleware;
    if (!route.responseRules.empty || chain.length > 0) {
      const res: ResponseContext = { status: r.status, headers: headers.slice() };
      route.responseRules.apply(res.headers);
      for (let i = chain.length - 1; i >= 0; i--) {
        const mw = chain[i]!;
        if (!mw.onResponseHead) continue;
        try {
          mw.onResponseHead(this.ctx!, res);
        } catch (err) {
          return this.middlewareFailed(mw.name, err);
        }
      }
      headers = res.headers;
      this.status = res.status;
      if (this.head!.method !== 'HEAD' && this.status >= 200 && this.status !== 204 && this.status !== 304) {
        const filters = this.createFilters(chain, res);
        if (filters !== undefined) return this.startFilteredResponse(r, headers, buf, bodyOff, filters);
      }
    }
    // A drain that started while this request was upstream: announce the close with this response.
    if (this.owner.draining) this.clientKeepAlive = false;
    const out = buildClientHead(this.status, r.reason, headers, r.connectionTokens, this.resKind === Body.None ? 'keep' : framing, this.clientKeepAlive, undefined, head.versionMinor);
    const s = this.socket;
    this.bytesOut += out.length;
    if (this.resKind === Body.None) {
      s.write(out, 'latin1');
      if (bodyOff < buf.length) this.resReusable = false; // bytes after a bodyless response: never reuse
      this.finishExchange();
      return;
    }
    // The head goes out with the first body bytes in one write (one syscall, no writev).
    this.pendingHead = out;
    if (bodyOff < buf.length) this.forwardResponseBody(buf, bodyOff, buf.length);
    if (this.pendingHead !== undefined) {
      s.write(this.pendingHead, 'latin1');
      this.pendingHead = undefined;
    }
  }

  private forwardResponseBody(buf: Buffer, off: number, end: number): void {
    let n: number;
    let done = false;
    switch (this.resKind) {
      case Body.Length:
        n = Math.min(end - off, this.resRemaining);
        this.resRemaining -= n;
        done = this.resRemaining === 0;
        if (off + n < end) this.resReusable = false;
        break;
      case Body.Dechunk: {
        // Rare path (HTTP/1.0 clients): the head goes out on its own, before any payload and
        // before finishExchange can end() the socket on an empty body.
        if (this.pendingHead !== undefined) {
          this.socket.write(this.pendingHead, 'latin1');
          this.pendingHead = undefined;
        }
        const scanner = this.dechunkScanner!;
        this.dechunkWritesOk = true;
        n = scanner.scan(buf, off, end); // payload goes out through writeDechunked
        if (scanner.error) {
          this.abortBoth();
          return;
        }
        done = scanner.done;
        if (done && off + n < end) this.resReusable = false;
        if (done) this.finishExchange();
        else if (!this.dechunkWritesOk) {
          this.conn!.socket.pause();
          this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
        } else this.setReadDeadline();
        return;
      }
      case Body.Chunked: {
        const scanner = this.resScanner!;
        n = scanner.scan(buf, off, end);
        if (scanner.error) {
          // Framing broke mid-body: the client's response cannot be completed.
          this.abortBoth();
          return;
        }
        done = scanner.done;
        if (done && off + n < end) this.resReusable = false;
        break;
      }
      default:
        n = end - off;
    }
    if (n > 0) {
      const slice = off === 0 && n === buf.length ? buf : buf.subarray(off, off + n);
      let ok: boolean;
      if (this.resKind === Body.Rechunk) {
        this.socket.cork();
        if (this.pendingHead !== undefined) {
          this.socket.write(this.pendingHead, 'latin1');
          this.pendingHead = undefined;
        }
        this.socket.write(n.toString(16) + '\r\n', 'latin1');
        this.socket.write(slice);
        ok = this.socket.write(CRLF);
        this.socket.uncork();
      } else if (this.pendingHead !== undefined) {
        ok = writeHeadAndBody(this.socket, this.pendingHead, slice);
        this.pendingHead = undefined;
      } else {
        ok = this.socket.write(slice);
      }
      this.bytesOut += n;
      if (!ok && !done) {
        this.conn!.socket.pause();
        this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
      } else if (!done) {
        this.setReadDeadline();
      }
    }
    if (done) this.finishExchange();
  }

  // ---- filtered response body (Middleware.onResponseBody) ------------------------

  /** Asks each middleware, outermost first, for a body filter; undefined when none wants the body. */
  private createFilters(chain: readonly Middleware[], res: ResponseContext): ResponseBodyFilter[] | undefined {
    let filters: ResponseBodyFilter[] | undefined;
    for (let i = 0; i < chain.length; i++) {
      const mw = chain[i]!;
      if (!mw.onResponseBody) continue;
      filters ??= [];
      const f = mw.onResponseBody(this.ctx!, res, this.filterLink(filters, filters.length));
      if (f !== undefined) filters.push(f);
      else if (filters.length === 0) filters = undefined;
    }
    return filters;
  }

  /**
   * The link of filters[j]: push/end go out (to filters[j-1], or the client
   * for j = 0), ready goes in (to filters[j+1], or the upstream socket). Calls
   * after the exchange moved on (a zlib callback after an abort) are dropped.
   */
  private filterLink(filters: ResponseBodyFilter[], j: number): ResponseBodyLink {
    return {
      push: (chunk) => {
        if (this.filters !== filters) return true;
        return j === 0 ? this.pushFilteredToClient(chunk) : filters[j - 1]!.write(chunk);
      },
      end: () => {
        if (this.filters !== filters) return;
        if (j === 0) this.endFilteredResponse();
        else filters[j - 1]!.end();
      },
      fail: (err) => {
        if (this.filters !== filters) return;
        process.emitWarning(`response body filter failed on request ${this.requestId}: ${err instanceof Error ? err.message : String(err)}`, { code: 'ZPROXY_MIDDLEWARE' });
        this.abortBoth();
      },
      ready: () => {
        if (this.filters !== filters) return;
        if (j < filters.length - 1) filters[j + 1]!.drained();
        else if (this.conn) {
          this.setReadDeadline();
          this.conn.socket.resume();
        }
      },
    };
  }

  /** Writes the head (chunked for HTTP/1.1, close-delimited for 1.0) and starts feeding the filters. */
  private startFilteredResponse(r: ResponseHead, headers: readonly string[], buf: Buffer, bodyOff: number, filters: ResponseBodyFilter[]): void {
    const head = this.head!;
    this.filters = filters;
    this.filterKeepsLength = this.resKind === Body.Length && filters.every((f) => f.preservesLength === true);
    this.filterChunked = !this.filterKeepsLength && head.versionMinor === 1;
    if (!this.filterChunked && !this.filterKeepsLength) this.clientKeepAlive = false;
    // Cut the payload from the upstream framing: HTTP/1.0's dechunking and re-chunking are
    // decided again here, by the filtered output.
    if (this.resKind === Body.Dechunk) this.resKind = Body.Chunked;
    else if (this.resKind === Body.Rechunk) this.resKind = Body.Close;
    if (this.resKind === Body.Chunked) {
      if (this.filterScanner) this.filterScanner.reset();
      else this.filterScanner = new ChunkedScanner({ side: 'response', onData: (b, start, end) => this.feedFilters(start === 0 && end === b.length ? b : b.subarray(start, end)) });
    }
    if (this.owner.draining) this.clientKeepAlive = false;
    const out = buildClientHead(this.status, r.reason, headers, r.connectionTokens, this.filterKeepsLength ? 'keep' : this.filterChunked ? 'chunk' : 'none', this.clientKeepAlive, undefined, head.versionMinor);
    this.bytesOut += out.length;
    this.socket.write(out, 'latin1');
    if (this.resKind === Body.None || (this.resKind === Body.Length && this.resRemaining === 0)) {
      // A bodyless upstream answer (a 304 a cache turned into its stored 200, a Content-Length: 0):
      // the filters end now, or make the body themselves.
      if (bodyOff < buf.length) this.resReusable = false;
      this.releaseUpstream();
      this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
      filters[filters.length - 1]!.end();
      return;
    }
    if (bodyOff < buf.length) this.filterResponseBody(buf, bodyOff, buf.length);
  }

  /** Upstream bytes of a filtered response: payload to the innermost filter, pausing when it says stop. */
  private filterResponseBody(buf: Buffer, off: number, end: number): void {
    const filters = this.filters!;
    let done = false;
    this.filterBlocked = false;
    if (this.resKind === Body.Length) {
      const n = Math.min(end - off, this.resRemaining);
      this.resRemaining -= n;
      done = this.resRemaining === 0;
      if (off + n < end) this.resReusable = false;
      if (n > 0) this.feedFilters(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
    } else if (this.resKind === Body.Chunked) {
      const scanner = this.filterScanner!;
      const n = scanner.scan(buf, off, end); // payload goes to the filters through feedFilters
      if (scanner.error) {
        this.abortBoth();
        return;
      }
      done = scanner.done;
      if (done && off + n < end) this.resReusable = false;
    } else {
      this.feedFilters(off === 0 ? buf : buf.subarray(off, end));
    }
    if (this.filters !== filters) return; // a filter ended or failed the exchange meanwhile
    if (done) {
      this.releaseUpstream();
      this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
      filters[filters.length - 1]!.end();
    } else if (this.filterBlocked) {
      this.conn?.socket.pause();
      this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
    } else {
      this.setReadDeadline();
    }
  }

  private feedFilters(chunk: Buffer): void {
    const filters = this.filters;
    if (filters === undefined || chunk.length === 0) return;
    if (!filters[filters.length - 1]!.write(chunk)) this.filterBlocked = true;
  }

  /** The outermost filter's output: one chunk per push to HTTP/1.1 clients, raw bytes to 1.0. */
  private pushFilteredToClient(chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    const s = this.socket;
    let ok: boolean;
    if (this.filterChunked) {
      s.cork();
      s.write(chunk.length.toString(16) + '\r\n', 'latin1');
      s.write(chunk);
      ok = s.write(CRLF);
      s.uncork();
    } else {
      ok = s.write(chunk);
    }
    this.bytesOut += chunk.length;
    if (!ok) this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs);
    return ok;
  }

  private endFilteredResponse(): void {
    if (this.filterChunked) this.socket.write(LAST_CHUNK);
    this.filters = undefined;
    // A filter that ended before the upstream body did: that connection cannot be reused.
    if (this.conn) this.resReusable = false;
    this.finishExchange();
  }

  /** Returns the upstream connection once its body is read, while the filters may still be writing. */
  private releaseUpstream(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) {
      conn.owner = undefined;
      this.route!.group.release(conn, this.resReusable && this.reqDone && !conn.closed);
    }
  }

  private destroyFilters(): void {
    const filters = this.filters;
    if (filters === undefined) return;
    this.filters = undefined;
    for (const f of filters) {
      try { f.destroy(); } catch { /* the exchange is over either way */ }
    }
  }

  private writeDechunked(buf: Buffer, start: number, end: number): void {
    this.bytesOut += end - start;
    if (!this.socket.write(start === 0 && end === buf.length ? buf : buf.subarray(start, end))) this.dechunkWritesOk = false;
  }

  onUpstreamClose(error: Error | undefined): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.route!.group.release(conn, false);
    if (this.phase === Phase.Tunnel) {
      // A reset upstream resets the client; a clean close ends it after what was already sent.
      if (error) {
        this.socket.resetAndDestroy();
        this.onClientClose();
      } else this.socket.end();
      return;
    }
    if (this.phase !== Phase.Exchange) return;
    if (this.resHead === undefined) {
      // Reset before any response byte. A reused keep-alive connection may
      // have been closed by the upstream as we sent: retry once on a fresh
      // one when the request has no body (nothing of it can be lost) and is
      // idempotent (the upstream may have acted on it before closing).
      if (this.connReused && !this.retried && this.reqKind === Body.None && this.resBuf === undefined && isIdempotent(this.head!.method)) {
        this.retried = true;
        this.phase = Phase.Dispatch;
        this.connectUpstream();
        return;
      }
      this.failExchange(502, error ? 'upstream connection reset' : 'upstream closed the connection before answering', false);
      return;
    }
    if (this.filters !== undefined && this.resKind === Body.Close) {
      this.setDeadline(Deadline.Write, this.route!.writeTimeoutMs); // the filters still write
      this.filters[this.filters.length - 1]!.end();
      return;
    }
    if (this.resKind === Body.Close || this.resKind === Body.Rechunk) {
      if (this.resKind === Body.Rechunk) this.socket.write(LAST_CHUNK);
      this.finishExchange();
      return;
    }
    // Truncated body: the only honest signal left is to close the client connection.
    this.abortBoth();
  }

  private startTunnel(buf: Buffer, off: number, r: ResponseHead): void {
    this.status = 101;
    this.phase = Phase.Tunnel;
    const out = buildClientHead(101, r.reason, r.headers, [], 'keep', true, undefined);
    // buildClientHead drops Upgrade/Connection as hop-by-hop; a 101 must carry them.
    const up = r.upgrade ?? 'websocket';
    const head101 = out.slice(0, -2) + 'upgrade: ' + up + '\r\nconnection: upgrade\r\n\r\n';
    this.socket.write(head101, 'latin1');
    this.bytesOut += head101.length;
    const rest = off + r.headBytes;
    if (rest < buf.length) {
      this.socket.write(buf.subarray(rest));
      this.bytesOut += buf.length - rest;
    }
    // Bytes the client sent after its upgrade request belong to the tunnel.
    if (this.input !== undefined && this.inputOff < this.input.length) {
      this.conn!.socket.write(this.input.subarray(this.inputOff));
      this.input = undefined;
      this.inputOff = 0;
    }
    this.socket.setTimeout(0);
    this.setDeadline(Deadline.TunnelIdle, this.route!.group.config.timeouts.idleMs);
    this.resumeClient();
  }

  private tunnelToUpstream(chunk: Buffer): void {
    const conn = this.conn;
    if (!conn) return;
    this.setDeadline(Deadline.TunnelIdle, this.route!.group.config.timeouts.idleMs);
    if (!conn.socket.write(chunk)) {
      this.upstreamBlocked = true;
      this.pauseClient();
    }
  }

  // ---- endings ----------------------------------------------------------------

  /** The response is complete: return the upstream connection if clean, then serve the next request. */
  private finishExchange(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) {
      const reusable = this.resReusable && this.reqDone && !conn.closed;
      conn.owner = undefined;
      this.route!.group.release(conn, reusable);
    }
    this.endExchange();
  }

  /** Ends the current exchange (any outcome): log, then next request or close. */
  private endExchange(): void {
    this.finishRecord();
    // A response that announced keep-alive is not followed by a close the client cannot see coming,
    // unless the drain's lame-duck window is over (SessionActor.startDrain).
    if (!this.clientKeepAlive || this.owner.closingIdle) {
      this.phase = Phase.Closed;
      this.socket.end();
      // end() only sends our FIN: a client that never closes its side would hold the socket
      // forever. The session stays with its owner until 'close', and the sweeper destroys
      // the socket if that takes longer than a request head may take.
      this.lingering = true;
      const headerMs = this.owner.snapshot().timeouts.headerMs;
      this.setDeadline(Deadline.Linger, headerMs > 0 ? headerMs : LINGER_FALLBACK_MS);
      // Read (and drop, see onData) what the client still sends: a paused socket would never
      // see the client's FIN or reset, and unread bytes at close() turn our FIN into a reset
      // that can destroy the response before the client read it (nginx's lingering close).
      this.resumeClient();
      return;
    }
    this.resetExchange();
    this.phase = Phase.Head;
    this.setDeadline(Deadline.Idle, this.owner.snapshot().timeouts.clientIdleMs);
    if (this.input !== undefined && this.inputOff < this.input.length) this.processInput();
    else {
      this.input = undefined; // nothing pipelined: do not pin the last read buffer while idle
      if (this.paused) this.resumeClient();
    }
  }

  /** Fails the current request with `status` if no response byte went out yet; else closes. */
  private failExchange(status: number, detail: string, destroyUpstream: boolean): void {
    if (this.phase === Phase.Closed) return;
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.route!.group.release(conn, false);
    void destroyUpstream;
    if (this.resHead !== undefined || this.phase === Phase.Tunnel) {
      this.abortClient();
      return;
    }
    this.status = status;
    this.clientKeepAlive = false;
    this.writeClient(errorResponse(status, this.requestId, false, undefined, detail));
    this.endExchange();
  }

  private respondErrorAndClose(status: number, detail: string): void {
    this.status = status;
    this.clientKeepAlive = false;
    this.writeClient(errorResponse(status, this.requestId, false, undefined, detail));
    this.endExchange();
  }

  /** A proxy-generated answer (404/405) that keeps the connection when the request had no body. */
  private respondLocal(status: number, headers: string[] | undefined, detail: string): void {
    this.status = status;
    if (!this.reqDone) this.clientKeepAlive = false;
    this.writeClient(errorResponse(status, this.requestId, this.clientKeepAlive, headers, detail));
    this.endExchange();
  }

  private abortBoth(): void {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.route!.group.release(conn, false);
    this.abortClient();
  }

  private abortClient(): void {
    this.finishRecordOnce();
    this.socket.destroy();
    this.onClientClose();
  }

  private writeClient(data: Buffer): void {
    this.bytesOut += data.length;
    this.socket.write(data);
  }

  private recorded = false;

  private finishRecordOnce(): void {
    if (!this.recorded) this.finishRecord();
  }

  private finishRecord(): void {
    if (this.recorded) return;
    this.recorded = true;
    const route = this.route;
    const ctx = this.ctx;
    if (route && ctx) {
      for (const mw of route.middleware) {
        if (!mw.onDone) continue;
        try { mw.onDone(ctx, this.status); } catch { /* accounting must not fail a finished request */ }
      }
    }
    if (!this.owner.accessLogEnabled) return;
    const head = this.head;
    this.owner.exchangeDone({
      time: Date.now(),
      requestId: this.requestId,
      clientAddress: this.clientAddress,
      clientPort: this.clientPort,
      method: head?.method ?? '-',
      uri: head?.target ?? '-',
      protocol: head ? (head.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0') : '-',
      status: this.status,
      bytesSent: this.bytesOut,
      bytesReceived: this.bytesIn,
      requestTimeMs: performance.now() - this.startedAt,
      upstreamAddress: this.upstreamAddress,
      upstreamConnectMs: this.upstreamConnectMs,
      upstreamResponseMs: this.upstreamFirstByteMs,
      route: route?.name ?? '-',
      headers: head?.headers ?? [],
      tlsSni: '',
      locals: ctx?.locals,
    });
  }

  private resetExchange(): void {
    this.pendingHead = undefined;
    this.routing = undefined;
    this.head = undefined;
    this.route = undefined;
    this.ctx = undefined;
    this.reqKind = Body.None;
    this.reqRemaining = 0;
    this.reqBodyBytes = 0;
    this.reqDone = true;
    if (this.pendingBody !== undefined) this.pendingBody.length = 0;
    this.pendingBytes = 0;
    this.connReused = false;
    this.retried = false;
    this.upstreamBlocked = false;
    this.resBuf = undefined;
    this.resHead = undefined;
    this.resKind = Body.None;
    this.resReusable = true;
    this.upstreamConnectMs = -1;
    this.upstreamFirstByteMs = -1;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.status = 0;
    this.upstreamAddress = '-';
    this.recorded = false;
    this.filters = undefined;
    this.filterBlocked = false;
  }

  // ---- flow control and deadlines ----------------------------------------------

  private pauseClient(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resumeClient(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  private setDeadline(kind: Deadline, ms: number): void {
    if (ms <= 0) {
      this.deadlineKind = Deadline.None;
      return;
    }
    this.deadlineKind = kind;
    this.deadline = Date.now() + ms;
  }

  private setReadDeadline(): void {
    this.setDeadline(Deadline.UpstreamRead, this.route!.readTimeoutMs);
  }
}
