/**
 * RingChannel: one direction of a thread pair over an SpscRing, carrying
 * msgpackr-encoded values. The sending thread holds a ChannelSender, the
 * receiving thread a ChannelReceiver over the same SharedArrayBuffer.
 *
 * The sender never drops: when the ring is full it keeps encoded records in a
 * bounded local overflow queue, flushed in order as the consumer frees space,
 * and refuses (send() returns false) once that queue is at its bound, so the
 * caller sees backpressure instead of unbounded memory growth.
 * The receiver drains in batches and yields to the event loop between batches,
 * so a flood of messages cannot starve the thread's sockets and timers.
 */
import { Buffer } from 'node:buffer';
import { SpscRing, type RingStats } from './ring.js';
import { ZproxyError } from './errors.js';

export interface ChannelSenderOptions {
  /** Records kept locally while the ring is full; send() refuses beyond it. Default 4096. */
  readonly overflowLimit?: number;
}

export interface ChannelSenderStats extends RingStats {
  /** Records accepted by send() (written to the ring or queued). */
  readonly sent: number;
  /** Records waiting in the local overflow queue now. */
  readonly overflowQueued: number;
  /** Most records the overflow queue ever held. */
  readonly overflowPeak: number;
  /** send() calls refused because the overflow queue was at its bound. */
  readonly refused: number;
}

export interface ChannelReceiverOptions {
  /**
   * Records delivered per event-loop turn before yielding with setImmediate.
   * Default 256: large enough to amortize the wake-up and the turn, small
   * enough that one turn stays well under a millisecond for small messages.
   */
  readonly batchSize?: number;
  /**
   * Called when onMessage throws; delivery goes on with the next record.
   * Without it the error propagates (an uncaught exception: a broken
   * invariant, left to the supervisor).
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Hold the thread's event loop open while started (default true). A pending
   * Atomics.waitAsync does not, so a thread with nothing else to do would exit
   * with the receiver waiting.
   */
  readonly keepAlive?: boolean;
}

export interface ChannelReceiverStats extends RingStats {
  readonly delivered: number;
  /** Batches that delivered at least one record. */
  readonly batches: number;
  /** Times the receiver went to sleep on an empty ring. */
  readonly waits: number;
}

const DEFAULT_OVERFLOW_LIMIT = 4096;
const DEFAULT_BATCH_SIZE = 256;
// Compact the overflow array once at least this many consumed slots lead it and they are at
// least half of it, so each compaction copies no more than it freed (amortized O(1) dequeue).
const OVERFLOW_COMPACT_AT = 1024;
// setInterval's longest delay (2^31 - 1 ms); the timer only exists to hold the loop open.
const KEEP_ALIVE_MS = 0x7fff_ffff;

/** Producer side: one per ring, used only by the ring's producer thread. */
export class ChannelSender {
  private readonly ring: SpscRing;
  private readonly overflowLimit: number;
  private overflow: Array<Uint8Array | undefined> = [];
  private overflowHead = 0;
  private flushing = false;
  private flushedWaiters: Array<() => void> = [];
  private sentCount = 0;
  private peak = 0;
  private refusedCount = 0;

