import type { Worker } from 'node:worker_threads';
import type { MainAcceptor } from './acceptor-strategy.js';
import { requestListenerUpdate } from './listener-updates.js';

/**
 * Keeps each worker accepting on exactly the main half's live listeners
 * while reloads add and remove them, workers included that were booting
 * with an older set. Also decides when the main thread may close a removed
 * listener's socket: only once no worker holds it, since a booting 'shared'
 * worker still dups the fd number it was given (closing it first would let
 * the number be reused for another socket).
 */

/** The view of a worker slot this needs (actors/supervisor/worker-slot.ts). */
export interface ListenerSyncedSlot {
  readonly id: number;
  readonly worker: Worker | undefined;
  readonly state: string;
  /** Keys the worker accepts on (or will, once booted). */
  listenerKeys: ReadonlySet<number>;
  /** Updates to this worker, one at a time. */
  listenerSync: Promise<unknown>;
}

export class ListenerSync {
  private readonly retired = new Set<number>();

  constructor(
    private readonly acceptor: () => MainAcceptor | undefined,
    private readonly slots: () => readonly ListenerSyncedSlot[],
    /** A worker could not apply an update: the caller restarts it (it boots with the live set). */
    private readonly onFailed: (slot: ListenerSyncedSlot, worker: Worker, message: string) => void,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Brings one ready worker up to date; the difference is computed when the
   * update runs, so repeated calls are harmless. Resolves true when the
   * worker accepts on exactly the live listeners.
   */
  sync(slot: ListenerSyncedSlot): Promise<boolean> {
    const run = slot.listenerSync.then(async () => {
      const worker = slot.worker;
      const acceptor = this.acceptor();
      if (!worker || !acceptor || slot.state !== 'ready') return false;
      const plans = acceptor.workerPlans();
      const want = new Set(plans.map((p) => p.key));
      const add = plans.filter((p) => !slot.listenerKeys.has(p.key));
      const remove = [...slot.listenerKeys].filter((k) => !want.has(k));
      if (add.length === 0 && remove.length === 0) return true;
      const error = await requestListenerUpdate(worker, slot.id, add, remove, this.timeoutMs);
      if (slot.worker !== worker) return false;
      if (error) {
        this.onFailed(slot, worker, error.message);
        return false;
      }
      slot.listenerKeys = want;
      this.releaseRetired();
      return true;
    });
    slot.listenerSync = run.catch(() => false);
    return run;
  }

  /** Listeners a reload removed (already stopped in the main half): their sockets go once no worker holds them. */
  retire(keys: readonly number[]): void {
    for (const key of keys) this.retired.add(key);
  }

  /** Call when a worker's set changed or a worker exited. */
  releaseRetired(): void {
    const acceptor = this.acceptor();
    for (const key of this.retired) {
      if (this.slots().some((s) => s.worker !== undefined && s.listenerKeys.has(key))) continue;
      this.retired.delete(key);
      acceptor?.release([key]);
    }
  }
}
