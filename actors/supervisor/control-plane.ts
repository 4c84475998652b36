import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { SystemStats } from '../../src/kernel/actor-system.js';
import { ZproxyError, type ErrorRecord } from '../../src/kernel/errors.js';
import type { RuntimeConfig } from './runtime-config.js';

/**
 * The control plane between the main thread and one worker: comlink RPC over
 * a MessageChannel dedicated to it (the worker's parentPort carries
 * lifecycle and handoff messages). Used for stats, drain and reload, never
 * per request. Every call answers a plain record: errors cross the thread as
 * ErrorRecords in the result, not as thrown Errors (those lose their code).
 */

export type ControlResult = { readonly ok: true } | { readonly ok: false; readonly error: ErrorRecord };

export interface WorkerReport {
  readonly workerId: number;
  readonly threadId: number;
  readonly uptimeMs: number;
  readonly openConnections: number;
  readonly app: Record<string, unknown>;
  readonly actors: SystemStats;
}

/** What a worker exposes. Reload is two-phase: prepare everywhere, then commit (or abort) everywhere. */
export interface WorkerControlApi {
  ping(): { workerId: number; threadId: number; uptimeMs: number };
  stats(): WorkerReport;
  drain(deadlineMs: number): Promise<ControlResult>;
  /** Rebalancing: close up to `count` client connections (idle first); answers how many were asked to go. */
  closeConnections(count: number): number;
  prepareReload(reloadId: number, config: RuntimeConfig): Promise<ControlResult>;
  commitReload(reloadId: number): Promise<ControlResult>;
  abortReload(reloadId: number): Promise<ControlResult>;
}

/** Worker side: serve `api` on the control port. */
export function exposeControl(api: WorkerControlApi, port: MessagePort): void {
  Comlink.expose(api, nodeEndpoint(port as never));
}

type Method = keyof WorkerControlApi;
type Reply<M extends Method> = Awaited<ReturnType<WorkerControlApi[M]>>;

/**
 * Main side: calls with a deadline. A worker that exits or hangs never
 * answers comlink, so every pending call fails with 'runtime.worker-exited'
 * at exit or 'runtime.control-timeout' at its deadline, instead of hanging
 * the caller (the CLI's reload or stats).
 */
export class ControlClient {
  private readonly remote: Comlink.Remote<WorkerControlApi>;
  private readonly pending = new Set<(err: ZproxyError) => void>();
  private gone: string | undefined;

  constructor(private readonly port: MessagePort, private readonly workerId: number) {
    this.remote = Comlink.wrap<WorkerControlApi>(nodeEndpoint(port as never));
  }

  call<M extends Method>(method: M, args: Parameters<WorkerControlApi[M]>, timeoutMs: number): Promise<Reply<M>> {
    if (this.gone !== undefined) return Promise.reject(this.exitedError(method));
    return new Promise<Reply<M>>((resolve, reject) => {
      const fail = (err: ZproxyError): void => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(err);
      };
      const timer = setTimeout(() => fail(new ZproxyError({
        code: 'runtime.control-timeout', status: 504, retryable: true, source: `worker-${this.workerId}`,
        message: `worker ${this.workerId} did not answer ${method} within ${timeoutMs} ms`,
      })), timeoutMs);
      this.pending.add(fail);
      const fn = this.remote[method] as unknown as (...a: unknown[]) => Promise<Reply<M>>;
      fn(...args).then((value) => {
        if (!this.pending.delete(fail)) return;
        clearTimeout(timer);
        resolve(value);
      }, (err: unknown) => fail(new ZproxyError({
        code: 'runtime.control-failed', source: `worker-${this.workerId}`,
        message: `worker ${this.workerId} ${method} threw: ${err instanceof Error ? err.message : String(err)}`,
      })));
    });
  }

  /** The worker exited: fail what is pending, close our end. */
  close(reason: string): void {
    if (this.gone !== undefined) return;
    this.gone = reason;
    for (const fail of [...this.pending]) fail(this.exitedError('call'));
    this.port.close();
  }

  private exitedError(method: string): ZproxyError {
    return new ZproxyError({ code: 'runtime.worker-exited', status: 503, retryable: true, source: `worker-${this.workerId}`, message: `worker ${this.workerId} exited (${this.gone}) before answering ${method}` });
  }
}
