/**
 * SpscRing: a bounded, lock-free byte ring over one SharedArrayBuffer, with
 * exactly one producer thread and one consumer thread.
 *
 * Why single-producer/single-consumer: the kernel gives every ordered thread
 * pair (A -> B) its own ring, so each index has exactly one writer. The
 * producer owns the write index, the consumer owns the read index, and each
 * only ever stores its own and loads the other's: no compare-and-swap loops,
 * no locks, and each index sits alone on its own 64-byte cache line so the two
 * threads do not fight over one line. A multi-producer ring would need a CAS
 * loop on the write index (or a lock) plus a per-record "committed" flag,
 * because a later writer could publish before an earlier one finished copying.
 *
 * Records: [int32 payload length][payload][pad to 4 bytes]. A record is never
 * split: when it does not fit before the end of the data region, the producer
 * writes a WRAP marker in the length slot and continues at offset 0, so the
 * consumer always decodes from one contiguous view. Indices count bytes and
 * increase monotonically modulo 2^32 (held in int32 slots, arithmetic with
 * `| 0`); `write - read` is the used byte count and is unambiguous because it
 * never exceeds the capacity (<= 2^30).
 *
 * Memory ordering (the argument every comment below relies on): all Atomics
 * operations are sequentially consistent, and in the JS memory model a plain
 * write that precedes an Atomics.store in program order happens-before any
 * plain read that follows an Atomics.load observing that store. So:
 *  - the producer copies the payload and length with plain writes, then
 *    Atomics.store(WRITE): the consumer that loads WRITE sees the bytes;
 *  - the consumer finishes reading (or decoding) a record, then
 *    Atomics.store(READ): the producer that loads READ never overwrites bytes
 *    still being read.
 *
 * Wake-up: an idle consumer sleeps in Atomics.waitAsync (no CPU, no timers);
 * the producer pays one Atomics.load of a flag per write and calls
 * Atomics.notify only when the consumer raised it. A producer blocked by a
 * full ring waits the same way for space. Note: a pending waitAsync does not
 * keep a Node thread alive (checked on Node 20.20 and 24).
 */
import { Buffer } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import { ZproxyError } from './errors.js';

// Header layout in int32 slots. 16 slots = one 64-byte cache line (x86-64 and
// most ARM64 cores), so each thread's hot words live on a line it owns.
const WRITE = 0; //         line 0, producer-owned
const WRITTEN = 1;
const BACKPRESSURE = 2;
const DROPS = 3;
const READ = 16; //         line 1, consumer-owned
const READ_COUNT = 17;
const CONSUMER_WAITING = 32; // line 2: consumer's sleep (flag set by consumer, cleared by producer)
const DATA_SEQ = 33;
const PRODUCER_WAITING = 48; // line 3: producer's sleep (flag set by producer, cleared by consumer)
const SPACE_SEQ = 49;
const MAGIC = 64; //        line 4, immutable after create()
const CAPACITY = 65;
const HEADER_SLOTS = 80;
/** Bytes before the data region; a multiple of 64 so the data starts on a cache line. */
export const RING_HEADER_BYTES = HEADER_SLOTS * 4;

const MAGIC_VALUE = 0x7a52_4e47; // 'zRNG'
/** Length-slot value meaning "the rest of the region is padding, continue at 0". */
const WRAP = -1;
const MIN_CAPACITY = 64;
const MAX_CAPACITY = 1 << 30;
const DECODE_SCRATCH_INITIAL_BYTES = 4096;
// Records up to this size are copied word by word: Buffer#copy's JS wrapper costs ~100 ns,
// more than a 128-word loop (measured on Node 20 with 130-byte records).
const WORD_COPY_MAX_BYTES = 512;
const EMPTY = Buffer.alloc(0);
const NOT_SHARED_ERROR_HINT = 'pass the SharedArrayBuffer from SpscRing.buffer';

/** Counters are uint32 and wrap at 2^32; compare deltas for rates. */
export interface RingStats {
  readonly capacityBytes: number;
  /** Bytes between read and write index, including headers, padding and wrap skips. */
  readonly usedBytes: number;
  readonly written: number;
  readonly read: number;
  /** Writes refused because the ring was full (tryWrite / tryWriteEncoded returned false). */
  readonly backpressure: number;
  /** Records discarded by writeOrDrop; 0 unless a caller chose that policy. */
  readonly drops: number;
}

