/**
 * The response cache as middleware: looks up GET/HEAD requests in the shared
 * cache (cache thread, over this worker's CacheClient), answers fresh hits
 * without the upstream, revalidates stale entries with the upstream
 * (If-None-Match / If-Modified-Since; a 304 refreshes the entry and is
 * answered from it), and tees cacheable upstream responses into the store.
 * The freshness rules are src/protocol/http-cache/freshness.ts.
 * Headers: X-Cache HIT | MISS | STALE | REVALIDATED | BYPASS, and Age on
 * answers from the cache. Cache key: request host + path with query, after
 * rewrites of earlier middlewares.
 */
import type { CacheMiddlewareConfig } from '../../src/config/types.js';
import {
  clientConditionalMatches, currentAgeMs, decideStore, headerValue, notModifiedHeaders, refreshHeaders,
  requestCacheControl, varyValues, type RequestCacheControl,
} from '../../src/protocol/http-cache/freshness.js';
import type { CacheClient } from '../cache/cache-client.js';
import type { LookupResult, StoredResponse, StoreLimits } from '../cache/cache-protocol.js';
import { CONTINUE, type Middleware, type MiddlewareDecision, type ResponseBodyFilter, type ResponseBodyLink } from './middleware.js';
import type { RequestContext, ResponseContext } from './request-context.js';

