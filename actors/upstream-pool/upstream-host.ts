/**
 * One upstream server as a worker sees it: its address, its idle keep-alive
 * connections (LIFO, so the warmest socket is reused and cold ones time out),
 * and its load, counted locally and, for least-connections, in shared memory
 * across all workers. Its health (active-check verdict and passive ejection)
 * is shared by every worker too (SharedHostHealth), so all skip a bad host.
 */
import type { UpstreamConnection } from './upstream-connection.js';
import type { SharedHostHealth } from '../health-checker/shared-host-health.js';

export class UpstreamHost {
  /** Connections currently carrying a request from this worker. */
  active = 0;
  /** Idle keep-alive connections, most recently used last. */
  readonly idle: UpstreamConnection[] = [];
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
    /** Shared across workers: the health checker's verdict and passive ejection. */
    readonly health: SharedHostHealth,
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

  /** False while an active check says down or passive ejection holds (in any worker). `now` is unused: ejection runs on the shared monotonic clock. */
  isAvailable(_now: number): boolean {
    return this.health.isAvailable();
  }

  /** Consecutive failures over all workers; reset by a success. */
  get consecutiveFailures(): number {
    return this.health.consecutiveFailures;
  }

  /** A connect failure, a reset or a 5xx on traffic; true when it ejected the host for cooldownMs. */
  failed(maxFailures: number, cooldownMs: number): boolean {
    return this.health.failed(maxFailures, cooldownMs);
  }

  succeeded(): void {
    this.health.succeeded();
  }

  /** Closes every idle connection (reload, drain, shutdown). */
  closeIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