export interface RingCreateOptions {
  /**
   * Initial value of both byte indices (a multiple of 4). Only useful to
   * start near the int32 sign flip or the 2^32 wrap so tests cross them fast.
   */
  readonly startIndex?: number;
}

type WaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync is ES2024 (V8 8.7+, so Node >= 16); our lib is ES2023.
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): WaitAsyncResult;
}).waitAsync;

const RESOLVED: Promise<void> = Promise.resolve();

function ringError(code: string, message: string, context: Record<string, number | string>): ZproxyError {
  return new ZproxyError({ code, message, source: 'kernel.ring', context });
}

export class SpscRing {
  /** Largest payload accepted. Half the capacity minus the length prefix: see recordBytes(). */
  readonly maxPayloadBytes: number;
  readonly capacityBytes: number;

  private readonly sab: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly data32: Int32Array;
  private readonly data8: Buffer; // a Buffer: read() hands out Buffer views, decode() uses copy()
  private readonly mask: number;
  private readonly packr = new Packr({ useRecords: false });
  // copyBuffers: decoded binaries must not alias ring memory the producer will overwrite.
  private readonly unpackr = new Unpackr({ useRecords: false, copyBuffers: true });
  // Records are copied here before decoding: msgpackr's native string extractor only accepts
  // an ArrayBuffer and throws on shared memory (~5 us per message, then a JS fallback); a
  // memcpy into private memory keeps the native fast path. Grows to the largest record seen.
  private decodeScratch: Buffer = Buffer.allocUnsafeSlow(DECODE_SCRATCH_INITIAL_BYTES);
  private decodeScratch32 = new Int32Array(this.decodeScratch.buffer, 0, DECODE_SCRATCH_INITIAL_BYTES >> 2);
  // Reused so decoding a record allocates no options object.
  private readonly unpackRange = { start: 0, end: 0 };

  // Producer-local state (only the producer thread touches these).
  private writeIndex: number;
  private cachedRead: number; // last READ seen; reloaded only when it says "full"
  private writtenCount: number;
  private backpressureCount: number;
  private dropCount: number;

  // Consumer-local state.
  private readIndex: number; // next record to read (may be ahead of what is published)
  private publishedRead: number;
  private cachedWrite: number; // last WRITE seen; reloaded only when it says "empty"
  private readCount: number;

