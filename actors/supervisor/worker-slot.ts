import { MessageChannel, Worker } from 'node:worker_threads';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { PinResult } from '../../src/platform/pin-thread.js';
import type { StandbyAssignMessage, WorkerBootData, WorkerLifecycleMessage } from '../worker/worker-boot-data.js';
import { ControlClient } from './control-plane.js';
import type { WorkerSlotState } from './pool-stats.js';
import { RestartBackoff, type RestartPolicy } from './restart-backoff.js';
import { monotonicMs } from './shared-counters.js';

/**
 * One worker position in the pool (worker 0, worker 1, ...): its placement,
 * its restart history, and the Worker currently filling it. A respawn puts a
 * new Worker (next generation) in the same slot; events from an older
 * generation's Worker are ignored, so a late 'exit' cannot kill its successor.
 */

export interface SlotHooks {
  onReady(slot: WorkerSlot, msg: Extract<WorkerLifecycleMessage, { kind: 'supervisor.worker-ready' }>): void;
  onExit(slot: WorkerSlot, exitCode: number): void;
}

/** The boot data every worker of the pool shares; the slot adds its own fields. */
export type CommonBootData = Omit<WorkerBootData, 'workerId' | 'generation' | 'cpu' | 'numaNode' | 'controlPort' | 'appData'>;

export class WorkerSlot {
  state: WorkerSlotState = 'starting';
  worker: Worker | undefined;
  control: ControlClient | undefined;
  generation = 0;
  threadId = -1;
  tid: number | undefined;
  pin: PinResult | undefined;
  /** Respawns of this slot. */
  restarts = 0;
  spawnedAtMs = 0;
  readyAtMs: number | undefined;
  /** When the slot lost its worker (first crash of the current outage), for the restart time. */
  downSinceMs: number | undefined;
  /** Why the current worker is dying: its uncaught error, start failure or escalation. */
  lastError: string | undefined;
  /** The start failure the worker reported, kept to fail the pool's start() with its code. */
  startError: ErrorRecord | undefined;
  /** Set by the watchdog before it terminates a hung worker. */
  hungAgeMs: number | undefined;
  /** Which pool config generation the worker runs (reloads bump it). */
  configGeneration = 0;
  /** Keys of the listeners the worker accepts on (or will, once booted): its boot plans, then each update applied. */
  listenerKeys: ReadonlySet<number> = new Set();
  /** Listener updates to this worker, one at a time. */
  listenerSync: Promise<unknown> = Promise.resolve();
  respawnTimer: NodeJS.Timeout | undefined;
  readonly backoff: RestartBackoff;

  constructor(
    readonly id: number,
    /** CPU to pin the worker to, undefined when pinning is off. */
    readonly cpu: number | undefined,
    readonly numaNode: number,
    policy: RestartPolicy,
  ) {
    this.backoff = new RestartBackoff(policy);
  }

  /**
   * Fills the slot with a new worker thread, or with `standby`, a thread that
   * already imported the app (it gets the same boot data by message).
   */
  spawn(script: URL, common: CommonBootData, appData: WorkerBootData['appData'], configGeneration: number, hooks: SlotHooks, standby?: Worker): void {
    this.generation++;
    const generation = this.generation;
    const { port1, port2 } = new MessageChannel();
    const data: WorkerBootData = { ...common, workerId: this.id, generation, cpu: this.cpu, numaNode: this.numaNode, controlPort: port2, appData };
    let worker: Worker;
    if (standby !== undefined) {
      worker = standby;
      worker.postMessage({ kind: 'supervisor.standby-assign', boot: data } satisfies StandbyAssignMessage, [port2]);
    } else {
      worker = new Worker(script, { workerData: data, transferList: [port2] });
    }
    this.worker = worker;
    this.control = new ControlClient(port1, this.id);
    this.state = 'starting';
    this.threadId = worker.threadId;
    this.tid = undefined;
    this.pin = undefined;
    this.spawnedAtMs = monotonicMs();
    this.readyAtMs = undefined;
    this.lastError = undefined;
    this.startError = undefined;
    this.hungAgeMs = undefined;
    this.configGeneration = configGeneration;
    this.listenerKeys = new Set(common.listeners.map((p) => p.key));
    this.listenerSync = Promise.resolve();
    worker.on('message', (msg: WorkerLifecycleMessage) => {
      if (this.worker !== worker || msg.generation !== generation) return;
      switch (msg.kind) {
        case 'supervisor.worker-ready':
          this.tid = msg.tid;
          this.pin = msg.pin;
          hooks.onReady(this, msg);
          break;
        case 'supervisor.worker-start-failed':
          this.startError = msg.error;
          this.lastError = `start failed: ${msg.error.code}: ${msg.error.message}`;
          break;
        case 'supervisor.worker-escalated':
          this.lastError = `supervisor '${msg.supervisor}' gave up: ${msg.error.code}: ${msg.error.message}`;
          break;
      }
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.lastError = `uncaught ${err.name}: ${err.message}`;
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.control?.close(`exit code ${code}`);
      this.control = undefined;
      hooks.onExit(this, code);
    });
  }
}
