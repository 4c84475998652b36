import { EventEmitter } from 'node:events';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ZproxyError, type ErrorRecord } from '../../src/kernel/errors.js';
import { availableCpus, planPlacement, type WorkerPlacement } from '../../src/platform/cpu-topology.js';
import { chooseAcceptor, type AcceptorKind } from '../../src/platform/node-features.js';
import { createMainAcceptor } from '../acceptor/acceptor-factory.js';
import type { BoundListener, MainAcceptor } from '../acceptor/acceptor-strategy.js';
import { planListenerChange } from '../acceptor/listener-diff.js';
import { ListenerSync } from '../acceptor/listener-sync.js';
import { EventLog, type PoolEvent, type PoolEventInput, type PoolEventKind } from './pool-events.js';
import { collectWorkerStats, type PingResult, type PoolStats } from './pool-stats.js';
import { resolveServerConfig, type RuntimeConfig, type RuntimeServerConfig } from './runtime-config.js';
import { createCountersBuffer, monotonicMs, SharedCounters, WORKER_STATE } from './shared-counters.js';
import { listenerChange, runTwoPhaseReload } from './two-phase-reload.js';
import { Watchdog } from './watchdog.js';
import { Rebalancer, type RebalanceOrder } from './rebalancer.js';
import { StandbyWorker } from './standby-worker.js';
import { WorkerSlot, type CommonBootData, type SlotHooks } from './worker-slot.js';

/**
 * The root supervisor of the main thread: owns the worker threads, the
 * listening ports (through the acceptor strategy), the watchdog and the
 * restart policy. Workers that crash, exit or hang are replaced with backoff;
 * the ports stay open meanwhile. Talks to workers through their lifecycle
 * messages and the comlink control plane, never per request.
 */

export interface WorkerPoolOptions {
  /** Where log lines go; default: warn and error to stderr. */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Events kept for stats(); default 100. */
  readonly eventCapacity?: number;
  /** Worker entry script; default the compiled worker-main.js next to this module's tree. */
  readonly workerScript?: URL;
  /**
   * What reload() does when the listeners change: 'apply' binds added ones
   * and closes removed ones in every worker; 'refuse' (default) rejects the
   * reload, for apps that cannot take connections from a listener they did
   * not start with.
   */
  readonly listenerChanges?: 'apply' | 'refuse';
}

export interface StartOptions {
  /** Module exporting createWorkerApp (file path or URL); default the HTTP worker app. */
  readonly appModule?: string | URL;
  /**
   * Per-worker data handed to the app as WorkerAppContext.appData, asked
   * again at every (re)spawn. Must be structured-cloneable; SharedArrayBuffers
   * in it are shared, not copied.
   */
  readonly appData?: (workerId: number) => Readonly<Record<string, unknown>> | undefined;
}

export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly error: string };

type Phase = 'idle' | 'starting' | 'running' | 'draining' | 'stopped';

/** Control calls answer in microseconds; 5 s only bounds a worker that stopped answering. */
const CONTROL_TIMEOUT_MS = 5000;
/** Stats must stay quick even with one hung worker. */
const STATS_TIMEOUT_MS = 1000;
/** Beyond the drain deadline, how long we wait for a worker to report back. */
const DRAIN_REPORT_MARGIN_MS = 1000;
/** See Watchdog.startupGraceMs. */
const STARTUP_GRACE_MS = 3000;

const DEFAULT_WORKER_SCRIPT = new URL('../worker/worker-main.js', import.meta.url);
const DEFAULT_APP_MODULE = new URL('../worker/http-worker-app.js', import.meta.url);

function defaultLog(level: 'info' | 'warn' | 'error', message: string): void {
  if (level !== 'info') console.error(`zproxy ${level}: ${message}`);
}

export interface WorkerPool {
  on<K extends PoolEventKind>(event: K, listener: (e: Extract<PoolEvent, { kind: K }>) => void): this;
  on(event: 'event', listener: (e: PoolEvent) => void): this;
  once<K extends PoolEventKind>(event: K, listener: (e: Extract<PoolEvent, { kind: K }>) => void): this;
}

