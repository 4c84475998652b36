/**
 * server.restart.standby: one spare worker thread that has already imported
 * the app's module graph (the bulk of a worker's start: ~0.3 s idle, seconds
 * on a loaded machine) and waits to be told which slot it fills. When a
 * worker dies, its replacement is the spare: it only builds the app and
 * opens its listeners. A new spare is warmed once the replacement serves,
 * so warming never competes with the restart it prepares for.
 */
import { Worker } from 'node:worker_threads';
import type { StandbyBootData, StandbyReadyMessage } from '../worker/worker-boot-data.js';

/** A spare that died before it was needed is warmed again after this long (a broken app module cannot spin). */
const REWARM_DELAY_MS = 5000;

export type StandbyState = 'off' | 'warming' | 'ready';

export class StandbyWorker {
  private worker: Worker | undefined;
  private ready = false;
  private rewarm: NodeJS.Timeout | undefined;
  private stopped = false;
  private detach: () => void = () => {};
  /** Spares handed to a slot since start. */
  used = 0;

  constructor(private readonly script: URL, private readonly appModule: string) {}

  get state(): StandbyState {
    return this.worker === undefined ? 'off' : this.ready ? 'ready' : 'warming';
  }

  /** Starts warming a spare unless one exists. */
  ensure(): void {
    if (this.stopped || this.worker !== undefined) return;
    clearTimeout(this.rewarm);
    this.rewarm = undefined;
    const data: StandbyBootData = { standby: true, appModule: this.appModule };
    const worker = new Worker(this.script, { workerData: data });
    this.worker = worker;
    this.ready = false;
    const onMessage = (msg: StandbyReadyMessage): void => {
      if (this.worker === worker && msg.kind === 'supervisor.standby-ready') this.ready = true;
    };
    const onError = (): void => { /* 'exit' follows */ };
    const onExit = (): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ready = false;
      if (!this.stopped) {
        this.rewarm = setTimeout(() => this.ensure(), REWARM_DELAY_MS);
        this.rewarm.unref();
      }
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    // Not removeAllListeners(): a Worker keeps internal listeners of its own.
    this.detach = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    // The spare alone must not keep a stopping process alive.
    worker.unref();
  }

  /** The warmed spare, now the caller's (its listeners removed); undefined when none is ready. */
  take(): Worker | undefined {
    if (!this.ready || this.worker === undefined) return undefined;
    const worker = this.worker;
    this.worker = undefined;
    this.ready = false;
    this.used++;
    this.detach();
    worker.ref();
    return worker;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.rewarm);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
