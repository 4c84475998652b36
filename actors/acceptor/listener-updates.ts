import { parentPort, type Worker } from 'node:worker_threads';
import { toErrorRecord, type ErrorRecord } from '../../src/kernel/errors.js';
import type { WorkerListenerPlan } from './acceptor-strategy.js';

/**
 * Listener changes at run time, main thread to one worker's acceptor half:
 * 'acceptor.update-listeners' (start accepting on `add`, stop on `remove`)
 * answered by 'acceptor.listeners-updated'. Both travel on the worker's
 * parentPort, next to the lifecycle and handoff messages, so the worker
 * entry needs no part in it: each worker acceptor serves the request itself.
 */

export interface ListenerUpdateRequest {
  readonly kind: 'acceptor.update-listeners';
  readonly updateId: number;
  readonly add: readonly WorkerListenerPlan[];
  /** Keys of listeners to stop accepting on. */
  readonly remove: readonly number[];
}

export interface ListenerUpdateReply {
  readonly kind: 'acceptor.listeners-updated';
  readonly updateId: number;
  /** Undefined when the worker now accepts on exactly what was asked. */
  readonly error: ErrorRecord | undefined;
}

let nextUpdateId = 1;

/**
 * Main side: asks `worker` to apply the change; resolves undefined when it
 * did, or with the error (its own, a timeout, or its exit). Never rejects.
 */
export function requestListenerUpdate(worker: Worker, workerId: number, add: readonly WorkerListenerPlan[], remove: readonly number[], timeoutMs: number): Promise<ErrorRecord | undefined> {
  const updateId = nextUpdateId++;
  const source = `worker-${workerId}`;
  return new Promise((resolve) => {
    const done = (error: ErrorRecord | undefined): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(error);
    };
    const onMessage = (msg: { kind?: string; updateId?: number; error?: ErrorRecord }): void => {
      if (msg?.kind === 'acceptor.listeners-updated' && msg.updateId === updateId) done(msg.error);
    };
    const onExit = (code: number): void => done({ code: 'runtime.worker-exited', status: 503, retryable: true, source, message: `worker ${workerId} exited (code ${code}) before updating its listeners` });
    const timer = setTimeout(() => done({ code: 'runtime.control-timeout', status: 504, retryable: true, source, message: `worker ${workerId} did not update its listeners within ${timeoutMs} ms` }), timeoutMs);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    const request: ListenerUpdateRequest = { kind: 'acceptor.update-listeners', updateId, add, remove };
    try {
      worker.postMessage(request);
    } catch (err) {
      done(toErrorRecord(err, source));
    }
  });
}

/** Worker side: applies each update with `apply` and answers it. The main thread sends one at a time per worker. */
export function serveListenerUpdates(apply: (add: readonly WorkerListenerPlan[], remove: readonly number[]) => Promise<void>): void {
  const port = parentPort;
  if (!port) return;
  port.on('message', (msg: { kind?: string }) => {
    if (msg?.kind !== 'acceptor.update-listeners') return;
    const { updateId, add, remove } = msg as ListenerUpdateRequest;
    const reply = (error: ErrorRecord | undefined): void => {
      const answer: ListenerUpdateReply = { kind: 'acceptor.listeners-updated', updateId, error };
      port.postMessage(answer);
    };
    apply(add, remove).then(() => reply(undefined), (err: unknown) => reply(toErrorRecord(err, 'acceptor')));
  });
}
