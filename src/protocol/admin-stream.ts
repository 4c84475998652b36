/**
 * The admin listener's live stats stream (GET /stream, a WebSocket): one
 * JSON LiveSnapshot per message, about once a second. Counters are totals
 * since start (the reader derives rates from two snapshots); latency
 * histograms are per-bucket counts over `latencyBoundsSeconds` plus one
 * +Inf bucket. Absent values are null (JSON has no undefined).
 * Written by actors/metrics/live-snapshot.ts, read by `zproxy top`.
 */

export const LIVE_SNAPSHOT_VERSION = 1;

export interface LiveTotals {
  readonly requests: number;
  readonly clientErrors: number;
  readonly serverErrors: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connectionsTotal: number;
  readonly connectionsActive: number;
  readonly latency: readonly number[];
}

export interface LiveWorker {
  readonly workerId: number;
  readonly state: string;
  readonly tid: number | null;
  /** Core the worker is pinned to; null when unpinned. */
  readonly cpu: number | null;
  readonly numaNode: number;
  readonly restarts: number;
  readonly connections: number;
  readonly requests: number;
  readonly serverErrors: number;
  readonly latency: readonly number[];
  readonly heartbeatAgeMs: number;
  readonly loopDelayP99Ms: number | null;
  readonly loopUtilization: number | null;
  /** Fraction of one core over the last second; null where process.threadCpuUsage is missing (Node < 23.9). */
  readonly cpuUtilization: number | null;
  readonly mailboxDepth: number | null;
  /** Used share of the worker's access-log ring; null when access logging is off. */
  readonly ringFill: number | null;
}

export interface LiveRoute {
  readonly name: string;
  readonly upstream: string | null;
  readonly requests: number;
  readonly clientErrors: number;
  readonly serverErrors: number;
  readonly latency: readonly number[];
}

export interface LiveUpstreamHost {
  readonly address: string;
  readonly healthy: boolean;
  readonly down: boolean;
  readonly ejected: boolean;
  readonly active: number;
  readonly lastProbe: string | null;
}

export interface LiveUpstream {
  readonly name: string;
  readonly requests: number;
  readonly reused: number;
  readonly connectFailures: number;
  readonly latency: readonly number[];
  readonly hosts: readonly LiveUpstreamHost[];
}

export interface LiveEvent {
  readonly atMs: number;
  readonly kind: string;
  readonly text: string;
}

export interface LiveSnapshot {
  readonly v: typeof LIVE_SNAPSHOT_VERSION;
  /** Wall-clock time the snapshot was taken. */
  readonly atMs: number;
  readonly uptimeMs: number;
  readonly generation: number;
  readonly acceptor: string;
  readonly latencyBoundsSeconds: readonly number[];
  readonly totals: LiveTotals;
  readonly workers: readonly LiveWorker[];
  readonly routes: readonly LiveRoute[];
  readonly upstreams: readonly LiveUpstream[];
  readonly supervisor: { readonly restarts: number; readonly crashes: number; readonly hangs: number; readonly reloads: number; readonly reloadFailures: number };
  /** Latest supervisor and health events, oldest first. */
  readonly events: readonly LiveEvent[];
  readonly process: { readonly rssBytes: number };
}