/** Fields never stored: recomputed per answer (Age, X-Cache) or framing of one message. */
const NOT_STORED: ReadonlySet<string> = new Set(['age', 'x-cache', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);
const CONDITIONALS = ['if-none-match', 'if-modified-since'];

type Exchange =
  | { mode: 'bypass' }
  | { mode: 'revalidate'; key: string; token: number; entry: StoredResponse; clientHeaders: readonly string[]; requestTimeMs: number; body?: Buffer }
  | { mode: 'miss'; key: string; token: number; requestTimeMs: number; status: 'MISS' | 'STALE'; collect?: Collecting };

interface Collecting {
  readonly stored: Omit<StoredResponse, 'body'>;
}

export class CacheMiddleware implements Middleware {
  private readonly exchanges = new WeakMap<RequestContext, Exchange>();
  /** Exchanges over (onDone ran) while their lookup was in flight: a lock granted to them is given back. */
  private readonly finished = new WeakSet<RequestContext>();
  private readonly limits: StoreLimits;

  constructor(readonly name: string, private readonly config: CacheMiddlewareConfig, private readonly client: CacheClient) {
    this.limits = { maxBytes: config.maxBytes, maxObjectBytes: Math.min(config.maxObjectBytes, config.maxBytes) };
  }

  /**
   * When: before the upstream. GET and HEAD are looked up (a promise: the
   * lookup crosses to the cache thread; concurrent misses of one key wait
   * there for the first one's fill). Result: respond (a fresh hit, or 304 to
   * the client's own matching conditional), rewrite (revalidate a stale entry
   * with its validators) or continue (miss, bypass, other methods).
   */
  onRequest(ctx: RequestContext): MiddlewareDecision | Promise<MiddlewareDecision> {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return CONTINUE;
    const req = requestCacheControl(ctx.headers);
    if (req.noStore) {
      this.exchanges.set(ctx, { mode: 'bypass' });
      return CONTINUE;
    }
    const key = (ctx.host ?? '').toLowerCase() + ctx.path;
    // HEAD never fills (no body to store); it is answered from GET entries.
    return this.client.lookup(this.name, this.limits, key, ctx.headers, ctx.method === 'GET')
      .then((r) => this.onLookup(ctx, key, req, r));
  }

  private onLookup(ctx: RequestContext, key: string, req: RequestCacheControl, r: LookupResult): MiddlewareDecision {
    if (this.finished.has(ctx)) {
      if (r.token > 0) this.client.send({ kind: 'cache.abandon', store: this.name, key, token: r.token });
      return CONTINUE; // the session ignores it: the client is gone
    }
    const now = Date.now();
    if (r.k === 'miss') {
      this.exchanges.set(ctx, { mode: 'miss', key, token: r.token, requestTimeMs: now, status: 'MISS' });
      return CONTINUE;
    }
    const entry = r.entry;
    const ageMs = currentAgeMs(entry.initialAgeMs, entry.storedAtMs, now);
    const fresh = r.fresh && !req.revalidate && (req.maxAgeMs === undefined || ageMs <= req.maxAgeMs);
    if (fresh) return answerFromEntry(ctx, entry, ageMs, 'HIT');
    const etag = headerValue(entry.headers, 'etag');
    const lastModified = headerValue(entry.headers, 'last-modified');
    // Serving the stored body after a 304 needs the body phase; without it a stale entry is refetched.
    if ((etag === undefined && lastModified === undefined) || ctx.bodyFilters !== true) {
      this.exchanges.set(ctx, { mode: 'miss', key, token: r.token, requestTimeMs: now, status: 'STALE' });
      return CONTINUE;
    }
    // Revalidate with our validators, not the client's: the client's are answered from the entry.
    const clientHeaders = ctx.headers.slice();
    const setHeaders: Record<string, string> = {};
    if (etag !== undefined) setHeaders['If-None-Match'] = etag;
    if (lastModified !== undefined) setHeaders['If-Modified-Since'] = lastModified;
    this.exchanges.set(ctx, { mode: 'revalidate', key, token: r.token, entry, clientHeaders, requestTimeMs: now });
    return { kind: 'rewrite', removeHeaders: CONDITIONALS, setHeaders };
  }

  /**
   * When: the upstream head is in (after inner middlewares, e.g. compression,
   * edited it: the stored variant is what the client gets). A 304 to our
   * revalidation refreshes the entry and becomes the stored response (or a
   * 304 to the client's own conditional); a cacheable response starts a fill.
   */
  onResponseHead(ctx: RequestContext, res: ResponseContext): void {
    const ex = this.exchanges.get(ctx);
    if (ex === undefined) return;
    if (ex.mode === 'bypass') {
      res.headers.push('X-Cache', 'BYPASS');
      return;
    }
    if (ex.mode === 'revalidate') {
      if (res.status !== 304) {
        // The entry changed upstream: this response replaces it like a miss's.
        const miss: Exchange = { mode: 'miss', key: ex.key, token: ex.token, requestTimeMs: ex.requestTimeMs, status: 'STALE' };
        this.exchanges.set(ctx, miss);
        return this.startFill(ctx, res, miss);
      }
      return this.answerRevalidated(ctx, res, ex);
    }
    this.startFill(ctx, res, ex);
  }

  private answerRevalidated(ctx: RequestContext, res: ResponseContext, ex: Exchange & { mode: 'revalidate' }): void {
    const now = Date.now();
    const headers = refreshHeaders(ex.entry.headers, res.headers);
    const d = decideStore({ method: 'GET', status: ex.entry.status, requestHeaders: ex.clientHeaders, responseHeaders: headers, defaultTtlMs: this.config.defaultTtlMs, requestTimeMs: ex.requestTimeMs, responseTimeMs: now });
    if (d.store) {
      this.client.send({ kind: 'cache.refresh', store: this.name, key: ex.key, token: ex.token, varyValues: ex.entry.varyValues, headers, storedAtMs: now, initialAgeMs: d.initialAgeMs, freshnessMs: d.freshnessMs });
    } else if (ex.token > 0) {
      this.client.send({ kind: 'cache.abandon', store: this.name, key: ex.key, token: ex.token });
    }
    ex.token = 0;
    const ageMs = d.store ? d.initialAgeMs : 0;
    if (clientConditionalMatches(ex.clientHeaders, headers)) {
      res.headers = [...notModifiedHeaders(headers), 'Age', String(Math.floor(ageMs / 1000)), 'X-Cache', 'REVALIDATED'];
      return;
    }
    res.status = ex.entry.status;
    res.headers = [...headers, 'Content-Length', String(ex.entry.body.byteLength), 'Age', String(Math.floor(ageMs / 1000)), 'X-Cache', 'REVALIDATED'];
    ex.body = Buffer.from(ex.entry.body.buffer, ex.entry.body.byteOffset, ex.entry.body.byteLength);
  }

  private startFill(ctx: RequestContext, res: ResponseContext, ex: Exchange & { mode: 'miss' }): void {
    const d = ctx.method === 'GET'
      ? decideStore({ method: 'GET', status: res.status, requestHeaders: ctx.headers, responseHeaders: res.headers, defaultTtlMs: this.config.defaultTtlMs, requestTimeMs: ex.requestTimeMs, responseTimeMs: Date.now() })
      : undefined;
    const length = headerValue(res.headers, 'content-length');
    // Filling needs the body phase (the tee); a session without it only reads the cache.
    if (d === undefined || !d.store || ctx.bodyFilters !== true || (length !== undefined && Number(length) > this.limits.maxObjectBytes)) {
      this.abandon(ex);
    } else {
      const stored: string[] = [];
      for (let i = 0; i < res.headers.length; i += 2) if (!NOT_STORED.has(res.headers[i]!.toLowerCase())) stored.push(res.headers[i]!, res.headers[i + 1]!);
      ex.collect = {
        stored: {
          status: res.status, headers: stored, storedAtMs: Date.now(), initialAgeMs: d.initialAgeMs, freshnessMs: d.freshnessMs,
          varyNames: d.varyNames, varyValues: varyValues(ctx.headers, d.varyNames), sharedAuthorized: d.sharedAuthorized,
        },
      };
      // Bodyless statuses never reach onResponseBody: store them now.
      if (res.status === 204) this.store(ex, Buffer.alloc(0));
    }
    res.headers.push('X-Cache', ex.status);
  }

  /**
   * When: the head is final and a body goes to the client. Result: a tee that
   * passes the payload on unchanged while keeping a copy up to maxObjectBytes
   * (past it the fill is abandoned and the rest streams through), or the
   * stored body of a revalidated entry. Undefined when neither applies.
   */
  onResponseBody(ctx: RequestContext, _res: ResponseContext, link: ResponseBodyLink): ResponseBodyFilter | undefined {
    const ex = this.exchanges.get(ctx);
    if (ex === undefined || ex.mode === 'bypass') return undefined;
    if (ex.mode === 'revalidate') {
      const body = ex.body;
      if (body === undefined) return undefined;
      return {
        write: () => true, // a 304 has no payload of its own
        end: () => { link.push(body); link.end(); },
        drained: () => {},
        destroy: () => {},
      };
    }
    if (ex.collect === undefined) return undefined;
    return new TeeFilter(link, this.limits.maxObjectBytes, (body) => this.store(ex, body), () => this.abandon(ex));
  }

  /** When: the exchange is over. A fill that did not complete releases its lock so waiters go upstream. */
  onDone(ctx: RequestContext): void {
    const ex = this.exchanges.get(ctx);
    this.exchanges.delete(ctx);
    this.finished.add(ctx);
    if (ex !== undefined && ex.mode !== 'bypass' && ex.token > 0) {
      this.client.send({ kind: 'cache.abandon', store: this.name, key: ex.key, token: ex.token });
      ex.token = 0;
    }
  }

  private store(ex: Exchange & { mode: 'miss' }, body: Buffer): void {
    const collect = ex.collect!;
    ex.collect = undefined;
    this.client.send({ kind: 'cache.store', store: this.name, key: ex.key, token: ex.token, entry: { ...collect.stored, body } });
    ex.token = 0;
  }

  private abandon(ex: Exchange & { mode: 'miss' }): void {
    ex.collect = undefined;
    if (ex.token > 0) this.client.send({ kind: 'cache.abandon', store: this.name, key: ex.key, token: ex.token });
    ex.token = 0;
  }
}

/** A stored entry as a response: 304 for the client's own matching conditional, else the entry with Age. */
function answerFromEntry(ctx: RequestContext, entry: StoredResponse, ageMs: number, xCache: string): MiddlewareDecision {
  const age = String(Math.floor(ageMs / 1000));
  if (clientConditionalMatches(ctx.headers, entry.headers)) {
    return { kind: 'respond', status: 304, headers: [...notModifiedHeaders(entry.headers), 'Age', age, 'X-Cache', xCache] };
  }
  return {
    kind: 'respond',
    status: entry.status,
    headers: [...entry.headers, 'Age', age, 'X-Cache', xCache],
    body: Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength),
  };
}

