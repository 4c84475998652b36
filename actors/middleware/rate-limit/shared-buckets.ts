/**
 * Token buckets shared by every worker of one zproxy: a fixed-size hash table
 * in one SharedArrayBuffer, allocated by the start command (the composition
 * root) and attached by each worker, so a limit of N req/s is N for the whole
 * process, not N per worker.
 *
 * Why this layout. A token bucket (rate r, burst b) is kept in its GCRA form
 * (the generic cell rate algorithm, ITU-T I.371): one number per bucket, the
 * theoretical arrival time TAT. With T = 1/r and tau = b*T, a request at
 * `now` is allowed iff max(TAT, now) + T - now <= tau, and then
 * TAT' = max(TAT, now) + T. This is exactly a token bucket (tokens left =
 * (tau - (TAT - now)) / T) but needs no separate "tokens" and "last refill"
 * fields. So a slot is ONE 64-bit word, 20 bits of key fingerprint and 44
 * bits of TAT in microseconds, updated lock-free with one
 * Atomics.compareExchange on a BigUint64Array: no lock, so a worker thread
 * descheduled mid-update can never stall the others (a spin lock held across
 * a preemption would), and a lost race just retries with the fresh word.
 *
 * Keys are hashed to a slot and probe PROBE_SLOTS neighbours (linear
 * probing). A slot whose TAT has passed holds a full bucket, which is the same
 * as no bucket, so it is free for any key; when all probed slots hold live
 * buckets of other keys, the one closest to full is evicted (its key starts
 * over with a full bucket: the table errs towards letting traffic through;
 * `evictions` counts it). Two workers seeing the same new key at the same
 * instant may claim two slots for it; the second lives only until it
 * refills, so the error is at most one extra burst, once.
 *
 * TAT wraps every 2^44 µs (203 days) after the table was created; differences
 * are taken modulo 2^44, which is exact as long as a bucket is used again
 * within 101 days or its slot was reused meanwhile.
 */

/** 65536 slots * 8 bytes = 512 KiB: room for tens of thousands of live keys per process. */
export const DEFAULT_SLOT_COUNT = 1 << 16;
/** Slots probed per key: a small, cache-friendly window (8 * 8 bytes = one cache line). */
const PROBE_SLOTS = 8;
/** Header words before the slots (one cache line): [0] creation time (epoch ms), [1] evictions. */
const HEADER_WORDS = 8;
const TAT_BITS = 44n;
const TAT_MASK = (1n << TAT_BITS) - 1n;
const TAT_RANGE = 2 ** 44;
const TAT_HALF = 2 ** 43;
/** Longest bucket (tau) representable: half the TAT range, so modular differences stay unambiguous. */
export const MAX_TAU_US = 2 ** 42;
/** A compareExchange lost this many times in a row (pathological contention): let the request through. */
const MAX_ATTEMPTS = 32;

/** The outcome of one take(); reused by the caller (no allocation per request). */
export interface BucketVerdict {
  allowed: boolean;
  /** Whole tokens left after this request (0 when denied). */
  remaining: number;
  /** Microseconds until the bucket is full again. */
  resetUs: number;
  /** Microseconds until one token is available (0 when allowed). */
  retryAfterUs: number;
}

export function newVerdict(): BucketVerdict {
  return { allowed: true, remaining: 0, resetUs: 0, retryAfterUs: 0 };
}

export class SharedBuckets {
  private readonly words: BigUint64Array;
  private readonly mask: number;
  private readonly baseMs: number;

  /** A new table (start command); `slotCount` is rounded up to a power of two. */
  static create(slotCount = DEFAULT_SLOT_COUNT): SharedBuckets {
    let n = 1;
    while (n < slotCount) n <<= 1;
    const buffer = new SharedArrayBuffer((HEADER_WORDS + n) * 8);
    new BigUint64Array(buffer)[0] = BigInt(Date.now());
    return new SharedBuckets(buffer);
  }

  /** The table another thread created. */
  static attach(buffer: SharedArrayBuffer): SharedBuckets {
    return new SharedBuckets(buffer);
  }

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new BigUint64Array(buffer);
    this.mask = this.words.length - HEADER_WORDS - 1;
    this.baseMs = Number(this.words[0]);
  }

  /** Buckets evicted while still holding a debt (the table was full around their slot). */
  get evictions(): number {
    return Number(Atomics.load(this.words, 1));
  }

  /** Microseconds since the table was created, on this thread's monotonic clock mapped to the epoch. */
  nowUs(): number {
    return (performance.timeOrigin + performance.now() - this.baseMs) * 1000;
  }

  /**
   * Takes one token from `key`'s bucket: `intervalUs` = 1e6 / rate,
   * `tauUs` = burst * intervalUs. Fills `out` and returns it.
   */
  take(key: string, intervalUs: number, tauUs: number, out: BucketVerdict, nowUs = this.nowUs()): BucketVerdict {
    // Two FNV-1a style hashes in one pass: the slot index and an independent fingerprint.
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    const fp = ((h2 >>> 12) & 0xfffff) || 1; // 20 bits, never 0 (0 marks an empty slot)
    const now = Math.floor(nowUs) % TAT_RANGE;
    const words = this.words;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let idx = -1;
      let expected = 0n;
      let ahead = 0; // TAT - now of the chosen slot (<= 0: full bucket)
      let free = -1;
      let freeWord = 0n;
      let victim = -1;
      let victimWord = 0n;
      let victimAhead = Infinity;
      for (let p = 0; p < PROBE_SLOTS; p++) {
        const i = HEADER_WORDS + ((h1 + p) & this.mask);
        const w = Atomics.load(words, i);
        if (w === 0n) {
          if (free < 0) { free = i; freeWord = w; }
          continue;
        }
        const d = wrapDiff(Number(w & TAT_MASK), now);
        if (Number(w >> TAT_BITS) === fp) {
          idx = i;
          expected = w;
          ahead = d;
          break;
        }
        if (d <= 0) {
          if (free < 0) { free = i; freeWord = w; }
        } else if (d < victimAhead) {
          victim = i; victimWord = w; victimAhead = d;
        }
      }
      let evicting = false;
      if (idx < 0) {
        if (free >= 0) { idx = free; expected = freeWord; } else { idx = victim; expected = victimWord; evicting = true; }
        ahead = 0;
      }
      const start = ahead > 0 ? ahead : 0;
      const next = start + intervalUs;
      if (next > tauUs) {
        out.allowed = false;
        out.remaining = 0;
        out.resetUs = start;
        out.retryAfterUs = next - tauUs;
        return out;
      }
      const tat = Math.round(now + next) % TAT_RANGE;
      const word = (BigInt(fp) << TAT_BITS) | BigInt(tat);
      if (Atomics.compareExchange(words, idx, expected, word) !== expected) continue; // another worker got there first
      if (evicting) Atomics.add(words, 1, 1n);
      out.allowed = true;
      out.remaining = Math.floor((tauUs - next) / intervalUs + 1e-9);
      out.resetUs = next;
      out.retryAfterUs = 0;
      return out;
    }
    out.allowed = true;
    out.remaining = 0;
    out.resetUs = 0;
    out.retryAfterUs = 0;
    return out;
  }
}

/** a - b modulo 2^44, as a signed difference in [-2^43, 2^43). */
function wrapDiff(a: number, b: number): number {
  let d = a - b;
  if (d >= TAT_HALF) d -= TAT_RANGE;
  else if (d < -TAT_HALF) d += TAT_RANGE;
  return d;
}