export class WorkerPool extends EventEmitter {
  private phase: Phase = 'idle';
  private slots: WorkerSlot[] = [];
  private counters: SharedCounters | undefined;
  private acceptor: MainAcceptor | undefined;
  private bound: readonly BoundListener[] = [];
  private config: RuntimeConfig | undefined;
  private server: RuntimeServerConfig | undefined;
  private configGeneration = 0;
  private acceptorKind: AcceptorKind = 'shared';
  private appModule = DEFAULT_APP_MODULE.href;
  private appData: StartOptions['appData'];
  private watchdog: Watchdog | undefined;
  private rebalancer: Rebalancer | undefined;
  private standby: StandbyWorker | undefined;
  private startWaiter: { resolve: () => void; reject: (err: Error) => void; waiting: Set<number> } | undefined;
  private readonly totals = { restarts: 0, crashes: 0, hangs: 0, reloads: 0, reloadFailures: 0, rebalances: 0, rebalancedConnections: 0 };
  private reloadChain: Promise<unknown> = Promise.resolve();
  private reloadSeq = 0;
  private pinWarned = false;
  private readonly lastAcceptorErrorMs = new Map<string, number>();
  private readonly events: EventLog;
  private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  private readonly workerScript: URL;
  private readonly listenerChanges: 'apply' | 'refuse';
  private readonly listenerSync = new ListenerSync(() => this.acceptor, () => this.slots, (slot, worker, message) => {
    this.log('error', `worker ${slot.id} cannot update its listeners (${message}); restarting it`);
    void worker.terminate();
  }, CONTROL_TIMEOUT_MS);
  private readonly hooks: SlotHooks = {
    onReady: (slot, msg) => this.onReady(slot, msg.pin),
    onExit: (slot, code) => this.onExit(slot, code),
  };

  constructor(options: WorkerPoolOptions = {}) {
    super();
    this.log = options.log ?? defaultLog;
    this.events = new EventLog(options.eventCapacity ?? 100);
    this.workerScript = options.workerScript ?? DEFAULT_WORKER_SCRIPT;
    this.listenerChanges = options.listenerChanges ?? 'refuse';
  }

