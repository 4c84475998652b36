/**
 * The worker app for HTTP and stream listeners: what one worker thread runs
 * on top of the runtime. It compiles the config into a ProxySnapshot, hosts
 * the session actor under the worker's supervision tree, and routes each
 * accepted connection through the protocol detector to its session.
 */
import type net from 'node:net';
import type { WorkerApp, WorkerAppContext, WorkerAppFactory, PreparedReload } from './worker-app-contract.js';
import type { ZproxyConfig } from '../../src/config/types.js';
import { SharedSlots } from '../../src/kernel/shared-slots.js';
import { DnsCache } from '../upstream-pool/dns-cache.js';
import type { UpstreamGroup } from '../upstream-pool/upstream-group.js';
import { SessionActor } from '../session-http1/session-actor.js';
import { detectConnection } from '../detector/protocol-detector.js';
import { buildSnapshot, routeSpecs, type BuiltSnapshot } from './build-snapshot.js';
import { RemoteRouter } from '../router/remote-router.js';
import { AccessLogProducer } from '../logger/access-log-producer.js';
import { MetricsWriter } from '../../src/kernel/shared-metrics.js';
import { HttpMetricsRecorder } from '../metrics/http-metrics-recorder.js';
import { WorkerVitals } from '../metrics/worker-vitals.js';
import type { AccessRecord } from '../session-http1/access-record.js';

/** What the start command hands every worker (WorkerAppContext.appData). */
export interface HttpWorkerAppData {
  /** This worker slot's ring to the logger thread; absent when access logging is off. */
  readonly accessLogRing?: SharedArrayBuffer;
  /** Cross-worker counters (least-connections, upstream health); absent: this worker counts alone. */
  readonly sharedSlots?: SharedArrayBuffer;
  /** This worker slot's metrics memory (src/kernel/shared-metrics.ts); absent when metrics are off. */
  readonly metrics?: SharedArrayBuffer;
}

/** Route name -> upstream group name, what the metrics label upstream latency with. */
function routeUpstreams(config: ZproxyConfig): Map<string, string> {
  return new Map(config.routes.map((r) => [r.name, r.upstream]));
}

function routeGroupsOf(config: ZproxyConfig, groups: Map<string, UpstreamGroup>): Map<string, UpstreamGroup> {
  return new Map(config.routes.map((r) => [r.name, groups.get(r.upstream)!]));
}

function secretHeaderNames(config: ZproxyConfig): string[] {
  const names: string[] = [];
  for (const m of Object.values(config.middleware)) if (m.type === 'api-key') names.push(m.header);
  return names;
}

class HttpWorkerApp implements WorkerApp {
  private config: ZproxyConfig;
  private groups: Map<string, UpstreamGroup>;
  private generation = 1;
  private readonly dns = new DnsCache();
  private readonly slots: SharedSlots;
  private readonly session: SessionActor;
  private listeners: Map<string, ZproxyConfig['listeners'][number]>;

  private readonly accessLog: AccessLogProducer | undefined;
  /** Route name -> its upstream group in the committed snapshot (passive outcomes). */
  private routeGroups: Map<string, UpstreamGroup>;
  private readonly metrics: HttpMetricsRecorder | undefined;
  private readonly vitals: WorkerVitals | undefined;

  constructor(private readonly ctx: WorkerAppContext, data: HttpWorkerAppData, private readonly remoteRouter: RemoteRouter | undefined) {
    this.config = ctx.config as unknown as ZproxyConfig;
    this.slots = data.sharedSlots ? new SharedSlots(data.sharedSlots) : SharedSlots.create();
    const access = this.config.logging.access;
    this.accessLog = access.enabled && data.accessLogRing ? new AccessLogProducer(data.accessLogRing, access.format, ctx.workerId, secretHeaderNames(this.config)) : undefined;
    const built = this.build(this.config);
    this.remoteRouter?.load(built.snapshot.generation, routeSpecs(this.config));
    this.groups = built.groups;
    this.routeGroups = routeGroupsOf(this.config, built.groups);
    this.listeners = new Map(this.config.listeners.map((l) => [l.name, l]));
    if (data.metrics) {
      const writer = new MetricsWriter(data.metrics);
      this.metrics = new HttpMetricsRecorder(writer, routeUpstreams(this.config));
      this.vitals = new WorkerVitals(writer, ctx.workerId, () => this.groups.values());
      this.vitals.start();
    }
    // Records are built per exchange only when someone reads them: the access log, the metrics, or passive health.
    // (A reload that adds `passive` to a config that had none of these cannot turn records on; 5xx then do not count.)
    const passive = Object.values(this.config.upstreams).some((g) => g.passive !== undefined);
    const recordsWanted = this.accessLog !== undefined || this.metrics !== undefined || passive;
    const session = new SessionActor(built.snapshot, `${ctx.workerId.toString(36)}${Date.now().toString(36).slice(-4)}-`, recordsWanted, this.sinkFor(this.accessLog, this.metrics));
    this.session = session;
    ctx.system.startTree({
      name: `worker-${ctx.workerId}`,
      strategy: 'one-for-one',
      intensity: { maxRestarts: this.config.server.restart.maxRestarts, withinMs: this.config.server.restart.withinMs },
      children: [{ name: 'session', restart: 'permanent', start: () => session }],
    });
  }

