import { monotonicMs, SharedCounters, WORKER_STATE } from './shared-counters.js';

/**
 * Finds hung workers from the main thread: a worker whose event loop is
 * blocked (a `while (true)`, a runaway regex) stops beating, and its slot's
 * last beat ages. Checked on a 100 ms timer, so a hang is seen at most
 * hangTimeoutMs + 100 ms after the last beat. Reading an Int32Array is all a
 * check costs; the watchdog never messages a worker (a hung one cannot answer).
 */

/** Check period: detection granularity vs. main-thread wakeups (10/s is nothing). */
export const WATCHDOG_CHECK_MS = 100;

export interface WatchdogOptions {
  readonly counters: SharedCounters;
  readonly hangTimeoutMs: number;
  /**
   * Extra time a starting worker gets, until it reports ready: the thread
   * boots, then imports and builds its app (~0.3-1 s, more on a loaded
   * machine), and its loop may not turn for long stretches meanwhile.
   */
  readonly startupGraceMs: number;
  /** Slots to watch now (workers alive and not being stopped). */
  readonly watched: () => Iterable<number>;
  /** Called once per hang; the pool terminates and replaces the worker. */
  readonly onHung: (slot: number, heartbeatAgeMs: number) => void;
}

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WatchdogOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(monotonicMs()), WATCHDOG_CHECK_MS);
    // The workers keep the process alive, not the watchdog.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the watched slots at time nowMs (public for tests with a fixed clock). */
  check(nowMs: number): void {
    const { counters, hangTimeoutMs, startupGraceMs } = this.options;
    for (const slot of this.options.watched()) {
      const state = counters.state(slot);
      if (state === WORKER_STATE.dead) continue;
      const age = counters.heartbeatAgeMs(slot, nowMs);
      // The grace covers the whole start, not only the time to the first beat: the worker beats first, then
      // imports and builds its app, and on a CPU-starved machine that import alone stalls its loop for 0.5-2 s
      // (measured under load average 10 on 2 cores: starts failed with "no heartbeat for 2076 ms").
      const limit = state === WORKER_STATE.starting ? hangTimeoutMs + startupGraceMs : hangTimeoutMs;
      if (age > limit) {
        // Marked dead first so the next tick does not report the same hang while terminate() runs.
        counters.setState(slot, WORKER_STATE.dead);
        this.options.onHung(slot, age);
      }
    }
  }
}
