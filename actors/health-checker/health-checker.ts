/**
 * The health-checker actor, one per process, on the main thread: probes the
 * hosts of every upstream group that has `healthCheck`, once for all workers,
 * and writes each verdict (rise/fall applied) into shared memory, where
 * every worker's UpstreamHost.isAvailable() reads it. It also watches the
 * passive ejections workers write, so both kinds of change become events.
 * Takes: health-checker.configure, .probe-due, .probe-finished, .sweep, .report (ask).
 * Sends: HealthEvents to its onEvent callback (logs, admin stream).
 */
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { UpstreamGroupConfig } from '../../src/config/types.js';
import { runProbe, type ProbeOutcome, type ProbeTarget } from './health-probe.js';
import { SharedHostHealth, type HealthSlotAllocator } from './shared-host-health.js';

export type HealthCheckerMessage =
  | { readonly kind: 'health-checker.configure'; readonly upstreams: Readonly<Record<string, UpstreamGroupConfig>> }
  | { readonly kind: 'health-checker.probe-due'; readonly group: string; readonly epoch: number }
  | { readonly kind: 'health-checker.probe-finished'; readonly group: string; readonly host: number; readonly epoch: number; readonly outcome: ProbeOutcome }
  | { readonly kind: 'health-checker.sweep' }
  | { readonly kind: 'health-checker.report' };

export type HealthEventKind = 'upstream-down' | 'upstream-up' | 'upstream-ejected' | 'upstream-restored';

export interface HealthEvent {
  readonly kind: HealthEventKind;
  readonly atMs: number;
  readonly upstream: string;
  readonly host: string;
  readonly detail: string;
}

export interface HostHealthReport {
  readonly address: string;
  /** Available to traffic: not down and not ejected. */
  readonly healthy: boolean;
  readonly down: boolean;
  readonly ejectedForMs: number;
  readonly consecutiveFailures: number;
  readonly lastProbe: { readonly ok: boolean; readonly detail: string; readonly atMs: number; readonly durationMs: number } | undefined;
}

export interface HealthReport {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly checked: boolean; readonly hosts: readonly HostHealthReport[] }>;
  readonly events: readonly HealthEvent[];
}

export interface HealthCheckerDeps {
  readonly slots: HealthSlotAllocator;
  /** Delivers a message to this actor through its mailbox (timers and probe callbacks use it). */
  readonly self: (msg: HealthCheckerMessage) => void;
  readonly onEvent?: (event: HealthEvent) => void;
  /** Events kept for report(); default 50. */
  readonly eventCapacity?: number;
}

/** Passive ejections are noticed by this sweep; 250 ms keeps the event within a quarter second. */
export const SWEEP_MS = 250;

interface HostState {
  readonly target: ProbeTarget;
  readonly health: SharedHostHealth;
  passes: number;
  failures: number;
  inFlight: boolean;
  lastProbe: HostHealthReport['lastProbe'];
  /** Ejection seen by the last sweep, to report its start and end once. */
  ejectedSeen: boolean;
}

interface GroupState {
  readonly config: UpstreamGroupConfig;
  readonly hosts: HostState[];
  timer: NodeJS.Timeout | undefined;
}

