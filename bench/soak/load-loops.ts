// The soak's traffic: every kind of connection zproxy handles, each at a
// bounded rate, repeated until the deadline. Each loop reuses the load
// harness's generator (wrk, h2load, ws-load) and runs it in short chunks, so
// a stop takes effect within one chunk and each chunk's own numbers add up.
//
// Rates (upper bounds; wrk's delay() hook spaces requests per connection):
//   wrk keep-alive GET /small: 8 connections × one request per 4 ms  <= 2,000 req/s
//   wrk new connection per request: 4 connections × one per 40 ms     <=   100 conn/s
//   h2load over TLS: 4 connections × 10 streams for 3 s, every 15 s (new TLS sessions each burst)
//   ws-load: 20 WebSocket connections echoing for 3 s, every 8 s (opened, used, cut)
//   raw TCP through the stream listener: 4 loops × one connection per 50 ms <= 80 conn/s
// New connections stay near 200/s so TIME_WAIT sockets (60 s each on Linux)
// stay far below the 28k ephemeral ports of 127.0.0.1.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOOPBACK } from '../load/free-port.js';
import { H2LOAD_WARMUP_S, runH2load } from '../load/h2load.js';
import { runToEnd } from '../load/process-group.js';
import { runWrk, wrkErrorTotal } from '../load/wrk.js';
import type { WsLoadReport } from '../load/ws-load.js';

export interface LoopTotals {
  runs: number;
  requests: number;
  errors: number;
  /** The first few failure lines, for the report. */
  failures: string[];
}

export function emptyTotals(): LoopTotals {
  return { runs: 0, requests: 0, errors: 0, failures: [] };
}

/** Adds `count` errors and keeps the line that describes them. */
function noteFailure(totals: LoopTotals, text: string, count = 1): void {
  totals.errors += count;
  if (totals.failures.length < 5) totals.failures.push(text.replace(/\s+/g, ' ').slice(0, 300));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whole seconds left before the deadline, capped at chunkS; 0 when none is left. */
function chunkSeconds(deadline: number, chunkS: number): number {
  return Math.min(chunkS, Math.floor((deadline - Date.now()) / 1000));
}

/** Lua for wrk: one request per connection every delayMs, optionally with Connection: close. */
export function pacedLua(delayMs: number, close: boolean): string {
  return [
    close ? 'wrk.headers["Connection"] = "close"' : '',
    `function delay() return ${delayMs} end`,
    '',
  ].join('\n');
}

export interface WrkLoop {
  name: string;
  port: number;
  path: string;
  connections: number;
  delayMs: number;
  close: boolean;
  tempDir: string;
}

export async function wrkLoop(spec: WrkLoop, deadline: number, totals: LoopTotals): Promise<void> {
  const script = join(spec.tempDir, `${spec.name}.lua`);
  writeFileSync(script, pacedLua(spec.delayMs, spec.close));
  for (let s = chunkSeconds(deadline, 30); s >= 1; s = chunkSeconds(deadline, 30)) {
    try {
      const r = await runWrk({ url: `http://${LOOPBACK}:${spec.port}${spec.path}`, durationS: s, connections: spec.connections, cpus: null, script });
      totals.runs++;
      totals.requests += r.requests;
      const errors = wrkErrorTotal(r.errors);
      if (errors > 0) {
        noteFailure(totals, `${spec.name}: ${JSON.stringify(r.errors)}`, errors);
      }
    } catch (err) {
      noteFailure(totals, `${spec.name}: ${(err as Error).message}`);
      await sleep(1000);
    }
  }
}

export async function h2loadLoop(port: number, tempDir: string, deadline: number, totals: LoopTotals): Promise<void> {
  const burstS = 3;
  const everyMs = 15_000;
  while (Date.now() + (burstS + H2LOAD_WARMUP_S) * 1000 < deadline) {
    const started = Date.now();
    try {
      const r = await runH2load({ url: `https://${LOOPBACK}:${port}/small`, durationS: burstS, warmupS: H2LOAD_WARMUP_S, connections: 4, streams: 10, cpus: null, tempDir });
      totals.runs++;
      totals.requests += r.requests;
      const bad = r.failed + r.status.s4xx + r.status.s5xx;
      if (bad > 0) {
        noteFailure(totals, `h2load: failed ${r.failed}, errored ${r.errored}, timeout ${r.timeout}, 4xx ${r.status.s4xx}, 5xx ${r.status.s5xx}`, bad);
      }
    } catch (err) {
      noteFailure(totals, `h2load: ${(err as Error).message}`);
    }
    await sleep(Math.max(0, Math.min(everyMs - (Date.now() - started), deadline - Date.now())));
  }
}

export async function wsLoop(port: number, path: string, loadScriptDir: string, deadline: number, totals: LoopTotals): Promise<void> {
  const burstS = 3;
  const everyMs = 8000;
  while (Date.now() + burstS * 1000 < deadline) {
    const started = Date.now();
    const args = [join(loadScriptDir, 'ws-load.js'), '--url', `ws://${LOOPBACK}:${port}${path}`, '--connections', '20', '--duration', String(burstS), '--size', '100'];
    const done = await runToEnd({ name: 'ws-load', command: process.execPath, args, cpus: null }, (burstS + 20) * 1000);
    try {
      const report = JSON.parse(done.stdout) as WsLoadReport;
      totals.runs++;
      totals.requests += report.messages;
      const bad = report.errors + report.failedConnections + (report.messages === 0 ? 1 : 0);
      if (bad > 0) {
        noteFailure(totals, `ws-load: ${report.messages} messages, ${report.errors} errors, ${report.failedConnections} connections failed to open`, bad);
      }
    } catch {
      noteFailure(totals, `ws-load printed no report (exit ${done.exit}): ${done.outputTail.slice(-200)}`);
    }
    await sleep(Math.max(0, Math.min(everyMs - (Date.now() - started), deadline - Date.now())));
  }
}
