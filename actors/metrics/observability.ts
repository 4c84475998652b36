/**
 * The main thread's observability and health wiring, built once by the
 * composition root: the workers' metrics memory (one slot buffer per worker,
 * handed out through appData), the health-checker actor on a main-thread
 * actor system, and what the admin listener serves from them (/metrics,
 * /readyz, the live stream). Reads shared memory and asks the pool; never
 * on the request path.
 */
import { threadId } from 'node:worker_threads';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import { SharedMetricsTable } from '../../src/kernel/shared-metrics.js';
import type { SharedSlots } from '../../src/kernel/shared-slots.js';
import type { ZproxyConfig } from '../../src/config/types.js';
import type { LiveSnapshot } from '../../src/protocol/admin-stream.js';
import { HealthChecker, type HealthCheckerMessage, type HealthEvent, type HealthReport } from '../health-checker/health-checker.js';
import { groupsWithoutHealthyHost } from '../health-checker/readiness.js';
import type { HealthSlotAllocator } from '../health-checker/shared-host-health.js';
import type { PoolStats } from '../supervisor/pool-stats.js';
import { buildLiveSnapshot } from './live-snapshot.js';
import { writeExposition } from './metrics-exposition.js';
import { gatherObservation, type ObservationSources } from './observation.js';

export interface ObservabilityOptions {
  readonly config: ZproxyConfig;
  readonly pool: { stats(): Promise<PoolStats> };
  /** The one SharedSlots every worker got (health and least-connections counters live there). */
  readonly sharedSlots: SharedSlots;
  /** Record metrics in the workers (the admin listener is their only reader). */
  readonly metricsEnabled: boolean;
  /** The access-log ring of a worker slot, when access logging is on (LoggerThread.ringFor). */
  readonly accessLogRing?: (slot: number) => SharedArrayBuffer;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** How long /stats, /metrics or the stream wait for the health checker's report. */
const REPORT_TIMEOUT_MS = 1000;
const HEALTH_CHECKER = 'health-checker';

export class Observability {
  private config: ZproxyConfig;
  private generation = 1;
  private readonly metrics: SharedMetricsTable | undefined;
  private readonly system: ActorSystem;
  private readonly slots: HealthSlotAllocator;
  private readonly sources: ObservationSources;

  constructor(private readonly options: ObservabilityOptions) {
    this.config = options.config;
    this.metrics = options.metricsEnabled ? new SharedMetricsTable() : undefined;
    const shared = options.sharedSlots;
    this.slots = (name) => ({ array: shared.values, index: shared.slot(name) });
    const log = options.log ?? (() => {});
    this.system = new ActorSystem({
      threadId,
      // Past its restart budget the health checker stays down: hosts keep their last verdict, and we say so.
      onEscalate: (error) => log('error', `health checker stopped after repeated crashes (${error.code}: ${error.message}); host health is frozen`),
    });
    const send = (msg: HealthCheckerMessage): void => { this.system.send(HEALTH_CHECKER, msg); };
    const onEvent = (e: HealthEvent): void => log(e.kind === 'upstream-down' || e.kind === 'upstream-ejected' ? 'warn' : 'info', `upstream ${e.upstream} host ${e.host}: ${e.kind.slice('upstream-'.length)} (${e.detail})`);
    this.system.startTree({
      name: 'main',
      strategy: 'one-for-one',
      intensity: { maxRestarts: options.config.server.restart.maxRestarts, withinMs: options.config.server.restart.withinMs },
      children: [{ name: HEALTH_CHECKER, restart: 'permanent', start: () => new HealthChecker({ slots: this.slots, self: send, onEvent }, this.config.upstreams) }],
    });
    this.sources = {
      metrics: this.metrics,
      poolStats: () => options.pool.stats(),
      health: () => this.healthReport(),
      rings: () => this.rings(),
      upstreamActive: (group, host, port) => Atomics.load(shared.values, shared.slot(`upstream:${group}:${host}:${port}`)),
      config: () => this.config,
      generation: () => this.generation,
      startedAtMs: Date.now(),
    };
  }

  /** What a worker slot needs from us (merged into its appData at every spawn). */
  appData(workerId: number): { metrics?: SharedArrayBuffer } {
    return this.metrics ? { metrics: this.metrics.slotBuffer(workerId) } : {};
  }

  /** A reload was applied: probe the new upstreams. */
  configure(config: ZproxyConfig, generation: number): void {
    this.config = config;
    this.generation = generation;
    this.system.send(HEALTH_CHECKER, { kind: 'health-checker.configure', upstreams: config.upstreams } satisfies HealthCheckerMessage);
  }

  /** /readyz: listeners up and every upstream group with at least one usable host. */
  readiness(listenersUp: boolean): { ready: boolean; detail: string } {
    if (!listenersUp) return { ready: false, detail: 'listeners not accepting (starting or draining)' };
    const bad = groupsWithoutHealthyHost(this.config.upstreams, this.slots);
    return bad.length === 0 ? { ready: true, detail: 'ready' } : { ready: false, detail: `no healthy host in upstream ${bad.join(', ')}` };
  }

  healthReport(): Promise<HealthReport> {
    return this.system.ask<HealthReport>(HEALTH_CHECKER, { kind: 'health-checker.report' } satisfies HealthCheckerMessage, REPORT_TIMEOUT_MS)
      .catch((): HealthReport => ({ groups: [], events: [] }));
  }

  async metricsText(): Promise<string> {
    return writeExposition(await gatherObservation(this.sources));
  }

  async liveSnapshot(): Promise<LiveSnapshot> {
    return buildLiveSnapshot(await gatherObservation(this.sources));
  }

  stop(): void {
    this.system.shutdown();
  }

  private rings(): Array<{ name: string; buffer: SharedArrayBuffer }> {
    const ringFor = this.options.accessLogRing;
    if (!ringFor || !this.metrics) return [];
    return this.metrics.slotIds().map((slot) => ({ name: `access-log/${slot}`, buffer: ringFor(slot) }));
  }
}
