/**
 * `zproxy top`: a live view of the workers (like htop) from the admin
 * listener's /stats, refreshed every second; `--once` (or stdout not a TTY)
 * prints one plain snapshot for scripts. Keys: q quit, s cycle sort column.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH } from '../config/default-config.js';
import { loadConfigFile } from '../config/load-config.js';

export const TOP_USAGE = `Usage: zproxy top [-c FILE] [--admin URL] [--once]

Live view of a running zproxy: workers (CPU pin, connections, restarts,
heartbeat), upstream pools and supervisor events, refreshed every second.
Keys: q quit, s change sort. With --once, or when stdout is not a terminal,
prints one plain snapshot and exits.

Options:
  -c, --config FILE   config of the running zproxy, to find its admin listener
                      (default: ${DEFAULT_CONFIG_PATH})
      --admin URL     admin endpoint instead, e.g. http://127.0.0.1:9901
      --token TOKEN   admin bearer token (default: $ZPROXY_ADMIN_TOKEN or the config's)
      --once          print one snapshot and exit
  -h, --help          show this help
`;

interface WorkerRow { workerId: number; tid?: number; cpu?: number; numaNode: number; pinned: boolean; state: string; restarts: number; heartbeatAgeMs: number; openConnections: number; app?: { requestsTotal?: number; connections?: number } }
interface StatsShape { generation?: number; pool?: { acceptor: string; workers: WorkerRow[]; supervisor: { restarts: number; reloads: number; events: Array<{ kind: string; message?: string; at?: number }> } } }

function fetchStats(url: URL, token: string | undefined): Promise<StatsShape> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/stats', url), { headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`admin answered HTTP ${res.statusCode}`));
        try { resolve(JSON.parse(body) as StatsShape); } catch (e) { reject(e as Error); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

const SORTS = ['worker', 'connections', 'requests', 'restarts'] as const;

export function renderTop(s: StatsShape, prev: StatsShape | undefined, intervalMs: number, sort: (typeof SORTS)[number], color: boolean): string {
  const pool = s.pool;
  if (!pool) return 'no stats\n';
  const bold = (t: string): string => (color ? `\x1b[1m${t}\x1b[0m` : t);
  const prevReq = new Map((prev?.pool?.workers ?? []).map((w) => [w.workerId, w.app?.requestsTotal ?? 0]));
  const rows = pool.workers.map((w) => {
    const req = w.app?.requestsTotal ?? 0;
    const rps = prev ? Math.max(0, (req - (prevReq.get(w.workerId) ?? req)) * 1000 / intervalMs) : 0;
    return { w, req, rps };
  });
  if (sort === 'connections') rows.sort((a, b) => b.w.openConnections - a.w.openConnections);
  else if (sort === 'requests') rows.sort((a, b) => b.rps - a.rps);
  else if (sort === 'restarts') rows.sort((a, b) => b.w.restarts - a.w.restarts);
  const totalRps = rows.reduce((a, r) => a + r.rps, 0);
  const lines: string[] = [];
  lines.push(bold(`zproxy top  config gen ${s.generation ?? '-'}  acceptor ${pool.acceptor}  workers ${pool.workers.length}  rps ${totalRps.toFixed(0)}  restarts ${pool.supervisor.restarts}  reloads ${pool.supervisor.reloads}`));
  lines.push('');
  lines.push(bold('WORKER  TID      CPU NODE STATE        CONNS   REQUESTS     RPS  RESTARTS  BEAT(ms)'));
  for (const { w, req, rps } of rows) {
    lines.push(`${String(w.workerId).padStart(6)}  ${String(w.tid ?? '-').padEnd(7)}  ${(w.pinned ? String(w.cpu) : '-').padStart(3)} ${String(w.numaNode).padStart(4)} ${w.state.padEnd(11)} ${String(w.openConnections).padStart(6)} ${String(req).padStart(10)} ${rps.toFixed(0).padStart(7)} ${String(w.restarts).padStart(9)} ${String(Math.round(w.heartbeatAgeMs)).padStart(9)}`);
  }
  lines.push('');
  lines.push(bold('LATEST SUPERVISOR EVENTS'));
  for (const e of pool.supervisor.events.slice(-6)) lines.push(`  ${e.kind}${e.message ? `: ${e.message}` : ''}`.slice(0, 79));
  return lines.join('\n') + '\n';
}

export async function runTop(argv: string[]): Promise<number> {
  let values: { config?: string; admin?: string; token?: string; once?: boolean; help?: boolean };
  try {
    values = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, admin: { type: 'string' }, token: { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`zproxy: ${(err as Error).message}\n\n${TOP_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(TOP_USAGE);
    return 0;
  }
  let url: URL;
  let token = values.token ?? process.env.ZPROXY_ADMIN_TOKEN;
  if (values.admin) url = new URL(values.admin);
  else {
    const config = loadConfigFile(values.config ?? DEFAULT_CONFIG_PATH);
    url = new URL(`http://${config.admin.address === '0.0.0.0' ? '127.0.0.1' : config.admin.address}:${config.admin.port}`);
    token ??= config.admin.token;
  }
  const interactive = !values.once && process.stdout.isTTY === true;
  const intervalMs = 1000;
  if (!interactive) {
    try {
      const first = await fetchStats(url, token);
      await new Promise((r) => setTimeout(r, intervalMs));
      const second = await fetchStats(url, token);
      process.stdout.write(renderTop(second, first, intervalMs, 'worker', false));
      return 0;
    } catch (err) {
      process.stderr.write(`zproxy: cannot read stats from ${url.origin}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  let sort: (typeof SORTS)[number] = 'worker';
  let prev: StatsShape | undefined;
  let running = true;
  const stdin = process.stdin;
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.resume();
  stdin.on('data', (d: Buffer) => {
    const k = d.toString();
    if (k === 'q' || k === '\u0003') running = false;
    if (k === 's') sort = SORTS[(SORTS.indexOf(sort) + 1) % SORTS.length]!;
  });
  const color = process.stdout.hasColors?.() ?? false;
  process.stdout.write('\x1b[?25l');
  while (running) {
    try {
      const s = await fetchStats(url, token);
      process.stdout.write('\x1b[H\x1b[2J' + renderTop(s, prev, intervalMs, sort, color) + `\n[q] quit  [s] sort: ${sort}\n`);
      prev = s;
    } catch (err) {
      process.stdout.write(`\x1b[H\x1b[2Jcannot read stats from ${url.origin}: ${(err as Error).message}\n[q] quit\n`);
    }
    for (let i = 0; i < 10 && running; i++) await new Promise((r) => setTimeout(r, intervalMs / 10));
  }
  process.stdout.write('\x1b[?25h\n');
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  return 0;
}
