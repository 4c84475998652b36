// Running wrk and reading its report. wrk prints human units (units.c in
// wrk 4.x): times in us/ms/s/m/h (scale 1000, then 60), counts in k/M/G
// (scale 1000), bytes in K/M/G followed by "B" (scale 1024). Parsing the
// text keeps wrk's own numbers; a Lua done() hook would be exact but only one
// script is allowed per run and the POST scenario needs it.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from './process-group.js';

export interface WrkLatency {
  avgUs: number;
  stdevUs: number;
  maxUs: number;
  p50Us: number;
  p75Us: number;
  p90Us: number;
  p99Us: number;
}

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
  /** wrk counts responses outside 2xx and 3xx. */
  non2xx3xx: number;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  requestsPerS: number;
  bytesRead: number;
  transferBytesPerS: number;
  latency: WrkLatency;
  /** The per-thread Req/Sec row (avg, stdev, max); with -t1 it is the whole run's. */
  threadRequestsPerS: { avg: number; stdev: number; max: number };
  errors: WrkErrors;
}

export class WrkOutputError extends Error {
  readonly code = 'LOAD_WRK_OUTPUT_UNPARSED';
  constructor(readonly what: string, readonly output: string) {
    super(`wrk output has no ${what}: ${output.trim().slice(0, 300)}`);
  }
}

const TIME_UNITS_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };
const METRIC: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const BINARY: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

function splitNumber(token: string): [number, string] {
  const match = /^(-?[0-9.]+)([a-zA-Z%]*)$/.exec(token.trim());
  if (match === null) return [Number.NaN, ''];
  return [Number(match[1]), match[2]];
}

/** "598.85us", "1.59ms", "1.21s", "2.00m" -> microseconds. */
export function parseWrkTimeUs(token: string): number {
  const [value, unit] = splitNumber(token);
  const scale = TIME_UNITS_US[unit];
  return scale === undefined ? Number.NaN : value * scale;
}

/** "80.55k", "246.28", "1.20M" -> plain count. */
export function parseWrkMetric(token: string): number {
  const [value, unit] = splitNumber(token);
  const scale = METRIC[unit];
  return scale === undefined ? Number.NaN : value * scale;
}

/** "54.21MB", "4.64GB", "3.51KB", "512.00B" -> bytes. */
export function parseWrkBytes(token: string): number {
  const [value, unit] = splitNumber(token);
  if (!unit.endsWith('B')) return Number.NaN;
  const scale = BINARY[unit.slice(0, -1)];
  return scale === undefined ? Number.NaN : value * scale;
}

function requireMatch(text: string, re: RegExp, what: string): RegExpExecArray {
  const match = re.exec(text);
  if (match === null) throw new WrkOutputError(what, text);
  return match;
}

function optionalCount(text: string, re: RegExp): number {
  const match = re.exec(text);
  return match === null ? 0 : Number(match[1]);
}

export function parseWrkOutput(text: string): WrkResult {
  const total = requireMatch(text, /^\s*(\d+) requests in (\S+), (\S+) read\s*$/m, 'request total');
  const rate = requireMatch(text, /^Requests\/sec:\s+(\S+)\s*$/m, 'Requests/sec');
  const transfer = requireMatch(text, /^Transfer\/sec:\s+(\S+)\s*$/m, 'Transfer/sec');
  const latencyRow = requireMatch(text, /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$/m, 'Latency row');
  const rateRow = requireMatch(text, /^\s*Req\/Sec\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$/m, 'Req/Sec row');
  const p = (pct: string): number =>
    parseWrkTimeUs(requireMatch(text, new RegExp(`^\\s*${pct}%\\s+(\\S+)\\s*$`, 'm'), `${pct}% latency (run with --latency)`)[1]);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    durationS: parseWrkTimeUs(total[2]) / 1e6,
    requestsPerS: Number(rate[1]),
    bytesRead: parseWrkBytes(total[3]),
    transferBytesPerS: parseWrkBytes(transfer[1]),
    latency: {
      avgUs: parseWrkTimeUs(latencyRow[1]),
      stdevUs: parseWrkTimeUs(latencyRow[2]),
      maxUs: parseWrkTimeUs(latencyRow[3]),
      p50Us: p('50'),
      p75Us: p('75'),
      p90Us: p('90'),
      p99Us: p('99'),
    },
    threadRequestsPerS: { avg: parseWrkMetric(rateRow[1]), stdev: parseWrkMetric(rateRow[2]), max: parseWrkMetric(rateRow[3]) },
    errors: {
      connect: socket === null ? 0 : Number(socket[1]),
      read: socket === null ? 0 : Number(socket[2]),
      write: socket === null ? 0 : Number(socket[3]),
      timeout: socket === null ? 0 : Number(socket[4]),
      non2xx3xx: optionalCount(text, /Non-2xx or 3xx responses: (\d+)/),
    },
  };
}

export function wrkErrorTotal(errors: WrkErrors): number {
  return errors.connect + errors.read + errors.write + errors.timeout + errors.non2xx3xx;
}

/** Lua for wrk's POST scenario: a fixed body of sizeBytes, sent on every request. */
export function postBodyLua(sizeBytes: number): string {
  return [
    'wrk.method = "POST"',
    `wrk.body = string.rep("x", ${sizeBytes})`,
    'wrk.headers["Content-Type"] = "application/octet-stream"',
    '',
  ].join('\n');
}

export function writePostScript(dir: string, sizeBytes: number): string {
  const path = join(dir, `post-${sizeBytes}.lua`);
  writeFileSync(path, postBodyLua(sizeBytes));
  return path;
}

export interface WrkRun {
  url: string;
  durationS: number;
  connections: number;
  cpus: string | null;
  /** Lua script path (POST body). */
  script?: string;
  headers?: readonly string[];
}

export function wrkArgs(run: WrkRun): string[] {
  // One thread: the load generator gets one core, and one wrk thread drives
  // 50 connections on loopback faster than any proxy here can answer.
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationS}s`, '--latency'];
  if (run.script !== undefined) args.push('-s', run.script);
  for (const header of run.headers ?? []) args.push('-H', header);
  args.push(run.url);
  return args;
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  // wrk stops itself at -d; the extra 20 s only catches a hung process.
  const done = await runToEnd({ name: 'wrk', command: 'wrk', args: wrkArgs(run), cpus: run.cpus }, (run.durationS + 20) * 1000);
  if (done.exit !== '0') throw new WrkOutputError(`clean exit (exit ${done.exit})`, done.stdout + done.outputTail);
  return parseWrkOutput(done.stdout);
}
