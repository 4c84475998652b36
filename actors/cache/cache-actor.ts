/**
 * The shared response cache: owns every named store (LruStore) and the fill
 * locks that coalesce concurrent misses across all workers. Takes
 * CacheMessage (lookup, store, refresh, abandon, purge, stats) and answers
 * through the reply function it is handed with each message. Runs on the
 * cache thread (cache-thread-main.ts); pure of I/O, so tests drive it directly.
 */
import { currentAgeMs, headerValue } from '../../src/protocol/http-cache/freshness.js';
import type { CacheLookup, CacheMessage, CacheReply, CacheStats, LookupResult, StoreLimits } from './cache-protocol.js';
import { LruStore } from './lru-store.js';

/**
 * How long a request waits for another request's fill of the same key
 * before going upstream itself: long enough for a typical origin answer,
 * short enough that a stuck filler does not hold its followers hostage.
 */
export const COALESCE_WAIT_MS = 5000;
/** A fill lock older than this is taken over by the next miss (its filler died or is very slow). */
export const FILL_LOCK_MS = 30_000;

interface Waiter {
  readonly msg: CacheLookup;
  readonly reply: (r: CacheReply) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface FillLock {
  readonly token: number;
  readonly expiresAtMs: number;
  waiters: Waiter[];
}

export class CacheActor {
  private readonly stores = new Map<string, LruStore>();
  private readonly locks = new Map<string, FillLock>();
  private nextToken = 1;
  private hits = 0;
  private misses = 0;
  private coalesced = 0;

  constructor(private readonly now: () => number = Date.now) {}

  receive(msg: CacheMessage, reply: (r: CacheReply) => void): void {
    switch (msg.kind) {
      case 'cache.lookup':
        return this.lookup(msg, reply);
      case 'cache.store': {
        const store = this.stores.get(msg.store);
        if (store) store.put(msg.key, msg.entry);
        return this.release(msg.store, msg.key, msg.token, true);
      }
      case 'cache.refresh': {
        const store = this.stores.get(msg.store);
        store?.refresh(msg.key, msg.varyValues, (e) => ({ ...e, headers: msg.headers, storedAtMs: msg.storedAtMs, initialAgeMs: msg.initialAgeMs, freshnessMs: msg.freshnessMs }));
        return this.release(msg.store, msg.key, msg.token, true);
      }
      case 'cache.abandon':
        return this.release(msg.store, msg.key, msg.token, false);
      case 'cache.purge': {
        let purged = 0;
        for (const store of this.stores.values()) {
          if (msg.all) purged += store.purgeAll();
          else if (msg.key !== undefined) purged += store.purgeKey(msg.key);
          else if (msg.prefix !== undefined) purged += store.purgePrefix(msg.prefix);
        }
        return reply({ kind: 'cache-client.purge-reply', id: msg.id, purged });
      }
      case 'cache.stats':
        return reply({ kind: 'cache-client.stats-reply', id: msg.id, stats: this.stats() });
      case 'cache.attach':
        return; // handled by the thread's wiring (cache-thread-main.ts)
    }
  }

  stats(): CacheStats {
    let entries = 0;
    let bytes = 0;
    let evictions = 0;
    for (const s of this.stores.values()) {
      entries += s.size;
      bytes += s.bytes;
      evictions += s.evictions;
    }
    return { entries, bytes, hits: this.hits, misses: this.misses, coalesced: this.coalesced, evictions };
  }

  private storeFor(name: string, limits: StoreLimits): LruStore {
    let store = this.stores.get(name);
    if (store === undefined) this.stores.set(name, (store = new LruStore(limits.maxBytes, limits.maxObjectBytes)));
    else if (store.maxBytes !== limits.maxBytes || store.maxObjectBytes !== limits.maxObjectBytes) store.resize(limits.maxBytes, limits.maxObjectBytes);
    return store;
  }

  private lookup(msg: CacheLookup, reply: (r: CacheReply) => void): void {
    const store = this.storeFor(msg.store, msg.limits);
    const now = this.now();
    const entry = store.find(msg.key, msg.requestHeaders);
    // RFC 9111 3.5: a stored response answers a request with Authorization only when it said so.
    const usable = entry !== undefined && (entry.sharedAuthorized || headerValue(msg.requestHeaders, 'authorization') === undefined);
    if (usable && currentAgeMs(entry.initialAgeMs, entry.storedAtMs, now) < entry.freshnessMs) {
      this.hits++;
      return reply(lookupReply(msg, { k: 'hit', fresh: true, entry, token: 0 }));
    }
    if (!msg.fill) {
      this.misses++;
      return reply(lookupReply(msg, usable ? { k: 'hit', fresh: false, entry, token: 0 } : { k: 'miss', token: 0 }));
    }
    const lockKey = msg.store + '\u0000' + msg.key;
    const lock = this.locks.get(lockKey);
    if (lock !== undefined && lock.expiresAtMs > now) {
      // Someone is fetching this key: wait for its fill instead of a second upstream request.
      this.coalesced++;
      const timer = setTimeout(() => {
        lock.waiters = lock.waiters.filter((w) => w.timer !== timer);
        reply(lookupReply(msg, { k: 'miss', token: 0 }));
      }, COALESCE_WAIT_MS);
      lock.waiters.push({ msg, reply, timer });
      return;
    }
    const token = this.nextToken++;
    this.locks.set(lockKey, { token, expiresAtMs: now + FILL_LOCK_MS, waiters: lock?.waiters ?? [] });
    this.misses++;
    reply(lookupReply(msg, usable ? { k: 'hit', fresh: false, entry, token } : { k: 'miss', token }));
  }

  /** The fill of `key` is over: waiters look again (stored) or all go upstream at once (abandoned). */
  private release(store: string, key: string, token: number, filled: boolean): void {
    const lockKey = store + '\u0000' + key;
    const lock = this.locks.get(lockKey);
    if (lock === undefined || lock.token !== token) return;
    this.locks.delete(lockKey);
    for (const w of lock.waiters) {
      clearTimeout(w.timer);
      if (filled) this.lookup(w.msg, w.reply);
      else w.reply(lookupReply(w.msg, { k: 'miss', token: 0 }));
    }
  }
}

function lookupReply(msg: CacheLookup, result: LookupResult): CacheReply {
  return { kind: 'cache-client.lookup-reply', id: msg.id, store: msg.store, key: msg.key, result };
}
