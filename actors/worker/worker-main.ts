import type net from 'node:net';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import { toErrorRecord, type ErrorRecord } from '../../src/kernel/errors.js';
import { currentKernelThreadId, pinCurrentThread } from '../../src/platform/pin-thread.js';
import { createWorkerAcceptor } from '../acceptor/acceptor-factory.js';
import { exposeControl, type ControlResult, type WorkerControlApi } from '../supervisor/control-plane.js';
import { WORKER_STATE, WorkerSlotCounters } from '../supervisor/shared-counters.js';
import { EXIT_ESCALATED, EXIT_START_FAILED, type StandbyAssignMessage, type StandbyBootData, type StandbyReadyMessage, type WorkerBootData, type WorkerLifecycleMessage } from './worker-boot-data.js';
import type { PreparedReload, WorkerApp, WorkerAppContext, WorkerAppFactory, ZproxyConfig } from './worker-app-contract.js';

/**
 * Worker thread entry. Owns: the heartbeat, this thread's CPU pin, its actor
 * system, its app, its listeners (per the acceptor strategy) and the
 * control API. Takes: connections (accepted or handed off), control calls.
 * Sends: lifecycle messages (ready, start-failed, escalated) to the main thread.
 */

const port = parentPort!;

/** The boot data: given at spawn, or, for a standby thread, once the main thread assigns it a slot. */
async function bootData(): Promise<WorkerBootData> {
  const data = workerData as WorkerBootData | StandbyBootData;
  if (!('standby' in data)) return data;
  const t0 = performance.now();
  // Warm the module graph; a failure here shows again (and is reported) when the assigned start imports it.
  await import(data.appModule).catch(() => undefined);
  return new Promise((resolve) => {
    port.once('message', (msg: StandbyAssignMessage) => resolve(msg.boot));
    port.postMessage({ kind: 'supervisor.standby-ready', warmMs: performance.now() - t0 } satisfies StandbyReadyMessage);
  });
}

const boot = await bootData();
const source = `worker-${boot.workerId}`;
const startedAt = Date.now();
const counters = new WorkerSlotCounters(boot.counters, boot.workerId);

// Beat first, from a timer on this thread's own loop: if the loop blocks, the beats stop and the watchdog sees it.
counters.beat();
setInterval(() => counters.beat(), boot.heartbeatIntervalMs);

function post(msg: WorkerLifecycleMessage): void {
  port.postMessage(msg);
}

function startFailed(error: ErrorRecord): never {
  post({ kind: 'supervisor.worker-start-failed', workerId: boot.workerId, generation: boot.generation, error });
  process.exit(EXIT_START_FAILED);
}

const pin = boot.cpu === undefined ? undefined : pinCurrentThread(boot.cpu);

// The pool carries the config it was given: a full ZproxyConfig from the CLI, a partial one in runtime tests.
let currentConfig = boot.config as ZproxyConfig;
const system = new ActorSystem({
  threadId,
  onEscalate(error, supervisor) {
    // The root supervisor gave up: this thread's state is suspect. Exiting
    // only ends this thread (process.exit in a worker is per thread); the
    // main thread respawns it within its restart budget.
    console.error(`zproxy worker ${boot.workerId}: supervisor '${supervisor}' gave up (${error.code}: ${error.message}); exiting with code ${EXIT_ESCALATED}`);
    post({ kind: 'supervisor.worker-escalated', workerId: boot.workerId, generation: boot.generation, supervisor, error });
    process.exit(EXIT_ESCALATED);
  },
});

const ctx: WorkerAppContext = {
  workerId: boot.workerId,
  threadId,
  get config() {
    return currentConfig;
  },
  system,
  appData: boot.appData,
  heartbeat: () => counters.beat(),
};

let app: WorkerApp;

/** Shared by every socket: one function, no closure per connection. `this` is the closed socket. */
function onSocketClosed(): void {
  counters.closed();
}

let countedByMain = false;
function onSocket(socket: net.Socket, listenerName: string): void {
  if (!countedByMain) counters.accepted();
  socket.on('close', onSocketClosed); // 'close' comes once; on() spares the wrapper once() allocates per socket
  try {
    app.onConnection(socket, listenerName);
  } catch (err) {
    // A throwing onConnection is an app bug: drop this socket and let the thread crash and be replaced.
    socket.destroy();
    throw err;
  }
}

interface PendingReload {
  readonly id: number;
  readonly config: ZproxyConfig;
  readonly commit: () => void;
  readonly abort: () => Promise<void> | void;
}
let pendingReload: PendingReload | undefined;

function ok(): ControlResult {
  return { ok: true };
}