  constructor(ring: SpscRing, options: ChannelSenderOptions = {}) {
    const limit = options.overflowLimit ?? DEFAULT_OVERFLOW_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new ZproxyError({ code: 'channel.bad-option', message: `overflowLimit must be a non-negative integer, got ${limit}`,
        source: 'kernel.ring-channel', context: { overflowLimit: limit } });
    }
    this.ring = ring;
    this.overflowLimit = limit;
  }

  /**
   * Encodes value and hands it to the ring, or queues it when the ring is
   * full. Returns false, and keeps nothing, when the overflow queue is at its
   * bound: the caller must shed or retry after whenFlushed(). Throws
   * 'ring.record-too-large' for a value whose encoding can never fit.
   */
  send(value: unknown): boolean {
    const bytes = this.ring.encode(value);
    const queued = this.overflow.length - this.overflowHead;
    if (queued === 0) {
      if (this.ring.tryWrite(bytes)) {
        this.sentCount++;
        return true;
      }
    } else {
      // Throws for a record that can never fit, as tryWrite would: nothing unsendable is queued.
      this.ring.recordBytes(bytes.length);
    }
    if (queued >= this.overflowLimit) {
      this.refusedCount++;
      return false;
    }
    // Copy: the encoded view points into the Packr's reused buffer.
    this.overflow.push(Buffer.from(bytes));
    this.sentCount++;
    if (queued + 1 > this.peak) this.peak = queued + 1;
    if (!this.flushing) this.scheduleFlush();
    return true;
  }

  /** Records waiting in the overflow queue. */
  get pending(): number {
    return this.overflow.length - this.overflowHead;
  }

  /** Resolves when the overflow queue is empty (at once if it is). */
  whenFlushed(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushedWaiters.push(resolve));
  }

  stats(): ChannelSenderStats {
    return { ...this.ring.stats(), sent: this.sentCount, overflowQueued: this.pending, overflowPeak: this.peak,
      refused: this.refusedCount };
  }

  private scheduleFlush(): void {
    this.flushing = true;
    const head = this.overflow[this.overflowHead] as Uint8Array;
    void this.ring.waitForSpace(head.length).then(this.flush);
  }

  private readonly flush = (): void => {
    const overflow = this.overflow;
    let head = this.overflowHead;
    while (head < overflow.length && this.ring.tryWrite(overflow[head] as Uint8Array)) overflow[head++] = undefined;
    if (head === overflow.length) {
      this.overflow = [];
      this.overflowHead = 0;
      this.flushing = false;
      const waiters = this.flushedWaiters;
      this.flushedWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    if (head >= OVERFLOW_COMPACT_AT && head * 2 >= overflow.length) {
      this.overflow = overflow.slice(head);
      head = 0;
    }
    this.overflowHead = head;
    this.scheduleFlush();
  };
}

/** Consumer side: one per ring, used only by the ring's consumer thread. */
export class ChannelReceiver {
  private readonly ring: SpscRing;
  private readonly batchSize: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly keepAlive: boolean;
  private onMessage: ((value: unknown) => void) | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  // A waitForData promise is outstanding; its continuation resumes the loop.
  private sleeping = false;
  private deliveredCount = 0;
  private batchCount = 0;
  private waitCount = 0;

  constructor(ring: SpscRing, options: ChannelReceiverOptions = {}) {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ZproxyError({ code: 'channel.bad-option', message: `batchSize must be a positive integer, got ${batchSize}`,
        source: 'kernel.ring-channel', context: { batchSize } });
    }
    this.ring = ring;
    this.batchSize = batchSize;
    this.onError = options.onError;
    this.keepAlive = options.keepAlive ?? true;
  }

  /**
   * Starts delivering records to onMessage, in order, from the next event-loop
   * turn. Calling start while started replaces the handler.
   */
  start(onMessage: (value: unknown) => void): void {
    const wasRunning = this.onMessage !== undefined;
    this.onMessage = onMessage;
    if (wasRunning) return;
    if (this.keepAlive) this.keepAliveTimer = setInterval(noop, KEEP_ALIVE_MS);
    // A sleep left over from before stop() resumes the loop by itself when data arrives.
    if (!this.sleeping) this.immediate = setImmediate(this.pump);
  }

  /** Stops delivery after the current record; undelivered records stay in the ring. */
  stop(): void {
    this.onMessage = undefined;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  get running(): boolean {
    return this.onMessage !== undefined;
  }

  stats(): ChannelReceiverStats {
    return { ...this.ring.stats(), delivered: this.deliveredCount, batches: this.batchCount, waits: this.waitCount };
  }

  private readonly pump = (): void => {
    this.immediate = undefined;
    if (this.onMessage === undefined) return;
    const delivered = this.ring.drain(this.deliver, this.batchSize);
    if (this.onMessage === undefined) return;
    if (delivered > 0) {
      this.batchCount++;
      // Yield between batches so sockets and timers of this thread get their turn.
      this.immediate = setImmediate(this.pump);
      return;
    }
    this.waitCount++;
    this.sleeping = true;
    void this.ring.waitForData().then(this.wake);
  };

  private readonly wake = (): void => {
    this.sleeping = false;
    this.pump();
  };

  // Returns false to make drain() stop when a handler called stop().
  // pump() only drains while started, and drain() stops at the first false, so onMessage is set.
  private readonly deliver = (value: unknown): boolean => {
    const onMessage = this.onMessage as (value: unknown) => void;
    this.deliveredCount++;
    if (this.onError === undefined) {
      onMessage(value);
    } else {
      try {
        onMessage(value);
      } catch (error) {
        this.onError(error);
      }
    }
    return this.onMessage !== undefined;
  };
}

function noop(): void {}
