/**
 * One upstream host's health as every thread sees it: three named Int32
 * slots in the process-wide SharedSlots table, so the main thread's health
 * checker and all workers' upstream pools agree without a message.
 *
 *   health:<group>:<host>:<port>  active-check verdict, written by the health
 *                                 checker only: 0 up (or never checked), 1 down
 *   eject:<group>:<host>:<port>   passive ejection: 0 none, else the deadline
 *                                 in monotonicMs() (int32, compared with
 *                                 wrap-around; 0 is skipped so it always means none)
 *   fails:<group>:<host>:<port>   consecutive failures seen by any worker
 *
 * A fresh slot reads 0 everywhere: a host is available until a probe or
 * traffic says otherwise, as in nginx and Envoy without a first probe.
 */
import { monotonicMs } from '../supervisor/shared-counters.js';

/** Hands out the shared Int32 slot for a name (SharedSlots.slot over its values). */
export type HealthSlotAllocator = (name: string) => { array: Int32Array; index: number };

export const HEALTH_UP = 0;
export const HEALTH_DOWN = 1;

export class SharedHostHealth {
  private readonly a: Int32Array;
  private readonly state: number;
  private readonly eject: number;
  private readonly fails: number;

  constructor(slots: HealthSlotAllocator, group: string, hostname: string, port: number) {
    const id = `${group}:${hostname}:${port}`;
    const s = slots(`health:${id}`);
    this.a = s.array;
    this.state = s.index;
    this.eject = slots(`eject:${id}`).index;
    this.fails = slots(`fails:${id}`).index;
  }

  /**
   * Request path: two Atomics loads when the host is up and not ejected.
   * An expired ejection is cleared by whoever sees it first, so a stale
   * deadline can never come back into range when the int32 clock wraps.
   */
  isAvailable(): boolean {
    const a = this.a;
    if (Atomics.load(a, this.state) === HEALTH_DOWN) return false;
    const until = Atomics.load(a, this.eject);
    if (until === 0) return true;
    if (((until - monotonicMs()) | 0) > 0) return false;
    Atomics.compareExchange(a, this.eject, until, 0);
    return true;
  }

  /** Active verdict only (the health checker's view). */
  get down(): boolean {
    return Atomics.load(this.a, this.state) === HEALTH_DOWN;
  }

  /** Milliseconds of passive ejection left; 0 when not ejected (clears an expired one). */
  ejectedForMs(): number {
    const until = Atomics.load(this.a, this.eject);
    if (until === 0) return 0;
    const left = (until - monotonicMs()) | 0;
    if (left > 0) return left;
    Atomics.compareExchange(this.a, this.eject, until, 0);
    return 0;
  }

  /**
   * A failure seen on traffic (connect failure, reset, 5xx). Returns true
   * when this one reached `maxFailures` and ejected the host for `cooldownMs`.
   */
  failed(maxFailures: number, cooldownMs: number): boolean {
    const n = Atomics.add(this.a, this.fails, 1) + 1;
    if (n < maxFailures) return false;
    Atomics.store(this.a, this.fails, 0);
    Atomics.store(this.a, this.eject, ((monotonicMs() + cooldownMs) | 0) || 1);
    return true;
  }

  /** A success seen on traffic: the failure streak ends. */
  succeeded(): void {
    if (Atomics.load(this.a, this.fails) !== 0) Atomics.store(this.a, this.fails, 0);
  }

  get consecutiveFailures(): number {
    return Atomics.load(this.a, this.fails);
  }

  /** The health checker's verdict. */
  setDown(down: boolean): void {
    Atomics.store(this.a, this.state, down ? HEALTH_DOWN : HEALTH_UP);
  }
}