function failed(err: unknown): ControlResult {
  return { ok: false, error: toErrorRecord(err, source) };
}

/** Accept errors come in storms (EMFILE on every try): one line per listener per second, with a count. */
const acceptErrors = new Map<string, { lastMs: number; suppressed: number }>();
const acceptor = createWorkerAcceptor(boot.acceptor, (listenerName, err) => {
  const now = Date.now();
  const seen = acceptErrors.get(listenerName) ?? { lastMs: 0, suppressed: 0 };
  acceptErrors.set(listenerName, seen);
  if (now - seen.lastMs < 1000) {
    seen.suppressed++;
    return;
  }
  const more = seen.suppressed > 0 ? ` (and ${seen.suppressed} more in the last second)` : '';
  seen.lastMs = now;
  seen.suppressed = 0;
  console.error(`zproxy worker ${boot.workerId}: listener '${listenerName}': ${err.message}${more}`);
});

const control: WorkerControlApi = {
  ping: () => ({ workerId: boot.workerId, threadId, uptimeMs: Date.now() - startedAt }),
  stats() {
    let appStats: Record<string, unknown>;
    try {
      appStats = app.stats();
    } catch (err) {
      appStats = { error: toErrorRecord(err, source) };
    }
    return { workerId: boot.workerId, threadId, uptimeMs: Date.now() - startedAt, openConnections: counters.open(), app: appStats, actors: system.stats() };
  },
  async drain(deadlineMs) {
    counters.setState(WORKER_STATE.draining);
    try {
      await acceptor.stopAccepting();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, deadlineMs); });
      await Promise.race([app.drain(deadlineMs), deadline]);
      clearTimeout(timer);
      return ok();
    } catch (err) {
      return failed(err);
    }
  },
  closeConnections(count) {
    if (app.closeConnections === undefined || count <= 0) return 0;
    return app.closeConnections(count);
  },
  async prepareReload(reloadId, config) {
    if (pendingReload) await pendingReload.abort();
    pendingReload = undefined;
    try {
      if (app.prepareReload) {
        const prepared: PreparedReload = await app.prepareReload(config as ZproxyConfig);
        pendingReload = { id: reloadId, config: config as ZproxyConfig, commit: () => prepared.commit(), abort: () => prepared.abort() };
      } else {
        // One-phase app: apply now, and roll back to the previous config if another worker refuses.
        const previous = currentConfig;
        await app.reload(config as ZproxyConfig);
        pendingReload = { id: reloadId, config: config as ZproxyConfig, commit: () => {}, abort: () => app.reload(previous) };
      }
      return ok();
    } catch (err) {
      return failed(err);
    }
  },
  async commitReload(reloadId) {
    const p = pendingReload;
    if (!p || p.id !== reloadId) return failed({ code: 'runtime.reload-unknown', status: 500, message: `no prepared reload ${reloadId} on worker ${boot.workerId}`, retryable: false, source });
    pendingReload = undefined;
    try {
      p.commit();
      currentConfig = p.config;
      return ok();
    } catch (err) {
      return failed(err);
    }
  },
  async abortReload(reloadId) {
    const p = pendingReload;
    if (!p || p.id !== reloadId) return ok();
    pendingReload = undefined;
    try {
      await p.abort();
      return ok();
    } catch (err) {
      return failed(err);
    }
  },
};

async function start(): Promise<void> {
  // Listener preparation (a process fork for 'shared') runs while the app loads; its error is checked after.
  const prepared = acceptor.prepare(boot.listeners).then(() => undefined, (err: unknown) => err);
  try {
    const mod = (await import(boot.appModule)) as { createWorkerApp?: WorkerAppFactory };
    if (typeof mod.createWorkerApp !== 'function') {
      startFailed({ code: 'runtime.bad-app-module', status: 500, message: `${boot.appModule} does not export a createWorkerApp function`, retryable: false, source });
    }
    app = await mod.createWorkerApp(ctx);
  } catch (err) {
    startFailed(toErrorRecord(err, source));
  }
  exposeControl(control, boot.controlPort);
  countedByMain = acceptor.countedByMain;
  const prepareError = await prepared;
  if (prepareError !== undefined) startFailed(toErrorRecord(prepareError, source));
  try {
    await acceptor.start(onSocket);
  } catch (err) {
    startFailed(toErrorRecord(err, source));
  }
  counters.setState(WORKER_STATE.ready);
  let tid: number | undefined;
  try {
    tid = pin?.tid ?? currentKernelThreadId();
  } catch {
    tid = undefined;
  }
  post({ kind: 'supervisor.worker-ready', workerId: boot.workerId, generation: boot.generation, threadId, tid, pin });
}

void start();
