/**
 * A `plugin` middleware with `pool: true`: its onRequest runs in a piscina
 * worker pool, so CPU-heavy work (signature checks, body-free payload
 * inspection, expensive lookups) never stalls the session thread, which
 * keeps serving other connections meanwhile. The request crosses threads as
 * a plain copy (PoolRequest); the answer is a plain decision (continue,
 * respond, rewrite). The price is a thread hop (tens of microseconds) per
 * request: use it only when the work costs more than that.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import { ZproxyError } from '../../../src/kernel/errors.js';
import type { Middleware, MiddlewareDecision } from '../middleware.js';
import type { RequestContext } from '../request-context.js';

/** What a pool plugin's onRequest receives: a copy of the request, no functions. */
export interface PoolRequest {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly headers: readonly string[];
  readonly host: string | undefined;
  readonly clientAddress: string;
  readonly routeName: string;
  readonly params: Readonly<Record<string, string>>;
  readonly locals: Readonly<Record<string, string>>;
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * Threads per pool: each zproxy worker has its own pool, so a few threads each
 * are enough to keep heavy plugins off every session thread without
 * oversubscribing the machine.
 */
const MAX_POOL_THREADS = Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)));
/** An idle pool thread exits after this long; the next request starts one again. */
const POOL_IDLE_TIMEOUT_MS = 30_000;

export class PoolPluginMiddleware implements Middleware {
  private readonly pool: Piscina;

  constructor(readonly name: string, moduleUrl: string, private readonly options: Readonly<Record<string, unknown>>) {
    this.pool = new Piscina({ filename: moduleUrl, name: 'onRequest', minThreads: 0, maxThreads: MAX_POOL_THREADS, idleTimeout: POOL_IDLE_TIMEOUT_MS });
  }

  /** When: after routing. Result: the pool function's decision (a plain object), checked before it is applied. */
  onRequest(ctx: RequestContext): Promise<MiddlewareDecision> {
    const request: PoolRequest = {
      requestId: ctx.requestId, method: ctx.method, path: ctx.path, headers: ctx.headers, host: ctx.host,
      clientAddress: ctx.clientAddress, routeName: ctx.routeName, params: ctx.params, locals: ctx.locals, options: this.options,
    };
    return this.pool.run(request).then((d: unknown) => checkDecision(this.name, d));
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/** A decision from another thread is untrusted data: only the three known shapes pass (a bad one is this request's 500). */
function checkDecision(name: string, d: unknown): MiddlewareDecision {
  const kind = (d as { kind?: unknown } | null | undefined)?.kind;
  if (kind === 'continue' || kind === 'rewrite') return d as MiddlewareDecision;
  if (kind === 'respond' && Number.isInteger((d as { status?: unknown }).status)) return d as MiddlewareDecision;
  throw new ZproxyError({ code: 'middleware.plugin-decision', message: `plugin '${name}' returned ${JSON.stringify(d)?.slice(0, 100)}; expected { kind: 'continue' | 'respond' | 'rewrite' }`, source: 'middleware' });
}
