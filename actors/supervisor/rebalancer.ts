/**
 * Connection rebalancing (server.rebalance), decided on the main thread from
 * the shared per-worker connection counts. Keep-alive clients stay on the
 * worker that accepted them; after a worker restarts (it comes back empty
 * while its clients reconnected to the others) or when the kernel's accept
 * wake-ups favour one thread, that worker carries more than its share for as
 * long as those clients live. The supervisor then asks the overloaded worker
 * to close its excess, idle connections first; clients reconnect and the
 * acceptor places them again (least-loaded for handoff, the kernel's choice
 * for shared and reuseport, which spreads them in expectation).
 */
import type { SharedCounters } from './shared-counters.js';

export interface RebalanceSettings {
  readonly enabled: boolean;
  readonly intervalMs: number;
  /** A worker is over when it holds more than ratio x the mean... */
  readonly ratio: number;
  /** ...and at least this many more than the mean. */
  readonly minConnections: number;
}

export interface WorkerLoad {
  readonly workerId: number;
  readonly open: number;
}

export interface RebalanceOrder {
  readonly workerId: number;
  /** Connections to close: the worker's excess over the mean. */
  readonly close: number;
  readonly open: number;
  readonly mean: number;
}

/**
 * Which workers should close how many connections. Only ready workers
 * count: a worker that is starting or respawning would pull the mean down
 * and make the others shed what it cannot yet take.
 */
export function planRebalance(loads: readonly WorkerLoad[], settings: RebalanceSettings): RebalanceOrder[] {
  if (!settings.enabled || loads.length < 2) return [];
  let total = 0;
  for (const l of loads) total += l.open;
  const mean = total / loads.length;
  const orders: RebalanceOrder[] = [];
  for (const l of loads) {
    const excess = l.open - mean;
    if (l.open > settings.ratio * mean && excess >= settings.minConnections) orders.push({ workerId: l.workerId, close: Math.floor(excess), open: l.open, mean });
  }
  return orders;
}

/** Population standard deviation of connections per worker: the balance figure reported before and after. */
export function connectionSpread(loads: readonly WorkerLoad[]): number {
  if (loads.length === 0) return 0;
  const mean = loads.reduce((a, l) => a + l.open, 0) / loads.length;
  return Math.sqrt(loads.reduce((a, l) => a + (l.open - mean) ** 2, 0) / loads.length);
}

/**
 * The timer side: every intervalMs, plans from the counters and hands each
 * order to `closeOn` (the pool's control call). One pass at a time: a slow
 * worker answer never stacks passes.
 */
export class Rebalancer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly counters: SharedCounters,
    private readonly settings: () => RebalanceSettings,
    private readonly readyWorkers: () => readonly number[],
    private readonly closeOn: (order: RebalanceOrder, spreadBefore: number) => Promise<void>,
  ) {}

  start(): void {
    this.stop();
    const s = this.settings();
    if (!s.enabled) return;
    this.timer = setInterval(() => void this.pass(), s.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the counters (public so that a reload can restart the timer and tests can force a pass). */
  async pass(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const loads = this.readyWorkers().map((workerId) => ({ workerId, open: this.counters.open(workerId) }));
      const orders = planRebalance(loads, this.settings());
      if (orders.length === 0) return;
      const spread = connectionSpread(loads);
      await Promise.all(orders.map((o) => this.closeOn(o, spread)));
    } finally {
      this.running = false;
    }
  }
}
