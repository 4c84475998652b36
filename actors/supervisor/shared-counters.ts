/**
 * Per-worker counters in one SharedArrayBuffer, written by the workers and
 * read by the main thread without any message: heartbeats for the watchdog
 * (a hung worker cannot answer a message, but its last beat stays readable)
 * and open connections for least-loaded handoff. One slot per worker id; a
 * respawned worker reuses its slot after the main thread resets it.
 */

/** Int32 fields per slot; 16 so a slot is 64 bytes, one cache line: workers never share a line. */
const SLOT_INT32S = 16;

/** Heartbeats since the slot was reset. */
const F_BEAT_SEQ = 0;
/** monotonicMs() of the last beat, truncated to int32 (ages use wrap-around subtraction). */
const F_BEAT_MS = 1;
/** Connections the worker holds now (+1 on accept or handoff, -1 on close). */
const F_OPEN = 2;
/** Connections given to this worker since the slot was reset. */
const F_ACCEPTED = 3;
/** One of WORKER_STATE. */
const F_STATE = 4;

export const WORKER_STATE = { starting: 0, ready: 1, draining: 2, dead: 3 } as const;
export type WorkerStateCode = (typeof WORKER_STATE)[keyof typeof WORKER_STATE];

/**
 * Milliseconds of CLOCK_MONOTONIC (libuv's hrtime), the same clock on every
 * thread of the process, unlike performance.now() whose origin is per thread.
 * Truncated to int32: it wraps every 24.8 days, and ageMs() subtracts with
 * wrap-around, so ages stay right as long as they are under 24 days.
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return (s * 1000 + Math.floor(ns / 1e6)) | 0;
}

export function createCountersBuffer(slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer(slots * SLOT_INT32S * Int32Array.BYTES_PER_ELEMENT);
}

/** A view over every slot (main thread: watchdog, handoff, stats). */
export class SharedCounters {
  private readonly a: Int32Array;
  readonly slots: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.a = new Int32Array(buffer);
    this.slots = this.a.length / SLOT_INT32S;
  }

  /** Clears a slot for a fresh worker; its first beat is "now" so the hang clock starts at spawn. */
  reset(slot: number, nowMs: number): void {
    const base = slot * SLOT_INT32S;
    Atomics.store(this.a, base + F_BEAT_SEQ, 0);
    Atomics.store(this.a, base + F_BEAT_MS, nowMs | 0);
    Atomics.store(this.a, base + F_OPEN, 0);
    Atomics.store(this.a, base + F_ACCEPTED, 0);
    Atomics.store(this.a, base + F_STATE, WORKER_STATE.starting);
  }

  heartbeatAgeMs(slot: number, nowMs: number): number {
    return ((nowMs | 0) - Atomics.load(this.a, slot * SLOT_INT32S + F_BEAT_MS)) | 0;
  }

  beats(slot: number): number {
    return Atomics.load(this.a, slot * SLOT_INT32S + F_BEAT_SEQ);
  }

  open(slot: number): number {
    return Atomics.load(this.a, slot * SLOT_INT32S + F_OPEN);
  }

  accepted(slot: number): number {
    return Atomics.load(this.a, slot * SLOT_INT32S + F_ACCEPTED);
  }

  state(slot: number): WorkerStateCode {
    return Atomics.load(this.a, slot * SLOT_INT32S + F_STATE) as WorkerStateCode;
  }

  setState(slot: number, state: WorkerStateCode): void {
    Atomics.store(this.a, slot * SLOT_INT32S + F_STATE, state);
  }

  /** Handoff counts a connection when it assigns it, before the worker even sees it. */
  assigned(slot: number): void {
    Atomics.add(this.a, slot * SLOT_INT32S + F_OPEN, 1);
    Atomics.add(this.a, slot * SLOT_INT32S + F_ACCEPTED, 1);
  }

  /** Undoes assigned() when the transfer failed and the socket stayed with us. */
  unassigned(slot: number): void {
    Atomics.sub(this.a, slot * SLOT_INT32S + F_OPEN, 1);
    Atomics.sub(this.a, slot * SLOT_INT32S + F_ACCEPTED, 1);
  }
}

/** One worker's own slot (worker thread side). */
export class WorkerSlotCounters {
  private readonly a: Int32Array;
  private readonly base: number;

  constructor(buffer: SharedArrayBuffer, slot: number) {
    this.a = new Int32Array(buffer);
    this.base = slot * SLOT_INT32S;
  }

  beat(): void {
    Atomics.store(this.a, this.base + F_BEAT_MS, monotonicMs());
    Atomics.add(this.a, this.base + F_BEAT_SEQ, 1);
  }

  /** A connection this worker accepted itself (shared, reuseport). */
  accepted(): void {
    Atomics.add(this.a, this.base + F_OPEN, 1);
    Atomics.add(this.a, this.base + F_ACCEPTED, 1);
  }

  closed(): void {
    Atomics.sub(this.a, this.base + F_OPEN, 1);
  }

  open(): number {
    return Atomics.load(this.a, this.base + F_OPEN);
  }

  setState(state: WorkerStateCode): void {
    Atomics.store(this.a, this.base + F_STATE, state);
  }
}
