/**
 * What `zproxy top` shows, derived from two consecutive LiveSnapshots of
 * the admin stream: rates are differences over the time between them, and
 * latency quantiles come from the difference of the histograms (the last
 * interval), falling back to everything since start when the interval saw
 * no request, so an idle proxy still shows what its traffic looked like.
 * Pure: no I/O, tested with snapshots alone.
 */
import type { LiveEvent, LiveSnapshot, LiveUpstreamHost, LiveWorker } from '../protocol/admin-stream.js';

export interface HeaderRow {
  readonly uptimeMs: number;
  readonly generation: number;
  readonly acceptor: string;
  readonly workers: number;
  readonly rssBytes: number;
  readonly rps: number;
  readonly errorsPerSec: number;
  readonly requests: number;
  readonly clientErrors: number;
  readonly serverErrors: number;
  readonly connections: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly restarts: number;
  readonly reloads: number;
}

export interface WorkerRow extends LiveWorker {
  readonly rps: number;
  readonly p99Ms: number | null;
}

export interface RouteRow {
  readonly name: string;
  readonly upstream: string | null;
  readonly requests: number;
  readonly rps: number;
  readonly clientErrors: number;
  readonly serverErrors: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface UpstreamRow {
  readonly name: string;
  readonly requests: number;
  readonly rps: number;
  readonly reuseRatio: number | null;
  readonly connectFailures: number;
  readonly p99Ms: number | null;
  readonly hosts: readonly LiveUpstreamHost[];
  readonly healthyHosts: number;
}

export interface TopModel {
  readonly header: HeaderRow;
  readonly workers: readonly WorkerRow[];
  readonly routes: readonly RouteRow[];
  readonly upstreams: readonly UpstreamRow[];
  readonly events: readonly LiveEvent[];
}

/**
 * The q-quantile in milliseconds of a histogram given per-bucket counts
 * (last bucket +Inf), interpolating linearly inside the bucket like
 * Prometheus' histogram_quantile; the +Inf bucket answers the highest
 * finite bound. null for an empty histogram.
 */
export function quantileMs(boundsSeconds: readonly number[], counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total <= 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && cumulative + c >= rank) {
      if (i >= boundsSeconds.length) return boundsSeconds[boundsSeconds.length - 1]! * 1000;
      const lower = i === 0 ? 0 : boundsSeconds[i - 1]!;
      const upper = boundsSeconds[i]!;
      return (lower + (upper - lower) * ((rank - cumulative) / c)) * 1000;
    }
    cumulative += c;
  }
  return boundsSeconds[boundsSeconds.length - 1]! * 1000;
}

function minus(a: readonly number[], b: readonly number[] | undefined): number[] {
  return a.map((x, i) => Math.max(0, x - (b?.[i] ?? 0)));
}

function sum(a: readonly number[]): number {
  let n = 0;
  for (const x of a) n += x;
  return n;
}

/** Latency of the interval when it had traffic, else since start. */
function windowed(cur: readonly number[], prev: readonly number[] | undefined): readonly number[] {
  if (!prev) return cur;
  const d = minus(cur, prev);
  return sum(d) > 0 ? d : cur;
}

function rate(cur: number, prev: number | undefined, seconds: number): number {
  return prev === undefined || seconds <= 0 ? 0 : Math.max(0, cur - prev) / seconds;
}

export function deriveTopModel(cur: LiveSnapshot, prev: LiveSnapshot | undefined): TopModel {
  const seconds = prev ? (cur.atMs - prev.atMs) / 1000 : 0;
  const bounds = cur.latencyBoundsSeconds;
  const totalLatency = windowed(cur.totals.latency, prev?.totals.latency);
  const header: HeaderRow = {
    uptimeMs: cur.uptimeMs,
    generation: cur.generation,
    acceptor: cur.acceptor,
    workers: cur.workers.length,
    rssBytes: cur.process.rssBytes,
    rps: rate(cur.totals.requests, prev?.totals.requests, seconds),
    errorsPerSec: rate(cur.totals.serverErrors, prev?.totals.serverErrors, seconds),
    requests: cur.totals.requests,
    clientErrors: cur.totals.clientErrors,
    serverErrors: cur.totals.serverErrors,
    connections: cur.totals.connectionsActive,
    p50Ms: quantileMs(bounds, totalLatency, 0.5),
    p99Ms: quantileMs(bounds, totalLatency, 0.99),
    restarts: cur.supervisor.restarts,
    reloads: cur.supervisor.reloads,
  };
  const prevWorkers = new Map((prev?.workers ?? []).map((w) => [w.workerId, w]));
  const workers = cur.workers.map((w): WorkerRow => {
    const p = prevWorkers.get(w.workerId);
    return { ...w, rps: rate(w.requests, p?.requests, seconds), p99Ms: quantileMs(bounds, windowed(w.latency, p?.latency), 0.99) };
  });
  const prevRoutes = new Map((prev?.routes ?? []).map((r) => [r.name, r]));
  const routes = cur.routes.map((r): RouteRow => {
    const p = prevRoutes.get(r.name);
    const lat = windowed(r.latency, p?.latency);
    return {
      name: r.name, upstream: r.upstream, requests: r.requests, rps: rate(r.requests, p?.requests, seconds),
      clientErrors: r.clientErrors, serverErrors: r.serverErrors, p50Ms: quantileMs(bounds, lat, 0.5), p99Ms: quantileMs(bounds, lat, 0.99),
    };
  });
  const prevUpstreams = new Map((prev?.upstreams ?? []).map((u) => [u.name, u]));
  const upstreams = cur.upstreams.map((u): UpstreamRow => {
    const p = prevUpstreams.get(u.name);
    return {
      name: u.name, requests: u.requests, rps: rate(u.requests, p?.requests, seconds),
      reuseRatio: u.requests > 0 ? u.reused / u.requests : null, connectFailures: u.connectFailures,
      p99Ms: quantileMs(bounds, windowed(u.latency, p?.latency), 0.99), hosts: u.hosts, healthyHosts: u.hosts.filter((h) => h.healthy).length,
    };
  });
  return { header, workers, routes, upstreams, events: cur.events };
}