/**
 * The body in shared memory: a SharedArrayBuffer crosses threads by
 * reference, so a hit of any size reaches a worker without a copy (a plain
 * buffer is copied by structured clone on the way in and again on every hit:
 * measured ~1.2 ms per 1 MiB hit against the shared one's constant cost).
 * Entries are never written after this, so sharing needs no locking.
 */
function sharedCopy(chunks: readonly Buffer[], bytes: number): Buffer {
  const out = Buffer.from(new SharedArrayBuffer(bytes));
  let off = 0;
  for (const c of chunks) off += c.copy(out, off);
  return out;
}

/** Passes the payload through unchanged, keeping a copy for the store while it fits maxObjectBytes. */
class TeeFilter implements ResponseBodyFilter {
  readonly preservesLength = true;
  private chunks: Buffer[] | undefined = [];
  private bytes = 0;

  constructor(
    private readonly link: ResponseBodyLink,
    private readonly maxBytes: number,
    private readonly onComplete: (body: Buffer) => void,
    private readonly onTooLarge: () => void,
  ) {}

  write(chunk: Buffer): boolean {
    if (this.chunks !== undefined) {
      this.bytes += chunk.length;
      if (this.bytes > this.maxBytes) {
        this.chunks = undefined;
        this.onTooLarge();
      } else {
        this.chunks.push(chunk);
      }
    }
    return this.link.push(chunk);
  }

  end(): void {
    if (this.chunks !== undefined) {
      this.onComplete(sharedCopy(this.chunks, this.bytes));
      this.chunks = undefined;
    }
    this.link.end();
  }

  drained(): void {
    this.link.ready();
  }

  destroy(): void {
    this.chunks = undefined; // onDone abandons the fill
  }
}
