/**
 * When to respawn a crashed worker: exponential backoff per worker slot
 * (backoffInitialMs, doubling, capped at backoffMaxMs), reset once a worker
 * has stayed up withinMs, plus OTP-style restart intensity: more than
 * maxRestarts crashes within withinMs means the worker is crash-looping.
 * Unlike an OTP supervisor we do not give up then (the proxy must keep
 * serving with the workers it has); we keep retrying at backoffMaxMs and
 * say so loudly, which never spins the CPU.
 */

export interface RestartPolicy {
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

export interface RestartDecision {
  /** Wait this long before spawning the replacement. */
  readonly delayMs: number;
  /** Crashes within the last withinMs, this one included. */
  readonly crashesInWindow: number;
  /** True past maxRestarts within withinMs: the caller logs a crash-loop error. */
  readonly overIntensity: boolean;
}

export class RestartBackoff {
  private crashTimes: number[] = [];
  /** Crashes since the worker last stayed up withinMs: the backoff exponent. */
  private consecutive = 0;
  private upSince: number | undefined;

  constructor(private readonly policy: RestartPolicy) {}

  /** The worker is up and serving (ready). */
  started(nowMs: number): void {
    this.upSince = nowMs;
  }

  /** The worker died at nowMs: how long to wait before the next one. */
  crashed(nowMs: number): RestartDecision {
    const p = this.policy;
    if (this.upSince !== undefined && nowMs - this.upSince >= p.withinMs) this.consecutive = 0;
    this.upSince = undefined;
    const from = nowMs - p.withinMs;
    this.crashTimes = this.crashTimes.filter((t) => t > from);
    this.crashTimes.push(nowMs);
    this.consecutive++;
    const overIntensity = this.crashTimes.length > p.maxRestarts;
    // 2 ** 30 already exceeds any sane max; the cap keeps the exponent from overflowing to Infinity.
    const exponential = p.backoffInitialMs * 2 ** Math.min(this.consecutive - 1, 30);
    const delayMs = overIntensity ? p.backoffMaxMs : Math.min(exponential, p.backoffMaxMs);
    return { delayMs, crashesInWindow: this.crashTimes.length, overIntensity };
  }
}