  /** Binds the listeners and starts every worker; resolves when all serve. Rejects with a typed error (and leaves nothing running). */
  async start(config: RuntimeConfig, options: StartOptions = {}): Promise<void> {
    if (this.phase !== 'idle') throw new ZproxyError({ code: 'runtime.pool-started', message: 'a WorkerPool starts once; create a new one', source: 'worker-pool' });
    this.phase = 'starting';
    try {
      await this.startNow(config, options);
      this.phase = 'running';
      this.rebalancer?.start();
      this.standby?.ensure();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startNow(config: RuntimeConfig, options: StartOptions): Promise<void> {
    const server = resolveServerConfig(config);
    const count = server.workers === 'auto' ? availableCpus() : server.workers;
    if (!Number.isInteger(count) || count < 1) {
      throw new ZproxyError({ code: 'runtime.bad-worker-count', message: `server.workers must be 'auto' or an integer >= 1, got ${String(server.workers)}`, source: 'worker-pool' });
    }
    this.config = config;
    this.server = server;
    this.acceptorKind = chooseAcceptor(server.acceptor);
    if (options.appModule !== undefined) this.appModule = toModuleHref(options.appModule);
    this.appData = options.appData;
    const counters = new SharedCounters(createCountersBuffer(count));
    this.counters = counters;
    const { hangTimeoutMs, heartbeatIntervalMs } = server.watchdog;
    this.acceptor = createMainAcceptor(this.acceptorKind, {
      counters,
      // Half the hang timeout, at least two beats: late enough to ignore GC pauses, early enough to stop feeding a worker that hangs.
      staleHeartbeatMs: Math.max(2 * heartbeatIntervalMs, hangTimeoutMs / 2),
      onError: (listener, err) => this.acceptorError(listener, err),
    });
    this.bound = await this.acceptor.open(config.listeners);
    const placement = this.place(count, server.pinning);
    this.slots = placement.map((p) => new WorkerSlot(p.workerId, server.pinning ? p.cpu : undefined, p.numaNode, server.restart));
    this.watchdog = new Watchdog({
      counters,
      hangTimeoutMs,
      startupGraceMs: STARTUP_GRACE_MS,
      watched: () => this.slots.filter((s) => s.worker !== undefined).map((s) => s.id),
      onHung: (slot, age) => this.onHung(this.slots[slot]!, age),
    });
    this.watchdog.start();
    if (server.restart.standby !== false) this.standby = new StandbyWorker(this.workerScript, this.appModule);
    this.rebalancer = new Rebalancer(
      counters,
      // Read at every pass: a reload's settings apply from the next one.
      () => resolveServerConfig(this.config!).rebalance,
      () => this.slots.filter((s) => s.state === 'ready').map((s) => s.id),
      (order, spread) => this.rebalance(order, spread),
    );
    await new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject, waiting: new Set(this.slots.map((s) => s.id)) };
      for (const slot of this.slots) this.spawn(slot);
    });
    this.startWaiter = undefined;
  }

  /** The listeners as bound (real ports, also when the config said port 0). */
  boundListeners(): readonly BoundListener[] {
    return this.bound;
  }

  get acceptorStrategy(): AcceptorKind {
    return this.acceptorKind;
  }

  /**
   * Applies `config` on every worker or on none (two-phase: prepare, then
   * commit). Reloads are serialized. Listener changes (listenerChanges
   * 'apply'): added listeners are bound first (a port that cannot be bound
   * rejects the reload, nothing changed); removed ones stop accepting once
   * every worker prepared, just before the commit; added ones start
   * accepting in every worker right after it. The reload resolves when all
   * of that is done, so a new port answers as soon as it returns.
   */
  reload(config: RuntimeConfig): Promise<ReloadResult> {
    const run = this.reloadChain.then(() => this.reloadNow(config));
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(config: RuntimeConfig): Promise<ReloadResult> {
    if (this.phase !== 'running' || !this.config) return { ok: false, error: `cannot reload: the pool is ${this.phase}` };
    if (this.listenerChanges === 'refuse') {
      const change = listenerChange(this.config.listeners, config.listeners);
      if (change) return this.reloadRejected(++this.reloadSeq, `${change}; restart zproxy to apply listener changes`);
    }
    const acceptor = this.acceptor!;
    const sockets = planListenerChange(acceptor.listenerViews(), config.listeners);
    const reloadId = ++this.reloadSeq;
    if (sockets.refusal !== undefined) return this.reloadRejected(reloadId, sockets.refusal);
    // Bound before anything else changes: a port that cannot be bound rejects the reload with nothing touched.
    let addedKeys: number[] = [];
    try {
      addedKeys = (await acceptor.add(sockets.added)).map((v) => v.key);
    } catch (err) {
      return this.reloadRejected(reloadId, (err as Error).message);
    }
    const live = this.slots.filter((s) => s.state === 'ready' && s.control !== undefined);
    const participants = live.map((s) => ({ workerId: s.id, control: s.control! }));
    const outcome = await runTwoPhaseReload(participants, reloadId, config, CONTROL_TIMEOUT_MS, async () => {
      if (sockets.removed.length > 0) {
        // Removed listeners stop taking connections before the config that lacks them goes live.
        acceptor.stopListening(sockets.removed);
        this.listenerSync.retire(sockets.removed);
        await Promise.all(live.map((s) => this.listenerSync.sync(s)));
      }
      // From here on, respawned workers boot with the new config.
      this.config = config;
      this.configGeneration++;
    });
    if (!outcome.ok) {
      acceptor.release(addedKeys);
      return this.reloadRejected(reloadId, outcome.error);
    }
    if (addedKeys.length > 0) {
      // Every worker now knows the new listeners: accept on them everywhere.
      acceptor.activate(addedKeys);
      await Promise.all(this.slots.filter((s) => s.state === 'ready').map((s) => this.listenerSync.sync(s)));
    }
    this.listenerSync.releaseRetired();
    this.bound = acceptor.listenerViews().filter((v) => v.state === 'live').map((v) => v.bound);
    for (const s of live) if (outcome.committed.includes(s.id)) s.configGeneration = this.configGeneration;
    for (const f of outcome.failedCommits) {
      // A worker that prepared but could not commit runs a config nobody else runs: replace it (it boots with the new one).
      this.log('error', `worker ${f.workerId} failed to commit reload ${reloadId} (${f.error.message}); restarting it`);
      void this.slots[f.workerId]?.worker?.terminate();
    }
    this.totals.reloads++;
    this.rebalancer?.start();
    this.record({ kind: 'reload-applied', reloadId, workers: outcome.committed.length });
    return { ok: true };
  }

  private reloadRejected(reloadId: number, error: string): ReloadResult {
    this.totals.reloadFailures++;
    this.record({ kind: 'reload-rejected', reloadId, error });
    return { ok: false, error };
  }

  /**
   * Stops accepting, then lets every worker finish in-flight requests and
   * close idle connections, for at most `deadlineMs` (a duration). Workers
   * are not replaced from here on; call stop() afterwards.
   */
  async drain(deadlineMs: number): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'draining';
    this.rebalancer?.stop();
    // Awaited last: until every worker closed its listening fds, a millisecond spent here is connections queued, then reset.
    const standbyStopped = this.standby?.stop();
    const t0 = monotonicMs();
    this.record({ kind: 'drain-started', deadlineMs });
    for (const s of this.slots) this.cancelRespawn(s);
    await this.acceptor!.stopAccepting();
    const results = await Promise.all(this.slots.map(async (s) => {
      if (!s.worker || !s.control) return true;
      if (s.state !== 'ready') {
        // Still booting: it holds no connection yet.
        await s.worker.terminate();
        return true;
      }
      s.state = 'draining';
      try {
        return (await s.control.call('drain', [deadlineMs], deadlineMs + DRAIN_REPORT_MARGIN_MS)).ok;
      } catch {
        return false;
      }
    }));
    await standbyStopped;
    this.record({ kind: 'drain-finished', durationMs: monotonicMs() - t0, failures: results.filter((ok) => !ok).length });
  }

  /** Terminates every worker and closes the ports. Idempotent. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.watchdog?.stop();
    this.rebalancer?.stop();
    await this.standby?.stop();
    for (const s of this.slots) this.cancelRespawn(s);
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
    await this.acceptor?.close();
    this.startWaiter = undefined;
  }

  async stats(): Promise<PoolStats> {
    const now = monotonicMs();
    const workers = await Promise.all(this.slots.map((s) => collectWorkerStats(s, this.counters, now, STATS_TIMEOUT_MS)));
    return {
      acceptor: this.acceptorKind,
      listeners: this.bound,
      workers,
      supervisor: { ...this.totals, standby: this.standby?.state ?? 'off', standbyUsed: this.standby?.used ?? 0, events: this.events.list() },
    };
  }

  /** Round trip to every live worker over the control plane (a health check; a hung worker times out). */
  async ping(timeoutMs = STATS_TIMEOUT_MS): Promise<PingResult[]> {
    return Promise.all(this.slots.map(async (s): Promise<PingResult> => {
      if (!s.control) return { workerId: s.id, ok: false, error: `worker ${s.id} is ${s.state}` };
      const t0 = performance.now();
      try {
        await s.control.call('ping', [], timeoutMs);
        return { workerId: s.id, ok: true, rttMs: performance.now() - t0 };
      } catch (err) {
        return { workerId: s.id, ok: false, error: (err as Error).message };
      }
    }));
  }

  /** Runs one rebalancing pass now instead of waiting for the timer (tests, `zproxy` admin). */
  rebalanceNow(): Promise<void> {
    return this.rebalancer?.pass() ?? Promise.resolve();
  }

  private async rebalance(order: RebalanceOrder, spreadBefore: number): Promise<void> {
    const slot = this.slots[order.workerId];
    if (!slot?.control || slot.state !== 'ready') return;
    let asked: number;
    try {
      asked = await slot.control.call('closeConnections', [order.close], CONTROL_TIMEOUT_MS);
    } catch {
      return; // a worker that cannot answer is the watchdog's business, not ours
    }
    if (asked === 0) return;
    this.totals.rebalances++;
    this.totals.rebalancedConnections += asked;
    this.record({ kind: 'rebalanced', workerId: order.workerId, open: order.open, mean: order.mean, asked, spreadBefore });
    this.log('info', `worker ${order.workerId} held ${order.open} connections (mean ${order.mean.toFixed(1)}); asked ${asked} to reconnect`);
  }

  // ---- worker lifecycle -----------------------------------------------------

  private place(count: number, pinning: boolean): WorkerPlacement[] {
    try {
      return planPlacement(count);
    } catch (err) {
      if (pinning) this.log('warn', `cannot read the CPU topology (${(err as Error).message}); workers run unpinned`);
      return Array.from({ length: count }, (_, workerId) => ({ workerId, cpu: 0, numaNode: 0 }));
    }
  }

  private spawn(slot: WorkerSlot): void {
    this.counters!.reset(slot.id, monotonicMs());
    const common: CommonBootData = {
      appModule: this.appModule,
      config: this.config!,
      counters: this.counters!.buffer,
      acceptor: this.acceptorKind,
      listeners: this.acceptor!.workerPlans(),
      heartbeatIntervalMs: this.server!.watchdog.heartbeatIntervalMs,
    };
    // A respawn takes the warmed spare when there is one; the pool's first start spawns fresh threads.
    const standby = this.phase === 'running' ? this.standby?.take() : undefined;
    slot.spawn(this.workerScript, common, this.appData?.(slot.id) ?? {}, this.configGeneration, this.hooks, standby);
  }

  private onReady(slot: WorkerSlot, pin: WorkerSlot['pin']): void {
    const now = monotonicMs();
    slot.state = 'ready';
    slot.readyAtMs = now;
    slot.backoff.started(now);
    this.acceptor!.workerReady(slot.id, slot.worker!);
    this.record({ kind: 'worker-started', workerId: slot.id, threadId: slot.threadId, generation: slot.generation, startMs: now - slot.spawnedAtMs, cpu: slot.cpu, pinned: pin?.ok === true });
    if (pin && !pin.ok) {
      this.record({ kind: 'worker-pin-failed', workerId: slot.id, cpu: pin.cpu, reason: pin.reason });
      if (!this.pinWarned) this.log('warn', `cannot pin worker ${slot.id} to CPU ${pin.cpu}: ${pin.reason}; workers run unpinned`);
      this.pinWarned = true;
    }
    if (this.phase === 'running') this.standby?.ensure();
    if (slot.downSinceMs !== undefined) {
      this.record({ kind: 'worker-restarted', workerId: slot.id, threadId: slot.threadId, downMs: now - slot.downSinceMs, restarts: slot.restarts });
      slot.downSinceMs = undefined;
    }
    if (this.startWaiter) {
      this.startWaiter.waiting.delete(slot.id);
      if (this.startWaiter.waiting.size === 0) this.startWaiter.resolve();
    }
    // Spawned before a reload: the config first, then its sockets (its app must know a listener before accepting on it).
    const config = slot.configGeneration < this.configGeneration ? this.catchUpReload(slot) : Promise.resolve();
    void config.then(() => this.listenerSync.sync(slot));
  }

  /** A worker booted with a config older than the last reload (spawned mid-reload): bring it up to date. */
  private async catchUpReload(slot: WorkerSlot): Promise<void> {
    const control = slot.control;
    if (!control) return;
    const generation = this.configGeneration;
    const outcome = await runTwoPhaseReload([{ workerId: slot.id, control }], ++this.reloadSeq, this.config!, CONTROL_TIMEOUT_MS, () => {});
    if (outcome.ok && outcome.failedCommits.length === 0) {
      slot.configGeneration = generation;
      return;
    }
    this.log('error', `worker ${slot.id} cannot apply the current config (${outcome.ok ? outcome.failedCommits[0]!.error.message : outcome.error}); restarting it`);
    void slot.worker?.terminate();
  }

  private onHung(slot: WorkerSlot, heartbeatAgeMs: number): void {
    if (!slot.worker) return;
    slot.hungAgeMs = heartbeatAgeMs;
    this.totals.hangs++;
    this.record({ kind: 'worker-hung', workerId: slot.id, heartbeatAgeMs });
    this.log('warn', `worker ${slot.id} sent no heartbeat for ${heartbeatAgeMs} ms; terminating it`);
    // terminate() interrupts running JS, a `while (true)` included (checked on Node 20 and 24: ~2-7 ms).
    void slot.worker.terminate();
  }

  private onExit(slot: WorkerSlot, exitCode: number): void {
    this.counters!.setState(slot.id, WORKER_STATE.dead);
    this.acceptor?.workerGone(slot.id);
    this.listenerSync.releaseRetired();
    const reason = slot.hungAgeMs !== undefined ? `hung: no heartbeat for ${slot.hungAgeMs} ms` : slot.lastError ?? `exited with code ${exitCode}`;
    if (this.phase === 'stopped' || this.phase === 'draining') {
      slot.state = 'stopped';
      return;
    }
    if (this.phase === 'starting') {
      slot.state = 'stopped';
      this.startWaiter?.reject(this.startFailure(slot, reason));
      return;
    }
    this.totals.crashes++;
    this.record({ kind: 'worker-crashed', workerId: slot.id, exitCode, reason });
    const now = monotonicMs();
    const decision = slot.backoff.crashed(now);
    if (decision.overIntensity) {
      const withinS = this.server!.restart.withinMs / 1000;
      const message = `worker ${slot.id} crashed ${decision.crashesInWindow} times in ${withinS} s (last: ${reason}); backing off ${decision.delayMs} ms`;
      this.log('error', message);
      this.record({ kind: 'worker-backoff', workerId: slot.id, crashesInWindow: decision.crashesInWindow, delayMs: decision.delayMs, message });
    } else {
      this.log('warn', `worker ${slot.id} died (${reason}); respawning in ${decision.delayMs} ms`);
    }
    slot.downSinceMs ??= now;
    slot.state = 'respawn-wait';
    slot.respawnTimer = setTimeout(() => {
      slot.respawnTimer = undefined;
      if (this.phase !== 'running') return;
      slot.restarts++;
      this.totals.restarts++;
      this.spawn(slot);
    }, decision.delayMs);
  }

  private startFailure(slot: WorkerSlot, reason: string): ZproxyError {
    const rec: ErrorRecord | undefined = slot.startError;
    if (rec && rec.code.startsWith('acceptor.')) return new ZproxyError(rec);
    return new ZproxyError({
      code: 'runtime.worker-start-failed',
      message: `worker ${slot.id} failed to start: ${reason}`,
      source: 'worker-pool',
      context: rec ? { workerId: slot.id, cause: rec.code } : { workerId: slot.id },
    });
  }

  private cancelRespawn(slot: WorkerSlot): void {
    if (slot.respawnTimer) clearTimeout(slot.respawnTimer);
    slot.respawnTimer = undefined;
    if (slot.state === 'respawn-wait') slot.state = 'stopped';
  }

  /** Accept errors come in storms (EMFILE on every try): one event per listener per second. */
  private acceptorError(listener: string, err: Error): void {
    const now = monotonicMs();
    const last = this.lastAcceptorErrorMs.get(listener);
    if (last !== undefined && now - last < 1000) return;
    this.lastAcceptorErrorMs.set(listener, now);
    this.record({ kind: 'acceptor-error', listener, message: err.message });
  }

  private record(input: PoolEventInput): void {
    const event = { ...input, atMs: Date.now() } as PoolEvent;
    this.events.push(event);
    this.emit(event.kind, event);
    this.emit('event', event);
  }
}

function toModuleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (module.startsWith('file:')) return module;
  return isAbsolute(module) ? pathToFileURL(module).href : module;
}

