/**
 * A worker's end of its link to the cache thread: sends lookups, stores,
 * refreshes and abandons, and matches lookup replies to their callers.
 * Lookups are bounded: a cache thread that does not answer (dead, or the
 * link not attached yet) turns into a miss, never a stuck request.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { COALESCE_WAIT_MS } from './cache-actor.js';
import { channelNames, type CacheMessage, type CacheReply, type LookupResult, type StoreLimits } from './cache-protocol.js';

/** A coalesced lookup may wait COALESCE_WAIT_MS for another request's fill; past that plus slack the thread is gone. */
const LOOKUP_TIMEOUT_MS = COALESCE_WAIT_MS + 2000;
const MISS: LookupResult = Object.freeze({ k: 'miss', token: 0 });

interface Pending {
  readonly resolve: (r: LookupResult) => void;
  readonly deadlineMs: number;
}

export class CacheClient {
  private readonly toCache: BroadcastChannel;
  private readonly fromCache: BroadcastChannel;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private sweep: ReturnType<typeof setInterval> | undefined;
  timeouts = 0;

  constructor(channelBase: string, workerId: number) {
    const names = channelNames(channelBase, workerId);
    this.toCache = new BroadcastChannel(names.toCache);
    this.fromCache = new BroadcastChannel(names.fromCache);
    this.fromCache.onmessage = (ev) => this.onReply((ev as MessageEvent).data as CacheReply);
    // The worker's sockets keep its loop alive; the cache link must not on its own.
    this.toCache.unref();
    this.fromCache.unref();
  }

  lookup(store: string, limits: StoreLimits, key: string, requestHeaders: readonly string[], fill: boolean): Promise<LookupResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, deadlineMs: Date.now() + LOOKUP_TIMEOUT_MS });
      // One sweep timer for all lookups (not one per request), as the actor system does for asks.
      this.sweep ??= setInterval(this.expire, 500).unref();
      this.send({ kind: 'cache.lookup', id, store, limits, key, requestHeaders, fill });
    });
  }

  send(msg: CacheMessage): void {
    this.toCache.postMessage(msg);
  }

  close(): void {
    if (this.sweep) clearInterval(this.sweep);
    for (const p of this.pending.values()) p.resolve(MISS);
    this.pending.clear();
    this.toCache.close();
    this.fromCache.close();
  }

  private onReply(r: CacheReply): void {
    if (r.kind !== 'cache-client.lookup-reply') return;
    const p = this.pending.get(r.id);
    if (p === undefined) {
      // Timed out already (it went upstream as a miss): a lock granted now would hold the
      // key's other requests until the lock expires, so give it back.
      if (r.result.token > 0) this.send({ kind: 'cache.abandon', store: r.store, key: r.key, token: r.result.token });
      return;
    }
    this.pending.delete(r.id);
    p.resolve(r.result);
  }

  private readonly expire = (): void => {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadlineMs > now) continue;
      this.pending.delete(id);
      this.timeouts++;
      p.resolve(MISS);
    }
    if (this.pending.size === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  };
}
