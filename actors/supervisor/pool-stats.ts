import type { SystemStats } from '../../src/kernel/actor-system.js';
import type { AcceptorKind } from '../../src/platform/node-features.js';
import type { BoundListener } from '../acceptor/acceptor-strategy.js';
import type { PoolEvent } from './pool-events.js';

/** The shape of WorkerPool.stats(): JSON-able, for the CLI and the admin endpoint. */

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
    readonly events: readonly PoolEvent[];
  };
}
