/**
 * The `rate-limit` middleware: a token bucket (rate + burst) per key (client
 * IP, the api-key middleware's key name, the route, or a request header),
 * shared by all workers of this zproxy through SharedBuckets and, with
 * backend "redis", by every instance through RedisLimiter. An empty bucket
 * answers 429 with Retry-After and the IETF draft RateLimit-Limit /
 * RateLimit-Remaining / RateLimit-Reset fields
 * (draft-ietf-httpapi-ratelimit-headers); allowed responses carry the
 * RateLimit-* fields too.
 *
 * With Redis the local bucket still applies first (one process can never
 * exceed the global budget, so it costs nothing to check and it keeps
 * limiting when Redis is down); Redis then decides for all instances. Redis
 * unreachable: failMode "open" lets the request through (local limit only),
 * "closed" answers 503.
 */
import type { RateLimitMiddlewareConfig } from '../../../src/config/types.js';
import { CONTINUE, type Middleware, type MiddlewareDecision, type RespondDecision } from '../middleware.js';
import { getHeader, setHeader, type RequestContext, type ResponseContext } from '../request-context.js';
import { API_KEY_NAME_LOCAL } from '../api-key.js';
import { MAX_TAU_US, newVerdict, type SharedBuckets } from './shared-buckets.js';
import type { RedisLimiter } from './redis-limiter.js';

/** Requests without the keyed value (no api-key name, no such header) share this one bucket. */
const MISSING_KEY = '-';

export class RateLimitMiddleware implements Middleware {
  private readonly intervalUs: number;
  private readonly tauUs: number;
  private readonly keyOf: (ctx: RequestContext) => string;
  private readonly prefix: string;
  private readonly verdict = newVerdict();
  private readonly limitValue: string;
  /** ctx.locals keys where onRequest leaves the numbers for onResponseHead. */
  private readonly remainingLocal: string;
  private readonly resetLocal: string;

  constructor(
    readonly name: string,
    private readonly config: RateLimitMiddlewareConfig,
    private readonly buckets: SharedBuckets,
    private readonly redis: RedisLimiter | undefined,
  ) {
    this.intervalUs = 1e6 / config.rate;
    this.tauUs = Math.min(config.burst * this.intervalUs, MAX_TAU_US);
    this.keyOf = keyFunction(config.key);
    // The middleware name scopes the buckets: two limits on the same key never share a bucket.
    this.prefix = `${name}\u0000`;
    this.limitValue = String(config.burst);
    this.remainingLocal = `rateLimit.${name}.remaining`;
    this.resetLocal = `rateLimit.${name}.reset`;
  }

  /**
   * When: after routing (and after api-key when keyed by api-key). Result:
   * continue (a token was taken), or respond 429 (bucket empty) / 503 (Redis
   * unreachable with failMode "closed"). A promise only with backend redis.
   */
  onRequest(ctx: RequestContext): MiddlewareDecision | Promise<MiddlewareDecision> {
    const key = this.prefix + this.keyOf(ctx);
    const v = this.buckets.take(key, this.intervalUs, this.tauUs, this.verdict);
    if (!v.allowed) return this.tooMany(v.retryAfterUs, v.resetUs);
    ctx.locals[this.remainingLocal] = String(v.remaining);
    ctx.locals[this.resetLocal] = String(seconds(v.resetUs));
    if (this.redis === undefined) return CONTINUE;
    return this.redis.take(key, this.intervalUs, this.tauUs).then(
      (r) => {
        if (!r.allowed) return this.tooMany(r.retryAfterUs, r.resetUs);
        // The global bucket is the tighter one: report what it says.
        const remaining = Math.max(0, Math.floor((this.tauUs - r.resetUs) / this.intervalUs + 1e-9));
        if (remaining < Number(ctx.locals[this.remainingLocal])) ctx.locals[this.remainingLocal] = String(remaining);
        ctx.locals[this.resetLocal] = String(Math.max(seconds(r.resetUs), Number(ctx.locals[this.resetLocal])));
        return CONTINUE;
      },
      () => (this.config.redis?.failMode === 'closed' ? REDIS_DOWN : CONTINUE),
    );
  }

  /** When: the upstream answered. Adds RateLimit-* so clients can pace themselves before they hit 429. */
  onResponseHead(ctx: RequestContext, res: ResponseContext): void {
    const remaining = ctx.locals[this.remainingLocal];
    if (remaining === undefined) return;
    setHeader(res.headers, 'RateLimit-Limit', this.limitValue);
    setHeader(res.headers, 'RateLimit-Remaining', remaining);
    setHeader(res.headers, 'RateLimit-Reset', ctx.locals[this.resetLocal] ?? '0');
  }

  private tooMany(retryAfterUs: number, resetUs: number): RespondDecision {
    const retry = String(Math.max(1, seconds(retryAfterUs)));
    return {
      kind: 'respond',
      status: 429,
      headers: ['Retry-After', retry, 'RateLimit-Limit', this.limitValue, 'RateLimit-Remaining', '0', 'RateLimit-Reset', String(Math.max(1, seconds(resetUs)))],
      body: '429 Too Many Requests: rate limit exceeded\n',
    };
  }
}

const REDIS_DOWN: RespondDecision = Object.freeze({
  kind: 'respond',
  status: 503,
  headers: ['Retry-After', '1'],
  body: '503 Service Unavailable: rate limit backend unreachable\n',
});

function seconds(us: number): number {
  return Math.ceil(us / 1e6);
}

function keyFunction(key: RateLimitMiddlewareConfig['key']): (ctx: RequestContext) => string {
  if (key === 'ip') return (ctx) => ctx.clientAddress;
  if (key === 'route') return (ctx) => ctx.routeName;
  if (key === 'api-key') return (ctx) => ctx.locals[API_KEY_NAME_LOCAL] ?? MISSING_KEY;
  const header = key.slice('header:'.length).toLowerCase();
  return (ctx) => getHeader(ctx.headers, header) ?? MISSING_KEY;
}
