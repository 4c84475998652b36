/**
 * The worker app for HTTP and stream listeners: what one worker thread runs
 * on top of the runtime. It compiles the config into a ProxySnapshot, hosts
 * the session actor under the worker's supervision tree, and routes each
 * accepted connection through the protocol detector to its session.
 */
import { ConnectionAdmission, MAX_WORKER_SLOTS } from './connection-admission.js';
import { OverloadMonitor } from './overload-monitor.js';
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
import { SharedBuckets } from '../middleware/rate-limit/shared-buckets.js';
import { loadRedisClient, RedisLimiters } from '../middleware/rate-limit/redis-limiter.js';
import { PluginRegistry, type LoadedPlugin } from '../middleware/plugin/load-plugin.js';
import { StreamActor } from '../session-stream/stream-actor.js';
import type { StreamTarget } from '../session-stream/stream-session.js';
import { buildStreamTargets } from '../session-stream/stream-targets.js';
import { buildListenerTls, insecureUpstreamWarnings } from '../tls/listener-tls.js';
import type { TlsTerminator, NegotiatedProtocol } from '../tls/tls-terminator.js';
import type tls from 'node:tls';
import { CacheClient } from '../cache/cache-client.js';
import { H2SessionActor } from '../session-h2/h2-session-actor.js';

/** What the start command hands every worker (WorkerAppContext.appData). */
export interface HttpWorkerAppData {
  /** This worker slot's ring to the logger thread; absent when access logging is off. */
  readonly accessLogRing?: SharedArrayBuffer;
  /** Cross-worker counters (least-connections, upstream health); absent: this worker counts alone. */
  readonly sharedSlots?: SharedArrayBuffer;
  /** This worker slot's metrics memory (src/kernel/shared-metrics.ts); absent when metrics are off. */
  readonly metrics?: SharedArrayBuffer;
  /** Rate-limit buckets shared by every worker (actors/middleware/rate-limit/shared-buckets.ts); absent: this worker limits alone. */
  readonly rateLimitBuckets?: SharedArrayBuffer;
  /** Channel base name of the shared cache thread (actors/cache/); absent: no cache middleware can run. */
  readonly cacheChannel?: string;
}

/** Route name -> upstream group name, what the metrics label upstream latency with. */
function routeUpstreams(config: ZproxyConfig): Map<string, string> {
  return new Map(config.routes.map((r) => [r.name, r.upstream]));
}

function routeGroupsOf(config: ZproxyConfig, groups: Map<string, UpstreamGroup>): Map<string, UpstreamGroup> {
  return new Map(config.routes.map((r) => [r.name, groups.get(r.upstream)!]));
}

