/**
 * One named cache's entries: a byte-bounded LRU of stored responses, with a
 * secondary key per Vary (RFC 9111 4.1). Owned by the cache actor on the
 * cache thread; nothing here is shared or locked.
 */
import { varyValues } from '../../src/protocol/http-cache/freshness.js';
import type { StoredResponse } from './cache-protocol.js';

/** Bookkeeping per entry beyond its body and headers (Map slots, strings' headers). */
const ENTRY_OVERHEAD_BYTES = 256;

interface Slot {
  readonly key: string;
  readonly id: string;
  entry: StoredResponse;
  sizeBytes: number;
}

export function entrySizeBytes(entry: StoredResponse): number {
  let n = entry.body.byteLength + ENTRY_OVERHEAD_BYTES;
  for (const h of entry.headers) n += h.length;
  return n;
}

export class LruStore {
  /** Variant id -> slot; Map iteration order is recency, least recently used first. */
  private readonly slots = new Map<string, Slot>();
  /** Primary key -> its variants' ids. */
  private readonly byKey = new Map<string, Set<string>>();
  private usedBytes = 0;
  evictions = 0;

  constructor(public maxBytes: number, public maxObjectBytes: number) {}

  get bytes(): number { return this.usedBytes; }
  get size(): number { return this.slots.size; }

  /** The variant of `key` whose Vary values match the request, marked most recently used. */
  find(key: string, requestHeaders: readonly string[]): StoredResponse | undefined {
    const ids = this.byKey.get(key);
    if (ids === undefined) return undefined;
    for (const id of ids) {
      const slot = this.slots.get(id)!;
      const e = slot.entry;
      const values = varyValues(requestHeaders, e.varyNames);
      if (values.every((v, i) => v === e.varyValues[i])) {
        this.slots.delete(id);
        this.slots.set(id, slot);
        return e;
      }
    }
    return undefined;
  }

  /** Stores (or replaces) a variant; false when it is larger than maxObjectBytes. Evicts LRU entries past maxBytes. */
  put(key: string, entry: StoredResponse): boolean {
    const sizeBytes = entrySizeBytes(entry);
    if (entry.body.byteLength > this.maxObjectBytes || sizeBytes > this.maxBytes) return false;
    const id = variantId(key, entry.varyNames, entry.varyValues);
    this.remove(id);
    this.slots.set(id, { key, id, entry, sizeBytes });
    let ids = this.byKey.get(key);
    if (ids === undefined) this.byKey.set(key, (ids = new Set()));
    ids.add(id);
    this.usedBytes += sizeBytes;
    this.evictTo(this.maxBytes);
    return true;
  }

  /** Replaces a variant's headers and clock after a 304 (RFC 9111 4.3.4); false when it is gone. */
  refresh(key: string, values: readonly string[], update: (e: StoredResponse) => StoredResponse): boolean {
    const ids = this.byKey.get(key);
    if (ids === undefined) return false;
    for (const id of ids) {
      const slot = this.slots.get(id)!;
      if (slot.entry.varyValues.length !== values.length || !values.every((v, i) => v === slot.entry.varyValues[i])) continue;
      const next = update(slot.entry);
      const size = entrySizeBytes(next);
      this.usedBytes += size - slot.sizeBytes;
      slot.entry = next;
      slot.sizeBytes = size;
      this.slots.delete(id);
      this.slots.set(id, slot);
      this.evictTo(this.maxBytes);
      return true;
    }
    return false;
  }

  /** Removes every variant of `key`; returns how many. */
  purgeKey(key: string): number {
    const ids = this.byKey.get(key);
    if (ids === undefined) return 0;
    const n = ids.size;
    for (const id of [...ids]) this.remove(id);
    return n;
  }

  purgePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.byKey.keys()]) if (key.startsWith(prefix)) n += this.purgeKey(key);
    return n;
  }

  purgeAll(): number {
    const n = this.slots.size;
    this.slots.clear();
    this.byKey.clear();
    this.usedBytes = 0;
    return n;
  }

  /** Applies new bounds (a reload changed them): evicts down to the new maxBytes. */
  resize(maxBytes: number, maxObjectBytes: number): void {
    this.maxBytes = maxBytes;
    this.maxObjectBytes = maxObjectBytes;
    this.evictTo(maxBytes);
  }

  private evictTo(limit: number): void {
    for (const slot of this.slots.values()) {
      if (this.usedBytes <= limit) return;
      this.remove(slot.id);
      this.evictions++;
    }
  }

  private remove(id: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    this.usedBytes -= slot.sizeBytes;
    const ids = this.byKey.get(slot.key)!;
    ids.delete(id);
    if (ids.size === 0) this.byKey.delete(slot.key);
  }
}

function variantId(key: string, names: readonly string[], values: readonly string[]): string {
  return names.length === 0 ? key : key + '\u0001' + names.join(',') + '\u0001' + values.join('\u0001');
}
