/**
 * One upstream server as a worker sees it: its address, its idle keep-alive
 * connections (LIFO, so the warmest socket is reused and cold ones time out),
 * and its load, counted locally and, for least-connections, in shared memory
 * across all workers.
 */
import type { UpstreamConnection } from './upstream-connection.js';

export class UpstreamHost {
  /** Connections currently carrying a request from this worker. */
  active = 0;
  /** Idle keep-alive connections, most recently used last. */
  readonly idle: UpstreamConnection[] = [];
  /** Consecutive connect failures; reset by a success. */
  consecutiveFailures = 0;
  /** Until this time (ms) the host is skipped after failures (passive ejection). */
  ejectedUntil = 0;
  /** Totals for stats. */
  connectsTotal = 0;
  reusesTotal = 0;
  requestsTotal = 0;

  constructor(
    readonly groupName: string,
    readonly index: number,
    readonly hostname: string,
    readonly port: number,
    readonly weight: number,
    /** Shared cross-worker active-connection counter (Int32Array view + slot), or a local one. */
    private readonly sharedActive: Int32Array,
    private readonly sharedSlot: number,
  ) {}

  get address(): string {
    return this.hostname.includes(':') ? `[${this.hostname}]:${this.port}` : `${this.hostname}:${this.port}`;
  }

  /** Active connections to this host summed over all workers (Atomics: written by every worker). */
  get activeAllWorkers(): number {
    return Atomics.load(this.sharedActive, this.sharedSlot);
  }

  acquired(): void {
    this.active++;
    this.requestsTotal++;
    Atomics.add(this.sharedActive, this.sharedSlot, 1);
  }

  released(): void {
    this.active--;
    Atomics.sub(this.sharedActive, this.sharedSlot, 1);
  }

  isAvailable(now: number): boolean {
    return this.ejectedUntil <= now;
  }

  /** Closes every idle connection (reload, drain, shutdown). */
  closeIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
