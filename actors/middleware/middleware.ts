/**
 * The middleware interface: a request's life as named phases, each run in
 * route order. A phase that is not implemented costs nothing. Middlewares
 * never touch sockets (Envoy's filter rule): they see a RequestContext and
 * return a decision.
 */
import type { RequestContext, ResponseContext } from './request-context.js';

/** Go on to the next middleware (and finally the upstream). */
export interface ContinueDecision { readonly kind: 'continue' }
/** Answer the client now; the upstream is never contacted. */
export interface RespondDecision {
  readonly kind: 'respond';
  readonly status: number;
  /** Flat [name, value, ...] pairs. */
  readonly headers?: readonly string[];
  readonly body?: string | Buffer;
}
/**
 * Change what is sent upstream, then continue: a new path (with query) and
 * header edits. Equivalent to editing ctx directly; explicit so a plugin's
 * intent shows in its return value.
 */
export interface RewriteDecision {
  readonly kind: 'rewrite';
  readonly path?: string;
  readonly setHeaders?: Readonly<Record<string, string>>;
  readonly removeHeaders?: readonly string[];
}
export type MiddlewareDecision = ContinueDecision | RespondDecision | RewriteDecision;

export const CONTINUE: ContinueDecision = Object.freeze({ kind: 'continue' });

export interface Middleware {
  readonly name: string;
  /**
   * When: after routing, before an upstream host is picked; the request head
   * is final once the last middleware returns. Result: continue, respond
   * (short-circuit with a response) or rewrite. May return a promise (a
   * remote rate limiter); synchronous results keep the hot path free of
   * promise allocation. A throw becomes a 500 for this request only.
   */
  onRequest?(ctx: RequestContext): MiddlewareDecision | Promise<MiddlewareDecision>;
  /**
   * When: the upstream response head has arrived, before it is written to the
   * client. May edit `res.headers` (flat pairs) and `res.status`. Runs in
   * reverse route order, like unwinding a stack.
   */
  onResponseHead?(ctx: RequestContext, res: ResponseContext): void;
  /**
   * When: after every middleware's onResponseHead, only for a response that
   * carries a body to the client (not HEAD, 1xx, 204, 304), called outermost
   * first so each filter is handed its downstream. Result: a filter that
   * receives the response payload (framing already removed) and passes what
   * it makes of it to `next`, or undefined to leave the body alone.
   * Pingora's response_body_filter. Cost: a route none of whose middlewares
   * implements this keeps the zero-copy path; when a filter is installed the
   * session drops Content-Length and re-frames (chunked to HTTP/1.1 clients,
   * close-delimited to HTTP/1.0). Payload flows innermost filter (nearest the
   * upstream) to outermost (nearest the client), like onResponseHead.
   * A filter may answer a bodyless upstream response (a 304 it turned into a
   * 200) with bytes of its own: its end() is then called with no write().
   */
  onResponseBody?(ctx: RequestContext, res: ResponseContext, next: ResponseBodyLink): ResponseBodyFilter | undefined;
  /** When: the exchange is over (completed, failed or aborted). For logging and accounting. */
  onDone?(ctx: RequestContext, status: number): void;
}

/**
 * What a body filter writes to, and how it tells its producer to go on. The
 * session builds one link per filter: `push` leads to the next filter out (or
 * the client), `ready` to the producer in front (the next filter in, or the
 * upstream socket).
 */
export interface ResponseBodyLink {
  /** Passes bytes on. False: the consumer is full; wait for the filter's drained() before pushing more. */
  push(chunk: Buffer): boolean;
  /** The filtered body is complete. */
  end(): void;
  /** The filter cannot go on: the client's response is aborted (its head is already out). */
  fail(err: unknown): void;
  /** After this filter's write() returned false: it can take bytes again. */
  ready(): void;
}

/** One exchange's body transformation (see Middleware.onResponseBody). */
export interface ResponseBodyFilter {
  /**
   * True for a filter that pushes every payload byte on unchanged (a tee).
   * When every filter of an exchange says so and the upstream sent a
   * Content-Length, the client keeps that Content-Length instead of chunks.
   */
  readonly preservesLength?: boolean;
  /** Payload bytes in order. False: stop writing until the filter calls link.ready(). */
  write(chunk: Buffer): boolean;
  /** No more payload: flush and call link.end(). */
  end(): void;
  /** The consumer (link.push returned false before) can take bytes again. */
  drained(): void;
  /** The exchange was aborted: release what the filter holds; call nothing on the link. */
  destroy(): void;
}
