/**
 * Once a second, a worker writes its own vitals into its metrics slot:
 * event-loop delay and utilization over the last second, CPU time of its
 * thread, and its upstream pools' counters (as deltas, so a reload that
 * replaces a pool never makes a counter go backwards). Sampling on the
 * worker's own loop is the point: a blocked loop shows up as a late sample
 * and a large delay, and nothing here runs per request.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { MetricsWriter } from '../../src/kernel/shared-metrics.js';
import type { UpstreamGroup } from '../upstream-pool/upstream-group.js';
import { WORKER_FAMILIES as F, labelValue } from './metric-families.js';

/** One sample per second: what `zproxy top` refreshes at. */
export const VITALS_INTERVAL_MS = 1000;
/**
 * Node's default resolution for monitorEventLoopDelay (10 ms): its timer
 * wakes the loop 100 times a second, negligible next to request traffic;
 * finer resolutions cost a wakeup per millisecond.
 */
const LOOP_DELAY_RESOLUTION_MS = 10;

type ThreadCpuUsage = () => NodeJS.CpuUsage;
/** process.threadCpuUsage exists from Node 23.9; on older Node the CPU series are left out. */
const threadCpuUsage = (process as unknown as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage?.bind(process);

/** A histogram value (ns between timer runs) as seconds of delay; empty histograms read NaN or 0. */
function loopDelaySeconds(ns: number): number {
  return Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) / 1000 : 0;
}

interface PoolTotals {
  requests: number;
  reuses: number;
  connects: number;
  connectFailures: number;
}

interface Gauges {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly elu: number;
  readonly cpu: number | undefined;
  readonly cpuUtil: number | undefined;
}

export class WorkerVitals {
  private readonly values: Float64Array;
  private readonly delay: IntervalHistogram;
  private elu: EventLoopUtilization;
  private cpu: NodeJS.CpuUsage | undefined;
  private lastAt = performance.now();
  private readonly g: Gauges;
  private readonly seen = new WeakMap<UpstreamGroup, PoolTotals>();
  private readonly idleNames = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly writer: MetricsWriter, workerId: number, private readonly groups: () => Iterable<UpstreamGroup>) {
    this.values = writer.values;
    const w = `worker="${workerId}"`;
    this.g = {
      p50: writer.gauge(F.loopDelayP50.name, w),
      p99: writer.gauge(F.loopDelayP99.name, w),
      max: writer.gauge(F.loopDelayMax.name, w),
      elu: writer.gauge(F.loopUtilization.name, w),
      cpu: threadCpuUsage ? writer.counter(F.cpuSeconds.name, w) : undefined,
      cpuUtil: threadCpuUsage ? writer.gauge(F.cpuUtilization.name, w) : undefined,
    };
    this.delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.delay.enable();
    this.elu = performance.eventLoopUtilization();
    this.cpu = threadCpuUsage?.();
  }

  start(intervalMs = VITALS_INTERVAL_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.delay.disable();
  }

  /** Writes one sample (public for tests). */
  sample(): void {
    const v = this.values;
    const g = this.g;
    const now = performance.now();
    const elapsedMs = Math.max(1, now - this.lastAt);
    this.lastAt = now;
    // Nanoseconds between the sampling timer's runs, so an idle loop reads the resolution
    // itself (measured: p50 10.1 ms at 10 ms on Node 20): subtract it to get the delay.
    const p50 = this.delay.percentile(50);
    const p99 = this.delay.percentile(99);
    v[g.p50] = loopDelaySeconds(p50);
    v[g.p99] = loopDelaySeconds(p99);
    v[g.max] = this.delay.count > 0 ? loopDelaySeconds(this.delay.max) : 0;
    this.delay.reset();
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    v[g.elu] = elu.utilization;
    if (threadCpuUsage && this.cpu && g.cpu !== undefined && g.cpuUtil !== undefined) {
      const cpu = threadCpuUsage();
      const usedUs = cpu.user - this.cpu.user + cpu.system - this.cpu.system;
      this.cpu = cpu;
      v[g.cpu]! += usedUs / 1e6;
      v[g.cpuUtil] = usedUs / 1000 / elapsedMs;
    }
    this.samplePools();
  }

  private samplePools(): void {
    const v = this.values;
    const idle = new Map<string, number>();
    for (const group of this.groups()) {
      const s = group.stats();
      const last = this.seen.get(group) ?? { requests: 0, reuses: 0, connects: 0, connectFailures: 0 };
      const labels = `upstream="${labelValue(s.name)}"`;
      v[this.writer.counter(F.upstreamRequests.name, labels)]! += s.requests - last.requests;
      v[this.writer.counter(F.upstreamReused.name, labels)]! += s.reuses - last.reuses;
      v[this.writer.counter(F.upstreamConnects.name, labels)]! += s.connects - last.connects;
      v[this.writer.counter(F.upstreamConnectFailures.name, labels)]! += s.connectFailures - last.connectFailures;
      this.seen.set(group, { requests: s.requests, reuses: s.reuses, connects: s.connects, connectFailures: s.connectFailures });
      idle.set(labels, (idle.get(labels) ?? 0) + s.idle);
    }
    // A group gone from the config keeps its series; its idle count is 0, not its last value.
    for (const labels of this.idleNames) if (!idle.has(labels)) v[this.writer.gauge(F.upstreamIdle.name, labels)] = 0;
    for (const [labels, n] of idle) {
      v[this.writer.gauge(F.upstreamIdle.name, labels)] = n;
      this.idleNames.add(labels);
    }
  }
}