  onConnection(socket: net.Socket, listenerName: string): void {
    const listener = this.listeners.get(listenerName);
    if (!listener) {
      socket.destroy();
      return;
    }
    detectConnection(socket, this.config.server.timeouts.headerMs, {
      http1: (s, first) => {
        if (this.metrics) {
          this.metrics.connectionOpened();
          s.once('close', this.metrics.connectionClosed);
        }
        this.session.accept(s, first, false);
      },
    });
  }

  async prepareReload(config: ZproxyConfig): Promise<PreparedReload> {
    const built = this.build(config);
    return {
      commit: () => {
        // Requests still on the old snapshot get 'stale' from the router thread and match locally.
        this.remoteRouter?.load(built.snapshot.generation, routeSpecs(config));
        this.config = config;
        this.groups = built.groups;
        this.routeGroups = routeGroupsOf(config, built.groups);
        this.listeners = new Map(config.listeners.map((l) => [l.name, l]));
        this.metrics?.setRoutes(routeUpstreams(config));
        this.ctx.system.send('session', { kind: 'session.swap-snapshot', snapshot: built.snapshot });
        for (const g of built.retired) g.closeIdle();
      },
      abort: () => {
        for (const g of built.groups.values()) if (this.groups.get(g.name) !== g) g.closeIdle();
      },
    };
  }

  async reload(config: ZproxyConfig): Promise<void> {
    (await this.prepareReload(config)).commit();
  }

  async drain(deadlineMs: number): Promise<void> {
    await this.session.drain(deadlineMs);
    for (const g of this.groups.values()) g.closeIdle();
  }

  stats(): Record<string, unknown> {
    return {
      ...this.session.stats(),
      accessLog: this.accessLog?.stats(),
      upstreams: [...this.groups.values()].map((g) => g.stats()),
      actors: this.ctx.system.stats(),
      routerLink: this.remoteRouter?.stats(),
    };
  }

  /** The session's sink: the access log and the metrics when on, and the passive-health outcome. */
  private sinkFor(log: AccessLogProducer | undefined, metrics: HttpMetricsRecorder | undefined): (r: AccessRecord) => void {
    return (r) => {
      log?.write(r);
      metrics?.record(r);
      if (r.upstreamAddress !== '-') this.passiveOutcome(r);
    };
  }

  /**
   * Passive health on traffic: an exchange that reached an upstream and
   * ended in a 5xx (the upstream's, or ours for its reset, bad response or
   * read timeout) extends the host's failure streak, shared by all workers;
   * any other status ends it. 499 (the client left) says nothing.
   */
  private passiveOutcome(r: AccessRecord): void {
    const group = this.routeGroups.get(r.route);
    const passive = group?.config.passive;
    if (!group || !passive || r.status === 499) return;
    for (const h of group.hosts) {
      if (h.address !== r.upstreamAddress) continue;
      if (r.status >= 500) h.failed(passive.maxFailures, passive.cooldownMs);
      else h.succeeded();
      return;
    }
  }

  private build(config: ZproxyConfig): BuiltSnapshot {
    return buildSnapshot(config, this.generation++, this.groups, this.dns, (name) => ({ array: this.slots.values, index: this.slots.slot(name) }), this.remoteRouter);
  }
}

export const createWorkerApp: WorkerAppFactory = async (ctx) => {
  const placement = (ctx.config as unknown as ZproxyConfig).server.placement;
  // pipelined/postmessage: this worker's router actor runs on a thread of its own (research placements).
  const remote = placement === 'local' ? undefined : await RemoteRouter.start(ctx.system, placement);
  return new HttpWorkerApp(ctx, (ctx.appData ?? {}) as HttpWorkerAppData, remote);
};
