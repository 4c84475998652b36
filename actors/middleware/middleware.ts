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
  /** When: the exchange is over (completed, failed or aborted). For logging and accounting. */
  onDone?(ctx: RequestContext, status: number): void;
}
