/**
 * `npm run bench:micro`: every micro-benchmark of the hot pieces, one table,
 * written between the micro markers of docs/PERFORMANCE.md (with --write).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { runHttp1CodecBench } from './http1-codec.bench.js';
import { runRouterBench } from './router.bench.js';
import { runKernelTransportBench } from './kernel-transport.bench.js';
import { runAccessLogBench } from './access-log.bench.js';
import { runActorSystemBench } from './actor-system.bench.js';
import { runMetricsBench } from './metrics.bench.js';
import { runMiddlewareBench } from './middleware.bench.js';

interface Row { group: string; name: string; opsPerSec: number; nsPerOp?: number; p50Us?: number; p99Us?: number }

const BEGIN = '<!-- micro:begin -->';
const END = '<!-- micro:end -->';

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

async function main(): Promise<void> {
  const write = process.argv.includes('--write');
  const rows: Row[] = [];
  for (const r of await runHttp1CodecBench()) rows.push({ group: 'http1 codec', ...r });
  for (const r of await runRouterBench()) rows.push({ group: 'router', ...r });
  for (const r of await runAccessLogBench()) rows.push({ group: 'access log', ...r });
  for (const r of await runMetricsBench()) rows.push({ group: 'metrics', ...r });
  for (const r of await runMiddlewareBench()) rows.push({ group: 'middleware', ...r });
  for (const r of await runActorSystemBench()) rows.push({ group: 'actor kernel', ...r });
  for (const r of await runKernelTransportBench()) rows.push({ group: 'kernel transport', ...r, nsPerOp: r.p50Us === undefined ? 1e9 / r.opsPerSec : undefined });
  let table = '| group | benchmark | ops/s | ns/op | p50 µs | p99 µs |\n| --- | --- | ---: | ---: | ---: | ---: |\n';
  for (const r of rows) table += `| ${r.group} | ${r.name} | ${fmt(r.opsPerSec, 0)} | ${fmt(r.nsPerOp)} | ${fmt(r.p50Us)} | ${fmt(r.p99Us)} |\n`;
  let commit = 'unknown';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
  const header = `## Micro-benchmarks\n\n- Date: ${new Date().toISOString()}; commit ${commit}; Node ${process.version}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})\n- Command: \`npm run bench:micro -- --write\` (tinybench; single runs on a shared machine vary by about ±15%)\n\n`;
  process.stdout.write(header + table);
  if (write) {
    const path = new URL('../../../docs/PERFORMANCE.md', import.meta.url);
    const doc = readFileSync(path, 'utf8');
    const section = `${BEGIN}\n${header}${table}${END}`;
    const next = doc.includes(BEGIN) ? doc.slice(0, doc.indexOf(BEGIN)) + section + doc.slice(doc.indexOf(END) + END.length) : doc.trimEnd() + '\n\n' + section + '\n';
    writeFileSync(path, next);
  }
}

await main();