  /** Creates a ring with a fresh SharedArrayBuffer; capacity is a power of two in [64, 2^30]. */
  static create(capacityBytes: number, options: RingCreateOptions = {}): SpscRing {
    if (!Number.isInteger(capacityBytes) || capacityBytes < MIN_CAPACITY || capacityBytes > MAX_CAPACITY
      || (capacityBytes & (capacityBytes - 1)) !== 0) {
      throw ringError('ring.bad-capacity', `ring capacity must be a power of two in [${MIN_CAPACITY}, 2^30], got ${capacityBytes}`,
        { capacityBytes });
    }
    const start = options.startIndex ?? 0;
    if (!Number.isInteger(start) || (start & 3) !== 0) {
      throw ringError('ring.bad-start-index', `ring startIndex must be an integer multiple of 4, got ${start}`, { startIndex: start });
    }
    const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacityBytes);
    const header = new Int32Array(sab, 0, HEADER_SLOTS);
    header[WRITE] = start | 0;
    header[READ] = start | 0;
    header[CAPACITY] = capacityBytes;
    // MAGIC last: the buffer is only handed to another thread after create() returns
    // (postMessage orders everything before it), so this is belt and braces.
    Atomics.store(header, MAGIC, MAGIC_VALUE);
    return new SpscRing(sab);
  }

  /** Opens a ring created elsewhere (typically in another thread) over its buffer. */
  static attach(sab: SharedArrayBuffer): SpscRing {
    return new SpscRing(sab);
  }

  private constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < RING_HEADER_BYTES + MIN_CAPACITY) {
      throw ringError('ring.bad-buffer', `not a ring buffer: ${NOT_SHARED_ERROR_HINT}`,
        { byteLength: (sab as { byteLength?: number })?.byteLength ?? -1 });
    }
    const header = new Int32Array(sab, 0, HEADER_SLOTS);
    const capacity = Atomics.load(header, CAPACITY);
    if (Atomics.load(header, MAGIC) !== MAGIC_VALUE || sab.byteLength !== RING_HEADER_BYTES + capacity) {
      throw ringError('ring.bad-buffer', `not a ring buffer (bad magic or size): ${NOT_SHARED_ERROR_HINT}`,
        { byteLength: sab.byteLength, capacityBytes: capacity });
    }
    this.sab = sab;
    this.header = header;
    this.capacityBytes = capacity;
    this.mask = capacity - 1;
    this.maxPayloadBytes = capacity / 2 - 4;
    this.data32 = new Int32Array(sab, RING_HEADER_BYTES, capacity >> 2);
    this.data8 = Buffer.from(sab, RING_HEADER_BYTES, capacity);
    this.writeIndex = Atomics.load(header, WRITE);
    this.readIndex = Atomics.load(header, READ);
    this.publishedRead = this.readIndex;
    this.cachedRead = this.readIndex;
    this.cachedWrite = this.writeIndex;
    this.writtenCount = Atomics.load(header, WRITTEN);
    this.backpressureCount = Atomics.load(header, BACKPRESSURE);
    this.dropCount = Atomics.load(header, DROPS);
    this.readCount = Atomics.load(header, READ_COUNT);
  }

  /** The shared memory to post to the other thread (then SpscRing.attach there). */
  get buffer(): SharedArrayBuffer {
    return this.sab;
  }

  // ---------------------------------------------------------------- producer

  /**
   * Copies one record into the ring. Returns false when it does not fit now
   * (counted as a backpressure event); the caller decides to retry, buffer or
   * shed. Throws 'ring.record-too-large' for a payload over maxPayloadBytes,
   * which could never fit, so waiting for it would hang.
   */
  tryWrite(payload: Uint8Array): boolean {
    if (this.place(payload)) return true;
    this.header[BACKPRESSURE] = ++this.backpressureCount;
    return false;
  }

  /** Like tryWrite, but a record that does not fit is discarded and counted as a drop. */
  writeOrDrop(payload: Uint8Array): boolean {
    if (this.place(payload)) return true;
    this.header[DROPS] = ++this.dropCount;
    return false;
  }

  /** Encodes with this ring's msgpackr Packr (no shared structures) and tryWrite()s it. */
  tryWriteEncoded(value: unknown): boolean {
    return this.tryWrite(this.packr.pack(value));
  }

  /**
   * The msgpack bytes of value, as tryWriteEncoded would write them. The view
   * points into the Packr's reused buffer: copy it before the next encode.
   */
  encode(value: unknown): Uint8Array {
    return this.packr.pack(value);
  }

  /**
   * Resolves once a record of payloadBytes would fit (0: once any space was
   * freed). Never resolves while the consumer does not read; that is the
   * backpressure. Throws 'ring.record-too-large' like tryWrite.
   */
  waitForSpace(payloadBytes = 0): Promise<void> {
    const need = this.recordBytes(payloadBytes);
    if (this.hasSpace(need)) return RESOLVED;
    return this.sleepUntilSpace(need);
  }

  private place(payload: Uint8Array): boolean {
    const length = payload.length;
    const need = this.recordBytes(length);
    const capacity = this.capacityBytes;
    let w = this.writeIndex;
    let pos = w & this.mask;
    const tail = capacity - pos;
    const total = need <= tail ? need : tail + need;
    if (total > capacity - ((w - this.cachedRead) | 0)) {
      // Acquire: after this load, the consumer is done with every byte before READ.
      this.cachedRead = Atomics.load(this.header, READ);
      if (total > capacity - ((w - this.cachedRead) | 0)) return false;
    }
    if (need > tail) {
      this.data32[pos >> 2] = WRAP;
      pos = 0;
    }
    this.data32[pos >> 2] = length;
    this.data8.set(payload, pos + 4);
    w = (w + total) | 0;
    this.writeIndex = w;
    // Counters are plain stores: aligned int32 writes do not tear, observers only need "recent".
    this.header[WRITTEN] = ++this.writtenCount;
    // Release: the length and payload writes above happen-before the consumer's load of WRITE.
    Atomics.store(this.header, WRITE, w);
    // The consumer raises the flag before its final emptiness check; with seq-cst ordering either
    // it sees our WRITE store, or we see its flag here. Exchange so one sleep gets one notify.
    if (Atomics.load(this.header, CONSUMER_WAITING) !== 0 && Atomics.exchange(this.header, CONSUMER_WAITING, 0) !== 0) {
      Atomics.add(this.header, DATA_SEQ, 1);
      Atomics.notify(this.header, DATA_SEQ);
    }
    return true;
  }

  /**
   * Bytes a payload occupies: 4-byte length + payload padded to 4. Capped at
   * half the capacity because then an empty ring accepts it at any position:
   * if it does not fit in the tail (tail < need), the write position is past
   * the middle, so the skipped tail plus the record is at most the capacity.
   * A record of up to the full capacity could wait forever on an empty ring.
   * Throws 'ring.record-too-large' past maxPayloadBytes.
   */
  recordBytes(payloadBytes: number): number {
    if (payloadBytes > this.maxPayloadBytes) {
      throw ringError('ring.record-too-large',
        `record of ${payloadBytes} bytes exceeds the ring's limit of ${this.maxPayloadBytes} bytes (capacity ${this.capacityBytes})`,
        { payloadBytes, maxPayloadBytes: this.maxPayloadBytes, capacityBytes: this.capacityBytes });
    }
    return (payloadBytes + 7) & ~3;
  }

  private hasSpace(need: number): boolean {
    const w = this.writeIndex;
    const tail = this.capacityBytes - (w & this.mask);
    const total = need <= tail ? need : tail + need;
    this.cachedRead = Atomics.load(this.header, READ);
    return total <= this.capacityBytes - ((w - this.cachedRead) | 0);
  }

  private async sleepUntilSpace(need: number): Promise<void> {
    const header = this.header;
    for (;;) {
      // Same protocol as waitForData, roles swapped: flag, sequence, re-check, sleep.
      Atomics.store(header, PRODUCER_WAITING, 1);
      const seq = Atomics.load(header, SPACE_SEQ);
      if (this.hasSpace(need)) {
        Atomics.store(header, PRODUCER_WAITING, 0);
        return;
      }
      const result = waitAsync(header, SPACE_SEQ, seq);
      if (result.async) await result.value;
      if (this.hasSpace(need)) return;
    }
  }

  // ---------------------------------------------------------------- consumer

  /**
   * Next record as a view into the ring, or undefined when empty. The view
   * stays valid until the next consumer call (read, readDecoded, drain,
   * drainRaw, waitForData, release): only then is its space given back.
   */
  read(): Buffer | undefined {
    this.release();
    if (!this.hasData()) return undefined;
    const start = this.nextRecordStart();
    const length = this.data32[(start >> 2) - 1];
    this.header[READ_COUNT] = ++this.readCount;
    return this.data8.subarray(start, start + length);
  }

  /**
   * Next record decoded with msgpackr, or undefined when empty (a record that
   * encodes `undefined` is indistinguishable here; drain() tells them apart).
   */
  readDecoded(): unknown {
    this.release();
    if (!this.hasData()) return undefined;
    const start = this.nextRecordStart();
    let value: unknown;
    try {
      value = this.decode(start, this.data32[(start >> 2) - 1]);
    } finally {
      this.header[READ_COUNT] = ++this.readCount;
      this.release();
    }
    return value;
  }

  /**
   * Decodes and hands up to max records to fn, in order; returns how many.
   * fn returning false stops after that record. A record is consumed once fn
   * is called, even if fn throws (the error propagates; nothing is redelivered).
   */
  drain(fn: (value: unknown) => boolean | void, max = 0x7fff_ffff): number {
    this.release();
    let count = 0;
    try {
      while (count < max && this.hasData()) {
        const start = this.nextRecordStart();
        count++;
        if (fn(this.decode(start, this.data32[(start >> 2) - 1])) === false) break;
        this.releaseIfLarge();
      }
    } finally {
      this.readCount += count;
      this.header[READ_COUNT] = this.readCount;
      this.release();
    }
    return count;
  }

  /** Like drain, but fn gets the raw payload view, valid only while fn runs. */
  drainRaw(fn: (payload: Buffer) => boolean | void, max = 0x7fff_ffff): number {
    this.release();
    let count = 0;
    try {
      while (count < max && this.hasData()) {
        const start = this.nextRecordStart();
        count++;
        if (fn(this.data8.subarray(start, start + this.data32[(start >> 2) - 1])) === false) break;
        this.releaseIfLarge();
      }
    } finally {
      this.readCount += count;
      this.header[READ_COUNT] = this.readCount;
      this.release();
    }
    return count;
  }

  /**
   * Resolves when the ring holds a record (at once if it already does).
   * Releases the view from read() first. The consumer sleeps in
   * Atomics.waitAsync: an idle consumer uses no CPU.
   */
  waitForData(): Promise<void> {
    this.release();
    if (this.hasData()) return RESOLVED;
    const header = this.header;
    Atomics.store(header, CONSUMER_WAITING, 1);
    const seq = Atomics.load(header, DATA_SEQ);
    // Re-check after raising the flag: a producer whose WRITE store precedes our flag store in
    // the seq-cst order did not see the flag and will not notify, but then this load sees its
    // record. A producer that saw the flag bumps DATA_SEQ: waitAsync either sees the new value
    // (returns 'not-equal') or is queued before the notify. No wake-up is lost.
    if (this.hasData()) {
      Atomics.store(header, CONSUMER_WAITING, 0);
      return RESOLVED;
    }
    const result = waitAsync(header, DATA_SEQ, seq);
    if (!result.async) return RESOLVED;
    return result.value as Promise<unknown> as Promise<void>;
  }

  /** Gives back the space of records already read; the consumer calls happen to do it too. */
  release(): void {
    const r = this.readIndex;
    if (r === this.publishedRead) return;
    this.publishedRead = r;
    // Release: our reads of the records before r happen-before the producer's load of READ.
    Atomics.store(this.header, READ, r);
    if (Atomics.load(this.header, PRODUCER_WAITING) !== 0 && Atomics.exchange(this.header, PRODUCER_WAITING, 0) !== 0) {
      Atomics.add(this.header, SPACE_SEQ, 1);
      Atomics.notify(this.header, SPACE_SEQ);
    }
  }

  private decode(start: number, length: number): unknown {
    // msgpackr reads `end: 0` as "to the end of the source"; an empty source makes it throw.
    if (length === 0) return this.unpackr.unpack(EMPTY);
    let scratch = this.decodeScratch;
    if (scratch.length < length) {
      // Power of two, capped at the largest payload (a multiple of 4, so word copies fit).
      const bytes = Math.min(2 ** Math.ceil(Math.log2(length)), this.maxPayloadBytes);
      scratch = this.decodeScratch = Buffer.allocUnsafeSlow(bytes);
      this.decodeScratch32 = new Int32Array(scratch.buffer, 0, bytes >> 2);
    }
    if (length <= WORD_COPY_MAX_BYTES) {
      // Records are 4-aligned and padded to 4, so whole words stay inside this record.
      const words = (length + 3) >> 2;
      const from = start >> 2;
      const data32 = this.data32;
      const scratch32 = this.decodeScratch32;
      for (let i = 0; i < words; i++) scratch32[i] = data32[from + i];
    } else {
      scratch.set(this.data8.subarray(start, start + length));
    }
    const range = this.unpackRange;
    range.end = length;
    return this.unpackr.unpack(scratch, range);
  }

  // During a long batch, give space back every quarter ring so a blocked producer refills
  // while we work, without paying a seq-cst store per record.
  private releaseIfLarge(): void {
    if (((this.readIndex - this.publishedRead) | 0) >= this.capacityBytes >> 2) this.release();
  }

  private hasData(): boolean {
    if (this.readIndex !== this.cachedWrite) return true;
    // Acquire: every record before the loaded WRITE is fully written.
    this.cachedWrite = Atomics.load(this.header, WRITE);
    return this.readIndex !== this.cachedWrite;
  }

  /**
   * Skips a wrap marker if present, advances readIndex past the next record
   * (unpublished) and returns the byte offset of its payload. Call only after
   * hasData() returned true.
   */
  private nextRecordStart(): number {
    let r = this.readIndex;
    let pos = r & this.mask;
    let length = this.data32[pos >> 2];
    if (length === WRAP) {
      r = (r + this.capacityBytes - pos) | 0;
      pos = 0;
      length = this.data32[0];
    }
    // One unsigned compare guards against a broken invariant (role misuse, foreign writes).
    if ((length >>> 0) > this.maxPayloadBytes) {
      throw ringError('ring.corrupt', `ring record at offset ${pos} has invalid length ${length}`,
        { offset: pos, length, readIndex: r });
    }
    this.readIndex = (r + ((length + 7) & ~3)) | 0;
    return pos + 4;
  }

  // ---------------------------------------------------------------- both

  /** Counters as seen from this thread (each side's own counters are exact). */
  stats(): RingStats {
    const header = this.header;
    return {
      capacityBytes: this.capacityBytes,
      usedBytes: (Atomics.load(header, WRITE) - Atomics.load(header, READ)) | 0,
      written: Atomics.load(header, WRITTEN) >>> 0,
      read: Atomics.load(header, READ_COUNT) >>> 0,
      backpressure: Atomics.load(header, BACKPRESSURE) >>> 0,
      drops: Atomics.load(header, DROPS) >>> 0,
    };
  }
}
