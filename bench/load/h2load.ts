// Running h2load (nghttp2) for the HTTP/2-over-TLS scenario. h2load prints
// only min/max/mean/sd of request time, so p50/p99 come from its per-request
// --log-file (start µs, status, duration µs; tab-separated).

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from './process-group.js';

export interface H2loadResult {
  requests: number;
  durationS: number;
  requestsPerS: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status: { s2xx: number; s3xx: number; s4xx: number; s5xx: number };
  p50Us: number;
  p99Us: number;
}

export class H2loadOutputError extends Error {
  readonly code = 'LOAD_H2LOAD_OUTPUT_UNPARSED';
  constructor(readonly what: string, readonly output: string) {
    super(`h2load output has no ${what}: ${output.trim().slice(-300)}`);
  }
}

const TIME_UNITS_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6 };

export function parseH2loadTimeUs(token: string): number {
  const match = /^([0-9.]+)(us|ms|s)$/.exec(token);
  return match === null ? Number.NaN : Number(match[1]) * TIME_UNITS_US[match[2]];
}

function need(text: string, re: RegExp, what: string): RegExpExecArray {
  const match = re.exec(text);
  if (match === null) throw new H2loadOutputError(what, text);
  return match;
}

/** Parses h2load's summary; p50Us/p99Us are NaN until filled from the log file. */
export function parseH2loadOutput(text: string): H2loadResult {
  const finished = need(text, /^finished in (\S+), ([0-9.]+) req\/s/m, 'finished line');
  const req = need(
    text,
    /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m,
    'requests line',
  );
  const codes = need(text, /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m, 'status codes line');
  return {
    requests: Number(req[3]),
    durationS: parseH2loadTimeUs(finished[1]) / 1e6,
    requestsPerS: Number(finished[2]),
    succeeded: Number(req[4]),
    failed: Number(req[5]),
    errored: Number(req[6]),
    timeout: Number(req[7]),
    status: { s2xx: Number(codes[1]), s3xx: Number(codes[2]), s4xx: Number(codes[3]), s5xx: Number(codes[4]) },
    p50Us: Number.NaN,
    p99Us: Number.NaN,
  };
}

/** Nearest-rank percentile over a sorted array (the definition wrk uses too). */
export function percentile(sorted: Float64Array, pct: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((pct / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Request durations (µs) from an h2load --log-file, sorted ascending. */
export function durationsFromLog(text: string): Float64Array {
  const values: number[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const lastTab = text.lastIndexOf('\t', end);
    if (lastTab > start) values.push(Number(text.slice(lastTab + 1, end)));
    start = end + 1;
  }
  return Float64Array.from(values).sort();
}

// h2load 1.52 with -D and no warm-up hangs after "Stopped all clients" when
// a client is still in its TLS handshake as the duration ends (seen with
// cold Node peers on this machine, 2 of 6 runs; 0 of 4 with a 1 s warm-up).
// Requests in the warm-up are not counted by h2load.
export const H2LOAD_WARMUP_S = 1;

export interface H2loadRun {
  url: string;
  durationS: number;
  /** Not measured; lets every TLS handshake finish (see H2LOAD_WARMUP_S). */
  warmupS: number;
  connections: number;
  streams: number;
  cpus: string | null;
  tempDir: string;
}

export function h2loadArgs(run: H2loadRun, logFile: string): string[] {
  return [
    '-t1', `-c${run.connections}`, `-m${run.streams}`, `--warm-up-time=${run.warmupS}`, `-D${run.durationS}`, `--log-file=${logFile}`, run.url,
  ];
}

export async function runH2load(run: H2loadRun): Promise<H2loadResult> {
  const logFile = join(run.tempDir, 'h2load.log');
  rmSync(logFile, { force: true });
  const done = await runToEnd({ name: 'h2load', command: 'h2load', args: h2loadArgs(run, logFile), cpus: run.cpus }, (run.warmupS + run.durationS + 15) * 1000);
  let result: H2loadResult;
  try {
    result = parseH2loadOutput(done.stdout + done.outputTail);
  } catch (err) {
    const hung = done.exit === 'SIGTERM' || done.exit === 'SIGKILL' ? ' (killed: it did not stop after its duration)' : '';
    throw new H2loadOutputError(`summary (exit ${done.exit}${hung})`, done.stdout + done.outputTail);
  }
  let durations: Float64Array = new Float64Array(0);
  try {
    durations = durationsFromLog(readFileSync(logFile, 'latin1'));
  } finally {
    rmSync(logFile, { force: true });
  }
  result.p50Us = percentile(durations, 50);
  result.p99Us = percentile(durations, 99);
  return result;
}
