import type { SystemStats } from '../../src/kernel/actor-system.js';
import type { AcceptorKind } from '../../src/platform/node-features.js';
import type { BoundListener } from '../acceptor/acceptor-strategy.js';
import type { PoolEvent } from './pool-events.js';
import type { SharedCounters } from './shared-counters.js';
import type { WorkerSlot } from './worker-slot.js';

/** The shape of WorkerPool.stats() and how one worker's part is gathered: JSON-able, for the CLI and the admin endpoint. */

export type WorkerSlotState = 'starting' | 'ready' | 'respawn-wait' | 'draining' | 'stopped';

export interface WorkerStats {
  readonly workerId: number;
  readonly threadId: number;
  /** Kernel thread id (Linux), for top -H and taskset. */
  readonly tid: number | undefined;
  /** CPU the worker is pinned to; undefined when pinning is off. */
  readonly cpu: number | undefined;
  readonly numaNode: number;
  readonly pinned: boolean;
  readonly state: WorkerSlotState;
  /** Respawns of this worker slot since start. */
  readonly restarts: number;
  readonly heartbeatAgeMs: number;
  readonly openConnections: number;
  /** Connections given to the current worker of this slot. */
  readonly acceptedConnections: number;
  readonly uptimeMs: number | undefined;
  /** The app's own stats; undefined when the worker could not answer (see error). */
  readonly app: Record<string, unknown> | undefined;
  readonly actors: SystemStats | undefined;
  readonly error?: string;
}

export interface PoolStats {
  readonly acceptor: AcceptorKind;
  readonly listeners: readonly BoundListener[];
  readonly workers: readonly WorkerStats[];
  readonly supervisor: {
    readonly restarts: number;
    readonly crashes: number;
    readonly hangs: number;
    readonly reloads: number;
    readonly reloadFailures: number;
    /** Rebalancing passes that asked a worker to shed connections, and the connections asked. */
    readonly rebalances: number;
    readonly rebalancedConnections: number;
    /** The spare worker thread (server.restart.standby) and how many times one replaced a dead worker. */
    readonly standby: 'off' | 'warming' | 'ready';
    readonly standbyUsed: number;
    readonly events: readonly PoolEvent[];
  };
}

export type PingResult =
  | { readonly workerId: number; readonly ok: true; readonly rttMs: number }
  | { readonly workerId: number; readonly ok: false; readonly error: string };

/** One worker's stats: the shared counters (always readable, even from a hung worker) plus its own report. */
export async function collectWorkerStats(s: WorkerSlot, counters: SharedCounters | undefined, nowMs: number, timeoutMs: number): Promise<WorkerStats> {
  const base = {
    workerId: s.id, threadId: s.threadId, tid: s.tid, cpu: s.cpu, numaNode: s.numaNode, pinned: s.pin?.ok === true,
    state: s.state, restarts: s.restarts,
    heartbeatAgeMs: counters ? counters.heartbeatAgeMs(s.id, nowMs) : -1,
    openConnections: counters ? counters.open(s.id) : 0,
    acceptedConnections: counters ? counters.accepted(s.id) : 0,
  };
  if (!s.control || (s.state !== 'ready' && s.state !== 'draining')) return { ...base, uptimeMs: undefined, app: undefined, actors: undefined };
  try {
    const r = await s.control.call('stats', [], timeoutMs);
    return { ...base, uptimeMs: r.uptimeMs, app: r.app, actors: r.actors };
  } catch (err) {
    return { ...base, uptimeMs: undefined, app: undefined, actors: undefined, error: (err as Error).message };
  }
}
