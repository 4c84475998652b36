/**
 * Messages between HTTP workers (and the main thread) and the cache thread.
 * Plain structured-cloneable objects tagged by `kind`, prefixed by the
 * receiver ('cache.' for the cache thread, 'cache-client.' for a worker).
 */

/** A stored response as it crosses threads (the body is copied by structured clone). */
export interface StoredResponse {
  readonly status: number;
  /** Flat [name, value, ...], without Age, X-Cache and framing fields. */
  readonly headers: string[];
  readonly body: Uint8Array;
  /** When the response arrived (ms since epoch), and its age then (RFC 9111 4.2.3). */
  readonly storedAtMs: number;
  readonly initialAgeMs: number;
  readonly freshnessMs: number;
  readonly varyNames: readonly string[];
  readonly varyValues: readonly string[];
  readonly sharedAuthorized: boolean;
}

export interface StoreLimits {
  readonly maxBytes: number;
  readonly maxObjectBytes: number;
}

/** A worker's request for a stored response. `fill` asks for the fill lock on a miss. */
export interface CacheLookup {
  readonly kind: 'cache.lookup';
  readonly id: number;
  readonly store: string;
  readonly limits: StoreLimits;
  readonly key: string;
  readonly requestHeaders: readonly string[];
  readonly fill: boolean;
}
/** The filler's response, to store (releases the fill lock; waiters are answered). */
export interface CacheStore {
  readonly kind: 'cache.store';
  readonly store: string;
  readonly key: string;
  readonly token: number;
  readonly entry: StoredResponse;
}
/** A 304 validated a stored variant: new headers and clock (releases the lock). */
export interface CacheRefresh {
  readonly kind: 'cache.refresh';
  readonly store: string;
  readonly key: string;
  readonly token: number;
  readonly varyValues: readonly string[];
  readonly headers: string[];
  readonly storedAtMs: number;
  readonly initialAgeMs: number;
  readonly freshnessMs: number;
}
/** The filler will not store (uncacheable, too large, failed): waiters go upstream themselves. */
export interface CacheAbandon {
  readonly kind: 'cache.abandon';
  readonly store: string;
  readonly key: string;
  readonly token: number;
}
/** Removes entries: one key, every key with a prefix, or all (admin /cache/purge). */
export interface CachePurge {
  readonly kind: 'cache.purge';
  readonly id: number;
  readonly key?: string;
  readonly prefix?: string;
  readonly all?: boolean;
}
/** The main thread names a worker whose channel the cache thread should listen on. */
export interface CacheAttach {
  readonly kind: 'cache.attach';
  readonly workerId: number;
}
export interface CacheStatsRequest {
  readonly kind: 'cache.stats';
  readonly id: number;
}

export type CacheMessage = CacheLookup | CacheStore | CacheRefresh | CacheAbandon | CachePurge | CacheAttach | CacheStatsRequest;

export type LookupResult =
  /** A usable entry: fresh (serve it) or stale (revalidate it; `token` holds the fill lock when set). */
  | { readonly k: 'hit'; readonly fresh: boolean; readonly entry: StoredResponse; readonly token: number }
  /** Nothing stored: go upstream; `token` (> 0) means this request fills the entry for everyone. */
  | { readonly k: 'miss'; readonly token: number };

export interface CacheLookupReply {
  readonly kind: 'cache-client.lookup-reply';
  readonly id: number;
  /** Echoed so a worker can release a lock granted to a lookup it already gave up on. */
  readonly store: string;
  readonly key: string;
  readonly result: LookupResult;
}
export interface CachePurgeReply {
  readonly kind: 'cache-client.purge-reply';
  readonly id: number;
  readonly purged: number;
}
export interface CacheStatsReply {
  readonly kind: 'cache-client.stats-reply';
  readonly id: number;
  readonly stats: CacheStats;
}
export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
  readonly coalesced: number;
  readonly evictions: number;
}

export type CacheReply = CacheLookupReply | CachePurgeReply | CacheStatsReply;

/** BroadcastChannel names of one worker's link (one sender and one listener each: point to point). */
export function channelNames(base: string, workerId: number): { toCache: string; fromCache: string } {
  return { toCache: `${base}:w${workerId}:to-cache`, fromCache: `${base}:w${workerId}:from-cache` };
}
