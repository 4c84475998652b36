// `npm run bench:soak [-- --duration=600 --write-docs]`: zproxy under mixed,
// bounded load for a long while, sampled every few seconds, then judged flat
// or leaking (bench/soak/soak-verdict.ts). Progress goes to stderr, the
// markdown report to stdout; the JSON record to bench/results/ (gitignored).
// Everything listens on and connects to 127.0.0.1 only.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolVersion } from '../load/binaries.js';
import { freePort } from '../load/free-port.js';
import { killAllNow, spawnTracked, stopAll, stopProcess } from '../load/process-group.js';
import { waitUntilServing } from '../load/readiness.js';
import { replaceMarkedSection } from '../load/report.js';
import { makeSelfSignedCert } from '../load/tls-cert.js';
import { startHttpOrigin, startNodeOrigin } from '../load/upstream.js';
import { emptyTotals, h2loadLoop, wrkLoop, wsLoop, type LoopTotals } from './load-loops.js';
import { WS_PATH, soakConfig } from './soak-config.js';
import { SOAK_BEGIN, SOAK_END, renderSoak, type SoakRecord } from './soak-report.js';
import { takeSample, type SoakPhase, type SoakSample } from './soak-sample.js';
import { judge } from './soak-verdict.js';
import { startEchoOrigin, tcpChurn, type ChurnCounts } from './tcp-echo.js';

interface Options {
  durationS: number;
  sampleEveryS: number;
  workers: number;
  writeDocs: boolean;
  writeJson: boolean;
}

const USAGE = `usage: node dist/bench/soak/run.js [options]
  --duration S        seconds of load (default 600)
  --sample-every S    seconds between samples (default 10)
  --workers N         zproxy worker threads (default 2)
  --write-docs        put the report in docs/PERFORMANCE.md (soak markers; the section is added if missing)
  --no-json           do not write bench/results/soak-<date>.json
`;

class OptionError extends Error {
  readonly code = 'SOAK_BAD_OPTION';
}

