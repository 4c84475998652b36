/**
 * One look at the running proxy, gathered on the main thread for /metrics
 * and the live stream: the workers' shared-memory metrics (summed and per
 * slot, no message), the pool's stats (one control-plane call per worker,
 * never per request), ring counters read from the rings' own headers, the
 * health checker's report and the shared upstream counters.
 */
import type { ZproxyConfig } from '../../src/config/types.js';
import { SpscRing, type RingStats } from '../../src/kernel/ring.js';
import type { MetricSample, SharedMetricsTable } from '../../src/kernel/shared-metrics.js';
import type { HealthReport } from '../health-checker/health-checker.js';
import type { PoolStats } from '../supervisor/pool-stats.js';

export interface ObservationSources {
  /** Absent when metrics are off (admin disabled). */
  readonly metrics: SharedMetricsTable | undefined;
  readonly poolStats: () => Promise<PoolStats>;
  readonly health: () => Promise<HealthReport>;
  /** Rings to report, by display name ("access-log/0"). */
  readonly rings: () => ReadonlyArray<{ readonly name: string; readonly buffer: SharedArrayBuffer }>;
  /** Upstream connections busy now over all workers (the shared least-connections counter). */
  readonly upstreamActive: (group: string, hostname: string, port: number) => number;
  readonly config: () => ZproxyConfig;
  readonly generation: () => number;
  /** Date.now() at start. */
  readonly startedAtMs: number;
}

export interface Observation {
  readonly atMs: number;
  readonly uptimeMs: number;
  readonly generation: number;
  readonly config: ZproxyConfig;
  /** Every worker series summed over the slots. */
  readonly samples: readonly MetricSample[];
  /** Each worker slot's own series. */
  readonly perWorker: ReadonlyMap<number, readonly MetricSample[]>;
  readonly pool: PoolStats;
  readonly health: HealthReport;
  readonly rings: ReadonlyArray<{ readonly name: string; readonly stats: RingStats }>;
  /** Keyed by `${group}\n${hostname}:${port}`. */
  readonly upstreamActive: ReadonlyMap<string, number>;
  readonly rssBytes: number;
  readonly droppedSeries: number;
}

export function upstreamKey(group: string, hostname: string, port: number): string {
  return `${group}\n${hostname}:${port}`;
}

export async function gatherObservation(src: ObservationSources): Promise<Observation> {
  const [pool, health] = await Promise.all([src.poolStats(), src.health()]);
  const config = src.config();
  const perWorker = new Map<number, MetricSample[]>();
  if (src.metrics) for (const w of pool.workers) perWorker.set(w.workerId, src.metrics.readSlot(w.workerId));
  const upstreamActive = new Map<string, number>();
  for (const [name, g] of Object.entries(config.upstreams)) {
    for (const h of g.hosts) upstreamActive.set(upstreamKey(name, h.host, h.port), src.upstreamActive(name, h.host, h.port));
  }
  const now = Date.now();
  return {
    atMs: now,
    uptimeMs: now - src.startedAtMs,
    generation: src.generation(),
    config,
    samples: src.metrics?.read() ?? [],
    perWorker,
    pool,
    health,
    rings: src.rings().map((r) => ({ name: r.name, stats: SpscRing.attach(r.buffer).stats() })),
    upstreamActive,
    rssBytes: process.memoryUsage.rss(),
    droppedSeries: src.metrics?.dropped() ?? 0,
  };
}

/**
 * Parses a label string as written by the recorders (`a="x",b="y\"z"`).
 * Only ever fed our own output, so it handles exactly the escapes
 * labelValue() writes.
 */
export function parseLabels(labels: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < labels.length) {
    const eq = labels.indexOf('="', i);
    if (eq < 0) break;
    const key = labels.slice(i, eq);
    let j = eq + 2;
    let value = '';
    while (j < labels.length && labels[j] !== '"') {
      if (labels[j] === '\\' && j + 1 < labels.length) {
        const n = labels[j + 1];
        value += n === 'n' ? '\n' : n;
        j += 2;
        continue;
      }
      value += labels[j];
      j++;
    }
    out[key] = value;
    i = j + 2; // past the closing quote and the comma
  }
  return out;
}

/** Sum of a counter or gauge family's samples whose labels pass `where`. */
export function sumOf(samples: readonly MetricSample[], name: string, where?: (labels: Record<string, string>) => boolean): number {
  let total = 0;
  for (const s of samples) if (s.name === name && (!where || where(parseLabels(s.labels)))) total += s.value;
  return total;
}

/** Per-bucket counts of a histogram family summed over the samples whose labels pass `where`. */
export function bucketsOf(samples: readonly MetricSample[], name: string, buckets: number, where?: (labels: Record<string, string>) => boolean): number[] {
  const out = new Array<number>(buckets).fill(0);
  for (const s of samples) {
    if (s.name !== name || !s.counts || s.counts.length !== buckets || (where && !where(parseLabels(s.labels)))) continue;
    for (let i = 0; i < buckets; i++) out[i]! += s.counts[i]!;
  }
  return out;
}

/** The value of the one sample of `name` in `samples` (a per-worker gauge), or null. */
export function valueOf(samples: readonly MetricSample[], name: string): number | null {
  for (const s of samples) if (s.name === name) return s.value;
  return null;
}