export class HealthChecker implements Actor<HealthCheckerMessage> {
  private groups = new Map<string, GroupState>();
  /** Bumped by configure: probe results and timers of an older config are ignored. */
  private epoch = 0;
  private readonly events: HealthEvent[] = [];
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly deps: HealthCheckerDeps, upstreams: Readonly<Record<string, UpstreamGroupConfig>>) {
    this.configure(upstreams);
    this.sweeper = setInterval(() => deps.self({ kind: 'health-checker.sweep' }), SWEEP_MS);
    this.sweeper.unref();
  }

  receive(msg: HealthCheckerMessage, ctx: ActorContext): void {
    switch (msg.kind) {
      case 'health-checker.configure':
        this.configure(msg.upstreams);
        return;
      case 'health-checker.probe-due':
        if (msg.epoch === this.epoch) this.probeGroup(msg.group);
        return;
      case 'health-checker.probe-finished':
        if (msg.epoch === this.epoch) this.probeFinished(msg.group, msg.host, msg.outcome);
        return;
      case 'health-checker.sweep':
        this.sweep();
        return;
      case 'health-checker.report':
        ctx.reply(this.report());
        return;
    }
  }

  terminate(_reason: ErrorRecord | undefined): void {
    clearInterval(this.sweeper);
    for (const g of this.groups.values()) if (g.timer) clearInterval(g.timer);
  }

  report(): HealthReport {
    const groups = [...this.groups.entries()].map(([name, g]) => ({
      name,
      checked: g.config.healthCheck !== undefined,
      hosts: g.hosts.map((h): HostHealthReport => {
        const ejectedForMs = h.health.ejectedForMs();
        const down = h.health.down;
        return { address: h.target.address, healthy: !down && ejectedForMs === 0, down, ejectedForMs, consecutiveFailures: h.health.consecutiveFailures, lastProbe: h.lastProbe };
      }),
    }));
    return { groups, events: [...this.events] };
  }

  /**
   * (Re)starts probing for a config. Hosts that lose their health check are
   * marked up again: no probe would ever lift a stale "down".
   */
  private configure(upstreams: Readonly<Record<string, UpstreamGroupConfig>>): void {
    this.epoch++;
    const previous = this.groups;
    for (const g of previous.values()) if (g.timer) clearInterval(g.timer);
    const next = new Map<string, GroupState>();
    for (const [name, config] of Object.entries(upstreams)) {
      const old = previous.get(name);
      const hosts = config.hosts.map((h): HostState => {
        const kept = old?.hosts.find((o) => o.target.hostname === h.host && o.target.port === h.port);
        const state: HostState = kept && old?.config.healthCheck && config.healthCheck
          ? { ...kept, target: { ...kept.target, address: h.address, tls: config.tls }, inFlight: false }
          : {
            target: { hostname: h.host, port: h.port, address: h.address, tls: config.tls },
            health: new SharedHostHealth(this.deps.slots, name, h.host, h.port),
            passes: 0, failures: 0, inFlight: false, lastProbe: undefined, ejectedSeen: kept?.ejectedSeen ?? false,
          };
        if (!config.healthCheck && state.health.down) state.health.setDown(false);
        return state;
      });
      next.set(name, { config, hosts, timer: undefined });
    }
    // A host or group removed from the config keeps its slots; lift a "down" nobody will probe again.
    for (const [name, g] of previous) {
      for (const h of g.hosts) {
        const still = next.get(name)?.hosts.some((n) => n.health === h.health || (n.target.hostname === h.target.hostname && n.target.port === h.target.port));
        if (!still && h.health.down) h.health.setDown(false);
      }
    }
    this.groups = next;
    const epoch = this.epoch;
    for (const [name, g] of next) {
      const check = g.config.healthCheck;
      if (!check) continue;
      g.timer = setInterval(() => this.deps.self({ kind: 'health-checker.probe-due', group: name, epoch }), check.intervalMs);
      g.timer.unref();
      this.probeGroup(name);
    }
  }

  private probeGroup(name: string): void {
    const g = this.groups.get(name);
    const check = g?.config.healthCheck;
    if (!g || !check) return;
    const epoch = this.epoch;
    g.hosts.forEach((h, index) => {
      // One probe per host at a time: a slow host is not probed again before its last probe ends.
      if (h.inFlight) return;
      h.inFlight = true;
      runProbe(h.target, check, (outcome) => this.deps.self({ kind: 'health-checker.probe-finished', group: name, host: index, epoch, outcome }));
    });
  }

  /** Applies rise/fall: `fall` failures in a row mark a host down, `rise` passes in a row mark it up. */
  private probeFinished(group: string, index: number, outcome: ProbeOutcome): void {
    const g = this.groups.get(group);
    const h = g?.hosts[index];
    const check = g?.config.healthCheck;
    if (!g || !h || !check) return;
    h.inFlight = false;
    h.lastProbe = { ok: outcome.ok, detail: outcome.detail, atMs: Date.now(), durationMs: Math.round(outcome.durationMs * 10) / 10 };
    if (outcome.ok) {
      h.failures = 0;
      h.passes++;
      if (h.health.down && h.passes >= check.rise) {
        h.health.setDown(false);
        this.emit('upstream-up', group, h, `${h.passes} passing probe(s): ${outcome.detail}`);
      }
    } else {
      h.passes = 0;
      h.failures++;
      if (!h.health.down && h.failures >= check.fall) {
        h.health.setDown(true);
        this.emit('upstream-down', group, h, `${h.failures} failed probe(s): ${outcome.detail}`);
      }
    }
  }

  /** Turns passive ejections written by workers into events. */
  private sweep(): void {
    for (const [name, g] of this.groups) {
      for (const h of g.hosts) {
        const ejected = h.health.ejectedForMs() > 0;
        if (ejected === h.ejectedSeen) continue;
        h.ejectedSeen = ejected;
        if (ejected) this.emit('upstream-ejected', name, h, 'consecutive failures on traffic; out until its cool-down ends');
        else this.emit('upstream-restored', name, h, 'cool-down over');
      }
    }
  }

  private emit(kind: HealthEventKind, upstream: string, h: HostState, detail: string): void {
    const event: HealthEvent = { kind, atMs: Date.now(), upstream, host: h.target.address, detail };
    this.events.push(event);
    if (this.events.length > (this.deps.eventCapacity ?? 50)) this.events.shift();
    this.deps.onEvent?.(event);
  }
}
