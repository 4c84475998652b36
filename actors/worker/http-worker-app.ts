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
import { buildSnapshot, type BuiltSnapshot } from './build-snapshot.js';
import { AccessLogProducer } from '../logger/access-log-producer.js';

/** What the start command hands every worker (WorkerAppContext.appData). */
export interface HttpWorkerAppData {
  /** This worker slot's ring to the logger thread; absent when access logging is off. */
  readonly accessLogRing?: SharedArrayBuffer;
  /** Cross-worker counters (least-connections); absent: this worker counts alone. */
  readonly sharedSlots?: SharedArrayBuffer;
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

  constructor(private readonly ctx: WorkerAppContext, data: HttpWorkerAppData) {
    this.config = ctx.config as unknown as ZproxyConfig;
    this.slots = data.sharedSlots ? new SharedSlots(data.sharedSlots) : SharedSlots.create();
    const access = this.config.logging.access;
    this.accessLog = access.enabled && data.accessLogRing ? new AccessLogProducer(data.accessLogRing, access.format, ctx.workerId, secretHeaderNames(this.config)) : undefined;
    const built = this.build(this.config);
    this.groups = built.groups;
    this.listeners = new Map(this.config.listeners.map((l) => [l.name, l]));
    const sink = this.accessLog?.write ?? ((): void => {});
    const session = new SessionActor(built.snapshot, `${ctx.workerId.toString(36)}${Date.now().toString(36).slice(-4)}-`, this.accessLog !== undefined, sink);
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
      http1: (s, first) => this.session.accept(s, first, false),
    });
  }

  async prepareReload(config: ZproxyConfig): Promise<PreparedReload> {
    const built = this.build(config);
    return {
      commit: () => {
        this.config = config;
        this.groups = built.groups;
        this.listeners = new Map(config.listeners.map((l) => [l.name, l]));
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
    };
  }

  private build(config: ZproxyConfig): BuiltSnapshot {
    return buildSnapshot(config, this.generation++, this.groups, this.dns, (name) => ({ array: this.slots.values, index: this.slots.slot(name) }));
  }
}

export const createWorkerApp: WorkerAppFactory = (ctx) => new HttpWorkerApp(ctx, (ctx.appData ?? {}) as HttpWorkerAppData);