export function parseSoakOptions(argv: readonly string[]): Options {
  const o: Options = { durationS: 600, sampleEveryS: 10, workers: 2, writeDocs: false, writeJson: true };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): number => {
      const text = inline ?? argv[++i];
      const n = Number(text);
      if (text === undefined || !Number.isFinite(n) || n <= 0) throw new OptionError(`${flag} wants a positive number, got "${text}"`);
      return n;
    };
    switch (flag) {
      case '--duration': o.durationS = value(); break;
      case '--sample-every': o.sampleEveryS = value(); break;
      case '--workers': o.workers = Math.round(value()); break;
      case '--write-docs': o.writeDocs = true; break;
      case '--no-json': o.writeJson = false; break;
      case '--help': case '-h': process.stdout.write(USAGE); process.exit(0);
      default: throw new OptionError(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return o;
}

/** After the load: how long the proxy may take to close what the load left (client idle timeouts are longer; every client closed its side). */
const SETTLE_LIMIT_MS = 60_000;

function gitCommit(repoRoot: string): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  if (head.status !== 0) return 'none';
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' (+ uncommitted changes)'}`;
}

function writeDocs(markdown: string, repoRoot: string): void {
  const docPath = join(repoRoot, 'docs', 'PERFORMANCE.md');
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Performance\n';
  if (!doc.includes(SOAK_BEGIN)) doc = `${doc.trimEnd()}\n\n${SOAK_BEGIN}\n${SOAK_END}\n`;
  writeFileSync(docPath, replaceMarkedSection(doc, markdown, SOAK_BEGIN, SOAK_END));
  process.stderr.write('wrote the soak section of docs/PERFORMANCE.md\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseSoakOptions(argv);
  const scriptDir = dirname(fileURLToPath(import.meta.url));
  const loadScriptDir = join(scriptDir, '..', 'load');
  const repoRoot = resolve(scriptDir, '..', '..', '..');
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const tempDir = mkdtempSync(join(tmpdir(), 'zproxy-soak-'));
  process.on('exit', () => {
    killAllNow();
    rmSync(tempDir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`\n${signal}: stopping every started process`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  const tls = makeSelfSignedCert(tempDir);
  const upstreamCtx = { tempDir, cpus: null, scriptDir: loadScriptDir };
  const httpOrigin = await startHttpOrigin(upstreamCtx);
  const wsOrigin = await startNodeOrigin(upstreamCtx, true);
  const echo = await startEchoOrigin();
  const ports = {
    http: await freePort(), https: await freePort(), tcp: await freePort(), admin: await freePort(),
    httpOrigin: httpOrigin.port, wsOrigin: wsOrigin.port, echoOrigin: echo.port,
  };
  const configPath = join(tempDir, 'zproxy.json');
  writeFileSync(configPath, `${JSON.stringify(soakConfig(ports, tls, options.workers), null, 2)}\n`);
  const zproxy = spawnTracked({ name: 'zproxy', command: process.execPath, args: [join(repoRoot, 'bin', 'zproxy.js'), 'start', '-c', configPath], cpus: null, cwd: repoRoot });
  const samples: SoakSample[] = [];
  const loops: Record<string, LoopTotals> = {
    'wrk keep-alive GET /small (8 connections, <= 2,000 req/s)': emptyTotals(),
    'wrk new connection per request (4 connections, <= 100 conn/s)': emptyTotals(),
    'h2load bursts over TLS (4 connections × 10 streams, 3 s every 15 s)': emptyTotals(),
    'ws-load bursts (20 WebSocket connections, 3 s every 8 s)': emptyTotals(),
  };
  const [keepAlive, newConn, h2, ws] = Object.values(loops) as [LoopTotals, LoopTotals, LoopTotals, LoopTotals];
  const tcp: ChurnCounts = { completed: 0, errors: 0, mismatches: 0 };
  let settledAfterS = Number.NaN;
  try {
    await waitUntilServing(zproxy, { port: ports.http, path: '/small', h2: false, expectBytes: 100 }, 15_000);
    await waitUntilServing(zproxy, { port: ports.https, path: '/small', h2: true, expectBytes: 100 }, 15_000);
    log(`zproxy pid ${zproxy.pid} serving: http ${ports.http}, https+h2 ${ports.https}, tcp ${ports.tcp}, admin ${ports.admin}`);
    // Let start-up work (JIT of the probe path, worker warm-up) finish before the baseline.
    await new Promise((r) => setTimeout(r, 2000));
    const sample = async (tS: number, phase: SoakPhase): Promise<SoakSample> => {
      const s = await takeSample(zproxy.pid, ports.admin, tS, phase);
      samples.push(s);
      log(`  t=${tS.toFixed(0)}s ${phase}: RSS ${(s.rssBytes / 1048576).toFixed(1)} MB, heap ${(s.workerHeapUsedBytes / 1048576).toFixed(1)} MB, external ${(s.workerExternalBytes / 1048576).toFixed(1)} MB, fds ${s.fds} (sockets ${s.fdKinds.socket}), conns ${s.connections}, streams ${s.streams}, h2 ${s.h2Sessions}, upstream ${s.upstreamActive}/${s.upstreamIdle}, requests ${s.requests}`);
      return s;
    };
    await sample(0, 'baseline');

    const start = Date.now();
    const deadline = start + options.durationS * 1000;
    log(`load for ${options.durationS} s`);
    const traffic = Promise.all([
      wrkLoop({ name: 'keep-alive', port: ports.http, path: '/small', connections: 8, delayMs: 4, close: false, tempDir }, deadline, keepAlive),
      wrkLoop({ name: 'new-connection', port: ports.http, path: '/small', connections: 4, delayMs: 40, close: true, tempDir }, deadline, newConn),
      h2loadLoop(ports.https, tempDir, deadline, h2),
      wsLoop(ports.http, WS_PATH, loadScriptDir, deadline, ws),
      tcpChurn(ports.tcp, deadline, 4, 50, tcp),
    ]);
    const elapsedS = (): number => (Date.now() - start) / 1000;
    for (let next = options.sampleEveryS; next <= options.durationS; next += options.sampleEveryS) {
      await new Promise((r) => setTimeout(r, Math.max(0, start + next * 1000 - Date.now())));
      await sample(elapsedS(), 'load');
    }
    await traffic;
    const loadEnd = Date.now();
    log('load stopped; waiting for the proxy to settle');

    // Settled: nothing open from the clients, and fds back near the baseline (pooled idle upstream connections aside).
    const baseline = samples[0]!;
    let last: SoakSample;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      last = await takeSample(zproxy.pid, ports.admin, elapsedS(), 'after');
      const quiet = last.connections === 0 && last.streams === 0 && last.h2Sessions === 0 && last.upstreamActive === 0;
      const fdsBack = last.fds - last.upstreamIdle <= baseline.fds - baseline.upstreamIdle + 1;
      if ((quiet && fdsBack) || Date.now() - loadEnd > SETTLE_LIMIT_MS) break;
    }
    settledAfterS = (Date.now() - loadEnd) / 1000;
    // One more second, then the sample the verdict reads.
    await new Promise((r) => setTimeout(r, 1000));
    await sample(elapsedS(), 'after');
  } finally {
    await stopProcess(zproxy);
    await echo.close();
    await stopAll();
  }

  const record: SoakRecord = {
    date: new Date().toISOString(),
    commit: gitCommit(repoRoot),
    node: process.version,
    nproc: availableParallelism(),
    command: ['npm run bench:soak --', ...argv].join(' '),
    durationS: options.durationS,
    sampleEveryS: options.sampleEveryS,
    workers: options.workers,
    settledAfterS,
    tools: {
      wrk: toolVersion('wrk', ['-v'], /wrk (\S+)/) ?? '?',
      h2load: toolVersion('h2load', ['--version'], /nghttp2\/(\S+)/) ?? '?',
      nginx: toolVersion('nginx', ['-v'], /nginx\/(\S+)/) ?? '?',
    },
    loops,
    tcp,
    samples,
    verdict: judge(samples),
  };
  const markdown = renderSoak(record);
  process.stdout.write(markdown);
  if (options.writeJson) {
    const dir = join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `soak-${record.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
    log(`wrote ${relative(repoRoot, path)}`);
  }
  if (options.writeDocs) writeDocs(markdown, repoRoot);
  if (record.verdict.leak) process.exitCode = 3;
}

try {
  await main();
} catch (err) {
  const code = (err as { code?: string }).code;
  process.stderr.write(`bench:soak failed${code === undefined ? '' : ` [${code}]`}: ${(err as Error).message}\n`);
  await stopAll();
  process.exitCode = 1;
}
