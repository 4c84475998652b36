import type { MessagePort } from 'node:worker_threads';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { AcceptorKind } from '../../src/platform/node-features.js';
import type { PinResult } from '../../src/platform/pin-thread.js';
import type { WorkerListenerPlan } from '../acceptor/acceptor-strategy.js';
import type { RuntimeConfig } from '../supervisor/runtime-config.js';

/**
 * What the main thread gives a worker thread at spawn (workerData) and the
 * lifecycle messages the worker sends back on its parentPort.
 */

export interface WorkerBootData {
  readonly workerId: number;
  /** Spawn count of this worker slot: messages from an older generation are ignored. */
  readonly generation: number;
  /** CPU to pin to, or undefined to run unpinned. */
  readonly cpu: number | undefined;
  readonly numaNode: number;
  /** file: URL of the module exporting createWorkerApp. */
  readonly appModule: string;
  readonly config: RuntimeConfig;
  readonly counters: SharedArrayBuffer;
  readonly acceptor: AcceptorKind;
  readonly listeners: readonly WorkerListenerPlan[];
  /** Our end of the comlink control channel (in the Worker's transferList). */
  readonly controlPort: MessagePort;
  readonly heartbeatIntervalMs: number;
  /** Per-worker data for the app (WorkerAppContext.appData). */
  readonly appData: Readonly<Record<string, unknown>>;
}

/**
 * workerData of a standby thread (server.restart.standby): it imports the
 * app's module graph ahead of time, says so, and waits for the boot data of
 * the slot it will fill, so that a crashed worker's replacement skips the
 * slowest part of a start.
 */
export interface StandbyBootData {
  readonly standby: true;
  readonly appModule: string;
}

/** Main thread -> standby: become this worker (the control port travels in the transfer list). */
export interface StandbyAssignMessage {
  readonly kind: 'supervisor.standby-assign';
  readonly boot: WorkerBootData;
}

/** Standby -> main thread: modules loaded, ready to be assigned. */
export interface StandbyReadyMessage {
  readonly kind: 'supervisor.standby-ready';
  /** How long the import took. */
  readonly warmMs: number;
}

/** A worker's exit code when its root actor supervisor gave up (EX_SOFTWARE, sysexits.h). */
export const EXIT_ESCALATED = 70;
/** A worker's exit code when its app or listeners could not start (EX_CONFIG, sysexits.h). */
export const EXIT_START_FAILED = 78;

export type WorkerLifecycleMessage =
  | {
    readonly kind: 'supervisor.worker-ready';
    readonly workerId: number;
    readonly generation: number;
    readonly threadId: number;
    /** Kernel thread id, when known (Linux). */
    readonly tid: number | undefined;
    readonly pin: PinResult | undefined;
  }
  | { readonly kind: 'supervisor.worker-start-failed'; readonly workerId: number; readonly generation: number; readonly error: ErrorRecord }
  | { readonly kind: 'supervisor.worker-escalated'; readonly workerId: number; readonly generation: number; readonly supervisor: string; readonly error: ErrorRecord };
