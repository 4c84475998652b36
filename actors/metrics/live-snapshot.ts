/**
 * Builds the admin stream's LiveSnapshot (src/protocol/admin-stream.ts)
 * from an Observation: totals, one row per worker, per route and per
 * upstream group, and the latest supervisor and health events merged.
 */
import type { LiveEvent, LiveRoute, LiveSnapshot, LiveUpstream, LiveWorker } from '../../src/protocol/admin-stream.js';
import { LIVE_SNAPSHOT_VERSION } from '../../src/protocol/admin-stream.js';
import type { PoolEvent } from '../supervisor/pool-events.js';
import type { HealthEvent } from '../health-checker/health-checker.js';
import { LATENCY_BOUNDS_SECONDS, WORKER_FAMILIES as W } from './metric-families.js';
import { bucketsOf, sumOf, upstreamKey, valueOf, type Observation } from './observation.js';

/** Events in a snapshot: top shows the last few; 20 leaves room for a taller terminal. */
const EVENTS_IN_SNAPSHOT = 20;
const BUCKETS = LATENCY_BOUNDS_SECONDS.length + 1;

const is5xx = (l: Record<string, string>): boolean => l.status === '5xx';
const is4xx = (l: Record<string, string>): boolean => l.status === '4xx';

/** One line per pool event, for people. */
export function describePoolEvent(e: PoolEvent): string {
  switch (e.kind) {
    case 'worker-started': return `worker ${e.workerId} started in ${e.startMs} ms${e.cpu !== undefined ? ` on cpu ${e.cpu}` : ''}`;
    case 'worker-crashed': return `worker ${e.workerId} died (exit ${e.exitCode}): ${e.reason}`;
    case 'worker-hung': return `worker ${e.workerId} hung (no heartbeat for ${e.heartbeatAgeMs} ms)`;
    case 'worker-restarted': return `worker ${e.workerId} back after ${e.downMs} ms (restart ${e.restarts})`;
    case 'worker-backoff': return e.message;
    case 'worker-pin-failed': return `worker ${e.workerId} not pinned to cpu ${e.cpu}: ${e.reason}`;
    case 'acceptor-error': return `listener ${e.listener}: ${e.message}`;
    case 'reload-applied': return `reload ${e.reloadId} applied on ${e.workers} worker(s)`;
    case 'reload-rejected': return `reload ${e.reloadId} rejected: ${e.error}`;
    case 'drain-started': return `draining (deadline ${e.deadlineMs} ms)`;
    case 'drain-finished': return `drained in ${e.durationMs} ms (${e.failures} failure(s))`;
    default: return (e as { kind: string }).kind;
  }
}

export function describeHealthEvent(e: HealthEvent): string {
  return `${e.upstream} ${e.host}: ${e.detail}`;
}

export function buildLiveSnapshot(o: Observation): LiveSnapshot {
  const s = o.samples;
  const workers = o.pool.workers.map((w): LiveWorker => {
    const mine = o.perWorker.get(w.workerId) ?? [];
    const app = w.app as { accessLog?: { fillBytes: number; capacityBytes: number } } | undefined;
    const p99 = valueOf(mine, W.loopDelayP99.name);
    return {
      workerId: w.workerId,
      state: w.state,
      tid: w.tid ?? null,
      cpu: w.pinned && w.cpu !== undefined ? w.cpu : null,
      numaNode: w.numaNode,
      restarts: w.restarts,
      connections: w.openConnections,
      requests: sumOf(mine, W.requests.name),
      serverErrors: sumOf(mine, W.requests.name, is5xx),
      latency: bucketsOf(mine, W.duration.name, BUCKETS),
      heartbeatAgeMs: w.heartbeatAgeMs,
      loopDelayP99Ms: p99 === null ? null : p99 * 1000,
      loopUtilization: valueOf(mine, W.loopUtilization.name),
      cpuUtilization: valueOf(mine, W.cpuUtilization.name),
      mailboxDepth: w.actors ? w.actors.actors.reduce((n, a) => n + a.mailboxDepth, 0) : null,
      ringFill: app?.accessLog && app.accessLog.capacityBytes > 0 ? app.accessLog.fillBytes / app.accessLog.capacityBytes : null,
    };
  });
  const routeNames = [...o.config.routes.map((r) => r.name), '-'];
  const routes = routeNames.map((name): LiveRoute => {
    const mine = (l: Record<string, string>): boolean => l.route === name;
    return {
      name,
      upstream: o.config.routes.find((r) => r.name === name)?.upstream ?? null,
      requests: sumOf(s, W.requests.name, mine),
      clientErrors: sumOf(s, W.requests.name, (l) => mine(l) && is4xx(l)),
      serverErrors: sumOf(s, W.requests.name, (l) => mine(l) && is5xx(l)),
      latency: bucketsOf(s, W.duration.name, BUCKETS, mine),
    };
  }).filter((r) => r.name !== '-' || r.requests > 0);
  const reports = new Map(o.health.groups.map((g) => [g.name, g]));
  const upstreams = Object.entries(o.config.upstreams).map(([name, g]): LiveUpstream => {
    const mine = (l: Record<string, string>): boolean => l.upstream === name;
    const report = reports.get(name);
    return {
      name,
      requests: sumOf(s, W.upstreamRequests.name, mine),
      reused: sumOf(s, W.upstreamReused.name, mine),
      connectFailures: sumOf(s, W.upstreamConnectFailures.name, mine),
      latency: bucketsOf(s, W.upstreamDuration.name, BUCKETS, mine),
      hosts: g.hosts.map((h) => {
        const hr = report?.hosts.find((x) => x.address === h.address);
        return {
          address: h.address,
          healthy: hr?.healthy ?? true,
          down: hr?.down ?? false,
          ejected: (hr?.ejectedForMs ?? 0) > 0,
          active: o.upstreamActive.get(upstreamKey(name, h.host, h.port)) ?? 0,
          lastProbe: hr?.lastProbe ? `${hr.lastProbe.ok ? 'ok' : 'fail'} ${hr.lastProbe.detail}` : null,
        };
      }),
    };
  });
  const events: LiveEvent[] = [
    ...o.pool.supervisor.events.map((e) => ({ atMs: e.atMs, kind: e.kind, text: describePoolEvent(e) })),
    ...o.health.events.map((e) => ({ atMs: e.atMs, kind: e.kind, text: describeHealthEvent(e) })),
  ].sort((a, b) => a.atMs - b.atMs).slice(-EVENTS_IN_SNAPSHOT);
  const sup = o.pool.supervisor;
  return {
    v: LIVE_SNAPSHOT_VERSION,
    atMs: o.atMs,
    uptimeMs: o.uptimeMs,
    generation: o.generation,
    acceptor: o.pool.acceptor,
    latencyBoundsSeconds: LATENCY_BOUNDS_SECONDS,
    totals: {
      requests: sumOf(s, W.requests.name),
      clientErrors: sumOf(s, W.requests.name, is4xx),
      serverErrors: sumOf(s, W.requests.name, is5xx),
      bytesIn: sumOf(s, W.received.name),
      bytesOut: sumOf(s, W.sent.name),
      connectionsTotal: sumOf(s, W.connections.name),
      connectionsActive: sumOf(s, W.connectionsActive.name),
      latency: bucketsOf(s, W.duration.name, BUCKETS),
    },
    workers,
    routes,
    upstreams,
    supervisor: { restarts: sup.restarts, crashes: sup.crashes, hangs: sup.hangs, reloads: sup.reloads, reloadFailures: sup.reloadFailures },
    events,
    process: { rssBytes: o.rssBytes },
  };
}