/** Query parameters that carry API keys: $request_uri shows them as name=[redacted]. */
function secretQueryParams(config: ZproxyConfig): string[] {
  const names: string[] = [];
  for (const m of Object.values(config.middleware)) if (m.type === 'api-key' && m.queryParam !== undefined) names.push(m.queryParam);
  return names;
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
  private readonly admission: ConnectionAdmission;
  private readonly overload: OverloadMonitor;
  private readonly session: SessionActor;
  /** HTTP/2 downstream connections (h2 after ALPN, h2c with prior knowledge). */
  private readonly h2: H2SessionActor;
  /** Stream listeners (mode 'stream'): their connections skip the HTTP detector. */
  private readonly streams: StreamActor;
  private streamTargets: Map<string, StreamTarget>;
  private listeners: Map<string, ZproxyConfig['listeners'][number]>;
  /** TLS-terminating http listeners by name (certificates swapped on reload). */
  private listenerTls: Map<string, TlsTerminator>;

  private readonly accessLog: AccessLogProducer | undefined;
  /** Route name -> its upstream group in the committed snapshot (passive outcomes). */
  private routeGroups: Map<string, UpstreamGroup>;
  private readonly metrics: HttpMetricsRecorder | undefined;
  private readonly vitals: WorkerVitals | undefined;

  /** Middleware state that outlives a snapshot: shared buckets, Redis connections, loaded plugins. */
  private readonly buckets: SharedBuckets;
  private readonly redis = new RedisLimiters();
  private readonly cache: CacheClient | undefined;

  constructor(private readonly ctx: WorkerAppContext, data: HttpWorkerAppData, private readonly remoteRouter: RemoteRouter | undefined, private readonly plugins: PluginRegistry, initialPlugins: Map<string, LoadedPlugin>) {
    this.config = ctx.config as unknown as ZproxyConfig;
    this.buckets = data.rateLimitBuckets ? SharedBuckets.attach(data.rateLimitBuckets) : SharedBuckets.create();
    this.cache = data.cacheChannel !== undefined ? new CacheClient(data.cacheChannel, ctx.workerId) : undefined;
    this.slots = data.sharedSlots ? new SharedSlots(data.sharedSlots) : SharedSlots.create();
    const connectionSlots = Array.from({ length: MAX_WORKER_SLOTS }, (_, id) => this.slots.slot(`server:open-connections:${id}`));
    this.overload = new OverloadMonitor(this.config.server.overload);
    this.admission = new ConnectionAdmission(this.slots.values, this.slots.slot(`server:open-connections:${ctx.workerId}`), connectionSlots);
    const access = this.config.logging.access;
    this.accessLog = access.enabled && data.accessLogRing ? new AccessLogProducer(data.accessLogRing, access.format, ctx.workerId, secretHeaderNames(this.config), secretQueryParams(this.config)) : undefined;
    const built = this.build(this.config, initialPlugins);
    this.remoteRouter?.load(built.snapshot.generation, routeSpecs(this.config));
    this.groups = built.groups;
    this.routeGroups = routeGroupsOf(this.config, built.groups);
    this.listeners = new Map(this.config.listeners.map((l) => [l.name, l]));
    this.listenerTls = buildListenerTls(this.config, this.acceptSecure);
    // Worker 0 speaks for all: one warning per start, not one per worker.
    if (ctx.workerId === 0) for (const w of insecureUpstreamWarnings(this.config)) process.emitWarning(w, { code: 'ZPROXY_INSECURE_UPSTREAM' });
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
    const session = new SessionActor(built.snapshot, `${ctx.workerId.toString(36)}${Date.now().toString(36).slice(-4)}-`, recordsWanted, this.sinkFor(this.accessLog, this.metrics), this.shedding);
    this.session = session;
    const streams = new StreamActor(`${ctx.workerId.toString(36)}${Date.now().toString(36).slice(-4)}-s`, recordsWanted, this.sinkFor(this.accessLog, this.metrics));
    this.streams = streams;
    this.streamTargets = buildStreamTargets(this.config, this.groups);
    const h2 = new H2SessionActor(built.snapshot, this.config.server.limits, this.config.server.timeouts.clientIdleMs, `${ctx.workerId.toString(36)}${Date.now().toString(36).slice(-4)}h2-`, recordsWanted, this.sinkFor(this.accessLog, this.metrics), this.shedding);
    this.h2 = h2;
    ctx.system.startTree({
      name: `worker-${ctx.workerId}`,
      strategy: 'one-for-one',
      intensity: { maxRestarts: this.config.server.restart.maxRestarts, withinMs: this.config.server.restart.withinMs },
      children: [{ name: 'session', restart: 'permanent', start: () => session }, { name: 'stream', restart: 'permanent', start: () => streams }, { name: 'session-h2', restart: 'permanent', start: () => h2 }],
    });
  }

  onConnection(socket: net.Socket, listenerName: string): void {
    const listener = this.listeners.get(listenerName);
    if (!listener) {
      socket.destroy();
      return;
    }
    if (!this.admission.admit(socket, this.config.server.limits, listener, this.shedding())) return;
    const stream = this.streamTargets.get(listenerName);
    if (stream !== undefined) {
      if (this.metrics) socket.on('close', this.metrics.connectionOpened('stream'));
      return this.streams.accept(socket, stream);
    }
    const tlsTermination = this.listenerTls.get(listenerName);
    detectConnection(socket, this.config.server.timeouts.headerMs, {
      http1: (s, first) => {
        if (this.metrics) s.on('close', this.metrics.connectionOpened('http1'));
        this.session.accept(s, first, false);
      },
      h2c: listener.protocols.includes('h2c') ? (s, first) => this.acceptH2(s, first) : undefined,
      tls: tlsTermination === undefined ? undefined : (s, first) => tlsTermination.accept(s, first),
    });
  }

  /** The overload verdict for one new request or connection; counts it when it is refused. */
  private readonly shedding = (): boolean => {
    if (!this.overload.overloaded) return false;
    this.overload.shed();
    return true;
  };

  /** Rebalancing (the supervisor asks): up to `count` HTTP connections are asked to go, HTTP/1.1 first. */
  closeConnections(count: number): number {
    const http1 = this.session.closeSome(count);
    return http1 + this.h2.closeSome(count - http1);
  }

  /** A completed TLS handshake: ALPN decides the session. */
  private readonly acceptSecure = (secure: tls.TLSSocket, protocol: NegotiatedProtocol): void => {
    if (protocol === 'h2') return this.acceptH2(secure, undefined);
    if (this.metrics) secure.on('close', this.metrics.connectionOpened('http1'));
    this.session.accept(secure, undefined, true);
  };

  /** An HTTP/2 connection: TLS with ALPN h2 (`first` undefined) or h2c prior knowledge (the preface in `first`). */
  private acceptH2(socket: net.Socket, first: Buffer | undefined): void {
    if (this.metrics) socket.on('close', this.metrics.connectionOpened('h2'));
    this.h2.accept(socket, first);
  }

  async prepareReload(config: ZproxyConfig): Promise<PreparedReload> {
    await loadOptionalModules(config);
    const built = this.build(config, await this.plugins.load(config));
    // Certificates are read and checked here, in prepare: a bad pair aborts the reload.
    const listenerTls = buildListenerTls(config, this.acceptSecure);
    return {
      commit: () => {
        this.listenerTls = listenerTls;
        // Requests still on the old snapshot get 'stale' from the router thread and match locally.
        this.remoteRouter?.load(built.snapshot.generation, routeSpecs(config));
        this.config = config;
        this.overload.apply(config.server.overload);
        this.groups = built.groups;
        this.routeGroups = routeGroupsOf(config, built.groups);
        this.listeners = new Map(config.listeners.map((l) => [l.name, l]));
        this.streamTargets = buildStreamTargets(config, built.groups);
        this.metrics?.setRoutes(routeUpstreams(config));
        this.accessLog?.setSecrets(secretHeaderNames(config), secretQueryParams(config));
        this.ctx.system.send('session', { kind: 'session.swap-snapshot', snapshot: built.snapshot });
        this.ctx.system.send('session-h2', { kind: 'session-h2.swap-snapshot', snapshot: built.snapshot });
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
    await Promise.all([this.session.drain(deadlineMs), this.streams.drain(deadlineMs), this.h2.drain(deadlineMs)]);
    for (const g of this.groups.values()) g.closeIdle();
    this.redis.closeAll();
    await this.plugins.closeAll();
    this.overload.stop();
  }

  stats(): Record<string, unknown> {
    return {
      ...this.session.stats(),
      ...this.streams.stats(),
      ...this.h2.stats(),
      ...this.admission.stats(),
      overload: this.overload.stats(),
      memory: isolateMemory(),
      accessLog: this.accessLog?.stats(),
      // Buckets forgotten while still refilling (the shared table was full around their slot): non-zero means more live keys than it holds.
      rateLimit: { evictions: this.buckets.evictions },
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

  private build(config: ZproxyConfig, plugins: Map<string, LoadedPlugin>): BuiltSnapshot {
    return buildSnapshot(config, this.generation++, this.groups, this.dns, (name) => ({ array: this.slots.values, index: this.slots.slot(name) }), this.remoteRouter, { buckets: this.buckets, redis: this.redis, plugins, cache: this.cache });
  }
}

/** Libraries only some configs need are imported on demand (see loadRedisClient): a worker without them starts sooner. */
async function loadOptionalModules(config: ZproxyConfig): Promise<void> {
  const usesRedis = Object.values(config.middleware).some((m) => m.type === 'rate-limit' && m.backend === 'redis');
  if (usesRedis) await loadRedisClient();
}

export const createWorkerApp: WorkerAppFactory = async (ctx) => {
  await loadOptionalModules(ctx.config as unknown as ZproxyConfig);
  const placement = (ctx.config as unknown as ZproxyConfig).server.placement;
  // pipelined/postmessage: this worker's router actor runs on a thread of its own (research placements).
  const remote = placement === 'local' ? undefined : await RemoteRouter.start(ctx.system, placement);
  // Plugin modules are imported before the first build (import() is async; building is not).
  const plugins = new PluginRegistry();
  const loaded = await plugins.load(ctx.config as unknown as ZproxyConfig);
  return new HttpWorkerApp(ctx, (ctx.appData ?? {}) as HttpWorkerAppData, remote, plugins, loaded);
};

/**
 * This worker's isolate: V8 heap in use, and memory outside it that V8 knows
 * of (Buffer backing stores and other ArrayBuffers, counted in external).
 * RSS is the process's, so it is reported once, by the main thread.
 */
function isolateMemory(): { heapUsedBytes: number; externalBytes: number; arrayBuffersBytes: number } {
  const m = process.memoryUsage();
  return { heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
}
