/**
 * server.overload: whether this worker should shed load now. Sampled on a
 * timer (never per request): event-loop delay (perf_hooks histogram of this
 * thread's loop), event-loop utilization, this isolate's V8 heap in use, and
 * the process's RSS. While any threshold is exceeded the worker refuses new
 * connections and answers new requests 503 with Retry-After; requests
 * already in flight finish. This is the Node answer users know from
 * @fastify/under-pressure, applied in front of every route.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { OverloadConfig } from '../../src/config/types.js';

export type OverloadReason = 'event-loop-delay' | 'event-loop-utilization' | 'heap-used' | 'rss';

export interface OverloadStats {
  overloaded: boolean;
  reason: OverloadReason | undefined;
  /** Samples that found a threshold exceeded. */
  overloadSamples: number;
  /** Requests and connections refused while overloaded. */
  shed: number;
  eventLoopDelayMs: number;
  eventLoopUtilization: number;
  heapUsedBytes: number;
}

export class OverloadMonitor {
  /** Read on every request: a plain field, set by the sampler. */
  overloaded = false;
  private reason: OverloadReason | undefined;
  private samples = 0;
  private shedTotal = 0;
  private histogram: IntervalHistogram | undefined;
  private elu: EventLoopUtilization | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last = { delayMs: 0, utilization: 0, heapUsed: 0 };

  constructor(private config: OverloadConfig) {
    this.apply(config);
  }

  /** A reload's thresholds; starts or stops sampling as needed. */
  apply(config: OverloadConfig): void {
    this.config = config;
    const on = config.maxEventLoopDelayMs > 0 || config.maxEventLoopUtilization > 0 || config.maxHeapUsedBytes > 0 || config.maxRssBytes > 0;
    this.stop();
    this.overloaded = false;
    this.reason = undefined;
    if (!on) return;
    if (config.maxEventLoopDelayMs > 0) {
      // 10 ms resolution is plenty for thresholds in tens of milliseconds and costs one timer.
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
    }
    this.elu = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.sample(), config.sampleIntervalMs);
    this.timer.unref();
  }

  /** Counts one refused request or connection (for stats). */
  shed(): void {
    this.shedTotal++;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }

  stats(): OverloadStats {
    return { overloaded: this.overloaded, reason: this.reason, overloadSamples: this.samples, shed: this.shedTotal, eventLoopDelayMs: this.last.delayMs, eventLoopUtilization: this.last.utilization, heapUsedBytes: this.last.heapUsed };
  }

  /** One sample; public so that a test can take one without waiting for the timer. */
  sample(): void {
    const c = this.config;
    let reason: OverloadReason | undefined;
    if (this.histogram) {
      // max, not mean: one 200 ms stall is what a request waiting behind it feels.
      this.last.delayMs = this.histogram.max / 1e6;
      this.histogram.reset();
      if (this.last.delayMs > c.maxEventLoopDelayMs) reason = 'event-loop-delay';
    }
    const elu = performance.eventLoopUtilization();
    this.last.utilization = performance.eventLoopUtilization(elu, this.elu).utilization;
    this.elu = elu;
    if (reason === undefined && c.maxEventLoopUtilization > 0 && this.last.utilization > c.maxEventLoopUtilization) reason = 'event-loop-utilization';
    this.last.heapUsed = v8.getHeapStatistics().used_heap_size;
    if (reason === undefined && c.maxHeapUsedBytes > 0 && this.last.heapUsed > c.maxHeapUsedBytes) reason = 'heap-used';
    if (reason === undefined && c.maxRssBytes > 0 && process.memoryUsage.rss() > c.maxRssBytes) reason = 'rss';
    if (reason !== undefined) this.samples++;
    this.reason = reason;
    this.overloaded = reason !== undefined;
  }
}
