// One measured load run, whatever the generator: wrk for HTTP/1.1, h2load for
// h2, ws-load for WebSocket. All report the same LoadResult so rounds,
// subjects and scenarios aggregate the same way.

import { join } from 'node:path';
import { LOOPBACK } from './free-port.js';
import { H2LOAD_WARMUP_S, runH2load } from './h2load.js';
import { runToEnd } from './process-group.js';
import type { Scenario } from './scenarios.js';
import type { WsLoadReport } from './ws-load.js';
import { runWrk, wrkErrorTotal, writePostScript } from './wrk.js';

export interface LoadResult {
  requests: number;
  durationS: number;
  requestsPerS: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  /** Per-kind error counts as the generator names them (connect, read, non2xx3xx, ...). */
  errorDetail: Record<string, number>;
}

export interface LoadRun {
  scenario: Scenario;
  port: number;
  durationS: number;
  connections: number;
  h2Streams: number;
  cpus: string | null;
  tempDir: string;
  scriptDir: string;
  /** The subject's extra request headers, added to the scenario's (wrk only). */
  extraHeaders: readonly string[];
  /** Called when the counted window starts (CPU and RSS are read from then on). */
  onWindowStart: () => void;
}

export class LoadRunError extends Error {
  readonly code = 'LOAD_GENERATOR_FAILED';
}

async function runWrkScenario(run: LoadRun): Promise<LoadResult> {
  const { scenario } = run;
  run.onWindowStart();
  const result = await runWrk({
    url: `http://${LOOPBACK}:${run.port}${scenario.path}`,
    durationS: run.durationS,
    connections: run.connections,
    cpus: run.cpus,
    script: scenario.postBytes > 0 ? writePostScript(run.tempDir, scenario.postBytes) : undefined,
    headers: [...scenario.headers, ...run.extraHeaders],
  });
  return {
    requests: result.requests,
    durationS: result.durationS,
    requestsPerS: result.requestsPerS,
    p50Us: result.latency.p50Us,
    p99Us: result.latency.p99Us,
    errors: wrkErrorTotal(result.errors),
    errorDetail: { ...result.errors },
  };
}

async function runH2Scenario(run: LoadRun): Promise<LoadResult> {
  // h2load's warm-up is not counted in its requests, so CPU is not either.
  const windowTimer = setTimeout(run.onWindowStart, H2LOAD_WARMUP_S * 1000);
  const r = await runH2load({
    url: `https://${LOOPBACK}:${run.port}${run.scenario.path}`,
    durationS: run.durationS,
    warmupS: H2LOAD_WARMUP_S,
    connections: run.connections,
    streams: run.h2Streams,
    cpus: run.cpus,
    tempDir: run.tempDir,
  }).finally(() => clearTimeout(windowTimer));
  const notOk = r.status.s4xx + r.status.s5xx;
  return {
    requests: r.requests,
    durationS: r.durationS,
    requestsPerS: r.requestsPerS,
    p50Us: r.p50Us,
    p99Us: r.p99Us,
    // h2load's "failed" already includes "errored" and "timeout" requests.
    errors: r.failed + notOk,
    errorDetail: { failed: r.failed, errored: r.errored, timeout: r.timeout, status4xx5xx: notOk },
  };
}

async function runWsScenario(run: LoadRun): Promise<LoadResult> {
  const args = [
    join(run.scriptDir, 'ws-load.js'),
    '--url', `ws://${LOOPBACK}:${run.port}${run.scenario.path}`,
    '--connections', String(run.connections),
    '--duration', String(run.durationS),
    '--size', '100',
  ];
  run.onWindowStart();
  const done = await runToEnd({ name: 'ws-load', command: process.execPath, args, cpus: run.cpus }, (run.durationS + 20) * 1000);
  let report: WsLoadReport;
  try {
    report = JSON.parse(done.stdout) as WsLoadReport;
  } catch {
    throw new LoadRunError(`ws-load printed no report (exit ${done.exit}): ${done.outputTail.slice(-300)}`);
  }
  if (report.messages === 0) {
    throw new LoadRunError(`no WebSocket echo came back (${report.failedConnections} of ${run.connections} connections failed to open)`);
  }
  return {
    requests: report.messages,
    durationS: report.durationS,
    requestsPerS: report.messages / report.durationS,
    p50Us: report.p50Us,
    p99Us: report.p99Us,
    errors: report.errors + report.failedConnections,
    errorDetail: { message: report.errors, failedConnections: report.failedConnections },
  };
}

export function runLoad(run: LoadRun): Promise<LoadResult> {
  switch (run.scenario.generator) {
    case 'wrk':
      return runWrkScenario(run);
    case 'h2load':
      return runH2Scenario(run);
    case 'ws-load':
      return runWsScenario(run);
  }
}
