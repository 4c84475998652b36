// What a run produces: per round measurements, per subject summaries
// (median and min-max across rounds), and the record written as JSON.

import type { LoadResult } from './load-generator.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface RoundMeasure extends LoadResult {
  /** utime+stime of the proxy's process tree over the load window, µs. */
  cpuUs: number;
  cpuUsPerRequest: number;
  rssPeakBytes: number;
}

export interface SubjectSummary {
  requestsPerS: Spread;
  p50Us: Spread;
  p99Us: Spread;
  cpuUsPerRequest: Spread;
  /** Highest RSS seen in any measured round, MiB. */
  rssPeakMb: number;
  /** Errors summed over the measured rounds. */
  errors: number;
  requests: number;
}

export interface SubjectOutcome {
  name: string;
  label: string;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  rounds: RoundMeasure[];
  summary?: SubjectSummary;
}

export interface ScenarioOutcome {
  name: string;
  title: string;
  /** What served the bytes behind the proxies. */
  upstream: string;
  subjects: SubjectOutcome[];
}

export interface RunRecord {
  date: string;
  commit: string;
  node: string;
  nproc: number;
  command: string;
  pinning: string;
  settings: { rounds: number; durationS: number; warmupS: number; connections: number; h2Streams: number };
  tools: Record<string, string>;
  elapsedS: number;
  note: string;
  scenarios: ScenarioOutcome[];
}

/** Median (mean of the middle two for an even count), min and max. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export function summarize(rounds: readonly RoundMeasure[]): SubjectSummary {
  return {
    requestsPerS: spread(rounds.map((r) => r.requestsPerS)),
    p50Us: spread(rounds.map((r) => r.p50Us)),
    p99Us: spread(rounds.map((r) => r.p99Us)),
    cpuUsPerRequest: spread(rounds.map((r) => r.cpuUsPerRequest)),
    rssPeakMb: Math.max(...rounds.map((r) => r.rssPeakBytes)) / (1024 * 1024),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
  };
}
