// `npm run bench:load [-- options]`: zproxy against nginx, HAProxy and the
// Node proxies, side by side in one run. Progress goes to stderr, the
// markdown report to stdout; see bench/load/README.md for what is measured.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, toolVersion } from './binaries.js';
import { runScenario, type ScenarioSettings } from './interleave.js';
import { killAllNow, stopAll } from './process-group.js';
import { EMPTY_PERFORMANCE_DOC, chartFileName, renderReport, replaceMarkedSection, scenarioChartSvg } from './report.js';
import type { RunRecord, ScenarioOutcome } from './results.js';
import { SCENARIOS, SCENARIO_NAMES, type Scenario } from './scenarios.js';
import { MIDDLEWARE_SUBJECT_NAMES } from './middleware-subjects.js';
import { RESEARCH_SUBJECT_NAMES, SUBJECTS, SUBJECT_NAMES, type SubjectEnv } from './subjects.js';
import { makeSelfSignedCert, type TlsFiles } from './tls-cert.js';
import { startHttpOrigin, startNodeOrigin, type Upstream, type UpstreamContext } from './upstream.js';

interface Options {
  subjects: string[];
  scenarios: string[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  h2Streams: number;
  /** "PROXY:LOAD" CPU lists for taskset, or "none". */
  cpus: string;
  write: boolean;
  note: string;
  /** Re-render docs and charts from a saved results JSON instead of running. */
  renderJson: string | null;
}

const USAGE = `usage: node dist/bench/load/run.js [options]
  --subjects a,b      ${SUBJECT_NAMES.join(',')} (default: all of these);
                      research variants: ${RESEARCH_SUBJECT_NAMES.join(',')}
                      middleware variants (wrk scenarios): ${MIDDLEWARE_SUBJECT_NAMES.join(',')}
  --scenarios a,b     ${SCENARIO_NAMES.join(',')} (default: all)
  --rounds N          measured rounds per subject and scenario (default 3)
  --duration S        seconds per measured round (default 5)
  --warmup S          seconds of the uncounted warm-up round (default 2)
  --connections N     concurrent connections (default 50)
  --h2-streams N      concurrent streams per h2 connection (default 10)
  --cpus P:L          taskset CPU lists: proxy under test : load generator + upstream (default 0:1; "none" disables pinning)
  --note TEXT         a line added to the report (e.g. what else ran on the machine)
  --no-write          print only; write no JSON, SVG or docs
  --render-json FILE  run nothing: rewrite the charts and the docs section from a saved bench/results JSON
`;

class OptionError extends Error {
  readonly code = 'LOAD_BAD_OPTION';
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new OptionError(`--${name} wants a positive number, got "${text}"`);
  return value;
}

function pickList(name: string, text: string, known: readonly string[]): string[] {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = list.filter((s) => !known.includes(s));
  if (unknown.length > 0) throw new OptionError(`--${name}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return list;
}

export function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    subjects: [...SUBJECT_NAMES], scenarios: [...SCENARIO_NAMES], rounds: 3, durationS: 5, warmupS: 2,
    connections: 50, h2Streams: 10, cpus: '0:1', write: true, note: '', renderJson: null,
  };
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2) as [string, string | undefined];
    const take = (): string => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new OptionError(`${flag} wants a value`);
      return (value = argv[++i]);
    };
    switch (flag) {
      case '--subjects': options.subjects = pickList('subjects', take(), [...SUBJECT_NAMES, ...RESEARCH_SUBJECT_NAMES, ...MIDDLEWARE_SUBJECT_NAMES]); break;
      case '--scenarios': options.scenarios = pickList('scenarios', take(), SCENARIO_NAMES); break;
      case '--rounds': options.rounds = Math.round(positive('rounds', take())); break;
      case '--duration': options.durationS = positive('duration', take()); break;
      case '--warmup': options.warmupS = positive('warmup', take()); break;
      case '--connections': options.connections = Math.round(positive('connections', take())); break;
      case '--h2-streams': options.h2Streams = Math.round(positive('h2-streams', take())); break;
      case '--cpus': options.cpus = take(); break;
      case '--note': options.note = take(); break;
      case '--no-write': options.write = false; break;
      case '--render-json': options.renderJson = take(); break;
      case '--help': case '-h': process.stdout.write(USAGE); process.exit(0);
      default: throw new OptionError(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return options;
}

interface Pinning {
  proxy: string | null;
  load: string | null;
  description: string;
}

function choosePinning(cpus: string, nproc: number): Pinning {
  if (cpus === 'none') return { proxy: null, load: null, description: 'none (--cpus none)' };
  const [proxy, load] = cpus.split(':');
  if (proxy === undefined || load === undefined || proxy === '' || load === '') throw new OptionError(`--cpus wants PROXY:LOAD, e.g. 0:1; got "${cpus}"`);
  if (findBinary('taskset') === null) return { proxy: null, load: null, description: 'none (taskset not installed)' };
  if (nproc < 2) return { proxy: null, load: null, description: 'none (fewer than 2 CPUs)' };
  return { proxy, load, description: `proxy under test on CPU ${proxy}; wrk/h2load/ws-load, the upstream and this harness on CPU ${load} (taskset)` };
}

function gitCommit(repoRoot: string): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  if (head.status !== 0) return 'none (no commit yet)';
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' (+ uncommitted changes)'}`;
}

function tools(): Record<string, string> {
  const found: Record<string, string> = {};
  const add = (name: string, version: string | null): void => {
    if (version !== null) found[name] = version;
  };
  add('wrk', toolVersion('wrk', ['-v'], /wrk (\S+)/));
  add('h2load', toolVersion('h2load', ['--version'], /nghttp2\/(\S+)/));
  add('nginx', toolVersion('nginx', ['-v'], /nginx\/(\S+)/));
  add('haproxy', toolVersion('haproxy', ['-v'], /version (\S+)/));
  return found;
}

function generatorMissing(scenario: Scenario): string | null {
  if (scenario.generator === 'wrk' && findBinary('wrk') === null) return 'wrk not installed';
  if (scenario.generator === 'h2load' && findBinary('h2load') === null) return 'h2load (nghttp2-client) not installed';
  if (scenario.h2 && findBinary('openssl') === null) return 'openssl not installed (needed for the test certificate)';
  return null;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function writeResultsJson(record: RunRecord, repoRoot: string): void {
  const stamp = record.date.replace(/[:.]/g, '-');
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, `load-${stamp}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(record, null, 2)}\n`);
  process.stderr.write(`wrote ${relative(repoRoot, jsonPath)}\n`);
}

function writeDocs(record: RunRecord, repoRoot: string): void {
  const chartDir = join(repoRoot, 'docs', 'perf');
  mkdirSync(chartDir, { recursive: true });
  for (const scenario of record.scenarios) {
    if (scenario.subjects.some((s) => s.summary !== undefined)) writeFileSync(join(chartDir, chartFileName(scenario.name)), scenarioChartSvg(scenario));
  }
  const docPath = join(repoRoot, 'docs', 'PERFORMANCE.md');
  const doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : EMPTY_PERFORMANCE_DOC;
  writeFileSync(docPath, replaceMarkedSection(doc, renderReport(record, relative(dirname(docPath), chartDir))));
  process.stderr.write(`wrote ${relative(repoRoot, chartDir)}/load-*.svg and the load section of docs/PERFORMANCE.md\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  // Read before the harness pins itself: affinity narrows availableParallelism().
  const nproc = availableParallelism();
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const scriptDir = dirname(fileURLToPath(import.meta.url));
  const repoRoot = resolve(scriptDir, '..', '..', '..');
  if (options.renderJson !== null) {
    const saved = JSON.parse(readFileSync(options.renderJson, 'utf8')) as RunRecord;
    process.stdout.write(renderReport(saved, null));
    if (options.write) writeDocs(saved, repoRoot);
    return;
  }
  const pinning = choosePinning(options.cpus, nproc);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  // The harness samples /proc every 100 ms: keep it off the proxy's CPU.
  if (pinning.load !== null) spawnSync('taskset', ['-a', '-p', '-c', pinning.load, String(process.pid)], { stdio: 'ignore' });

  const tempDir = mkdtempSync(join(tmpdir(), 'zproxy-load-'));
  const cleanUp = (): void => {
    killAllNow();
    rmSync(tempDir, { recursive: true, force: true });
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`\n${signal}: stopping every started process`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  let tls: TlsFiles | null = null;
  const env: SubjectEnv = {
    tempDir, repoRoot, scriptDir, proxyCpus: pinning.proxy,
    tls: () => (tls ??= makeSelfSignedCert(tempDir)),
  };
  const upstreamCtx: UpstreamContext = { tempDir, cpus: pinning.load, scriptDir };
  const settings: ScenarioSettings = {
    rounds: options.rounds, durationS: options.durationS, warmupS: options.warmupS,
    connections: options.connections, h2Streams: options.h2Streams, loadCpus: pinning.load, log,
  };
  const subjects = SUBJECTS.filter((s) => options.subjects.includes(s.name));
  const scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s.name));

  let httpOrigin: Upstream | null = null;
  let wsOrigin: Upstream | null = null;
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const scenario of scenarios) {
      log(`scenario ${scenario.name}: ${scenario.title}`);
      const missing = generatorMissing(scenario);
      if (missing !== null) {
        log(`  skipped: ${missing}`);
        outcomes.push({
          name: scenario.name, title: scenario.title, upstream: 'not started',
          subjects: subjects.map((s) => ({ name: s.name, label: s.label, status: 'skipped', reason: missing, rounds: [] })),
        });
        continue;
      }
      const origin = scenario.ws ? (wsOrigin ??= await startNodeOrigin(upstreamCtx, true)) : (httpOrigin ??= await startHttpOrigin(upstreamCtx));
      const results = await runScenario(scenario, subjects, origin.port, env, settings);
      outcomes.push({ name: scenario.name, title: scenario.title, upstream: origin.description, subjects: results });
    }
  } finally {
    await stopAll();
  }

  const record: RunRecord = {
    date: new Date().toISOString(),
    commit: gitCommit(repoRoot),
    node: process.version,
    nproc,
    command: ['node', 'dist/bench/load/run.js', ...argv].map(shellQuote).join(' '),
    pinning: pinning.description,
    settings: { rounds: options.rounds, durationS: options.durationS, warmupS: options.warmupS, connections: options.connections, h2Streams: options.h2Streams },
    tools: tools(),
    elapsedS: (Date.now() - started) / 1000,
    note: options.note,
    scenarios: outcomes,
  };
  process.stdout.write(renderReport(record, null));
  if (options.write) {
    writeResultsJson(record, repoRoot);
    writeDocs(record, repoRoot);
  }
}

try {
  await main();
} catch (err) {
  const code = (err as { code?: string }).code;
  process.stderr.write(`bench:load failed${code === undefined ? '' : ` [${code}]`}: ${(err as Error).message}\n`);
  await stopAll();
  process.exitCode = 1;
}
