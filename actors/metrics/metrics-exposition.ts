/**
 * GET /metrics: one Observation written as Prometheus text. Worker series
 * (requests, latency, bytes, connections, vitals, pools) come summed from
 * shared memory; per-worker, per-actor, ring, upstream-host, supervisor and
 * process series are written here from the pool stats and shared state.
 */
import { familyByName, MAIN_FAMILIES as M, WORKER_FAMILIES as W, labelValue, type Family } from './metric-families.js';
import { sumOf, upstreamKey, type Observation } from './observation.js';
import { PrometheusText } from './prometheus-text.js';

function fallbackFamily(name: string, kind: Family['type']): Family {
  return { name, type: kind, help: `${name} (recorded by a worker)` };
}

export function writeExposition(o: Observation): string {
  const out = new PrometheusText();
  // Families that must exist even before the first request, so dashboards and tests find them.
  for (const f of [W.requests, W.duration, W.connections, W.connectionsActive, W.received, W.sent]) out.declare(f);
  for (const s of o.samples) {
    const family = familyByName(s.name) ?? fallbackFamily(s.name, s.kind);
    if (s.kind === 'histogram') out.histogram(family, s.labels, s.bounds!, s.counts!, s.sum!);
    else out.sample(family, s.labels, s.value);
  }
  writeWorkers(out, o);
  writeRings(out, o);
  writeUpstreams(out, o);
  const sup = o.pool.supervisor;
  out.sample(M.supervisorRestarts, '', sup.restarts)
    .sample(M.supervisorCrashes, '', sup.crashes)
    .sample(M.supervisorHangs, '', sup.hangs)
    .sample(M.reloads, '', sup.reloads)
    .sample(M.reloadFailures, '', sup.reloadFailures)
    .sample(M.configGeneration, '', o.generation)
    .sample(M.rss, '', o.rssBytes)
    .sample(M.uptime, '', o.uptimeMs / 1000)
    .sample(M.droppedSeries, '', o.droppedSeries);
  return out.toString();
}

function writeWorkers(out: PrometheusText, o: Observation): void {
  for (const w of o.pool.workers) {
    const worker = `worker="${w.workerId}"`;
    const cpu = w.pinned && w.cpu !== undefined ? String(w.cpu) : 'none';
    out.sample(M.workerInfo, `${worker},state="${w.state}",cpu="${cpu}",numa_node="${w.numaNode}",tid="${w.tid ?? ''}"`, 1);
    out.sample(M.workerRestarts, worker, w.restarts);
    out.sample(M.workerOpen, worker, w.openConnections);
    out.sample(M.workerHeartbeatAge, worker, Math.max(0, w.heartbeatAgeMs) / 1000);
    const actors = w.actors;
    if (!actors) continue;
    out.sample(M.remoteBackpressure, worker, actors.remoteBackpressure);
    for (const a of actors.actors) {
      const labels = `${worker},actor="${labelValue(a.name)}"`;
      out.sample(M.mailboxDepth, labels, a.mailboxDepth);
      out.sample(M.processed, labels, a.processed);
      out.sample(M.actorRestarts, labels, a.restarts);
    }
  }
}

function writeRings(out: PrometheusText, o: Observation): void {
  for (const r of o.rings) {
    const labels = `ring="${labelValue(r.name)}"`;
    const s = r.stats;
    out.sample(M.ringUsed, labels, s.usedBytes)
      .sample(M.ringCapacity, labels, s.capacityBytes)
      .sample(M.ringFill, labels, s.capacityBytes > 0 ? s.usedBytes / s.capacityBytes : 0)
      .sample(M.ringBackpressure, labels, s.backpressure)
      .sample(M.ringDrops, labels, s.drops);
  }
}

function writeUpstreams(out: PrometheusText, o: Observation): void {
  const reports = new Map(o.health.groups.map((g) => [g.name, g]));
  for (const [name, g] of Object.entries(o.config.upstreams)) {
    const group = labelValue(name);
    const requests = sumOf(o.samples, W.upstreamRequests.name, (l) => l.upstream === name);
    const reused = sumOf(o.samples, W.upstreamReused.name, (l) => l.upstream === name);
    out.sample(M.upstreamReuseRatio, `upstream="${group}"`, requests > 0 ? reused / requests : 0);
    const report = reports.get(name);
    for (const h of g.hosts) {
      const labels = `upstream="${group}",host="${labelValue(h.address)}"`;
      const hr = report?.hosts.find((x) => x.address === h.address);
      out.sample(M.upstreamActive, labels, o.upstreamActive.get(upstreamKey(name, h.host, h.port)) ?? 0);
      out.sample(M.upstreamHealthy, labels, hr === undefined || hr.healthy ? 1 : 0);
      out.sample(M.upstreamEjected, labels, hr !== undefined && hr.ejectedForMs > 0 ? 1 : 0);
    }
  }
}
