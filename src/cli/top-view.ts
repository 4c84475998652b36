/**
 * Renders `zproxy top` screens from a TopModel: pure text, no I/O. Every
 * line fits the given width (80 columns by default; ANSI colour codes are
 * not counted) and a screen never has more lines than the height, so it
 * fits an 80x24 terminal. Views: workers (with the latest events),
 * routes, upstreams, events; each has its own sort keys.
 */
import type { LiveEvent } from '../protocol/admin-stream.js';
import type { RouteRow, TopModel, UpstreamRow, WorkerRow } from './top-model.js';

export const TOP_VIEWS = ['workers', 'routes', 'upstreams', 'events'] as const;
export type TopViewName = (typeof TOP_VIEWS)[number];

export const SORT_KEYS: Readonly<Record<TopViewName, readonly string[]>> = {
  workers: ['worker', 'rps', 'p99', 'conns', 'cpu', 'restarts'],
  routes: ['name', 'rps', 'errors', 'p99'],
  upstreams: ['name', 'rps', 'p99'],
  events: ['time'],
};

export interface ViewOptions {
  readonly view: TopViewName;
  /** One of SORT_KEYS[view]. */
  readonly sort: string;
  readonly width: number;
  readonly height: number;
  readonly color: boolean;
  /** Shown instead of the tables when the stream is down. */
  readonly status?: string;
}

type Paint = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'inverse';
const SGR: Record<Paint, string> = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36', inverse: '7' };

class Painter {
  constructor(private readonly on: boolean) {}
  paint(text: string, how: Paint): string {
    return this.on ? `\x1b[${SGR[how]}m${text}\x1b[0m` : text;
  }
}

/** Cuts a line to `width` visible characters, keeping (and closing) colour codes. */
export function fitLine(line: string, width: number): string {
  let visible = 0;
  let out = '';
  let colored = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end < 0) break;
      const code = line.slice(i, end + 1);
      out += code;
      colored = code !== '\x1b[0m';
      i = end;
      continue;
    }
    if (visible >= width) break;
    out += line[i];
    visible++;
  }
  return colored ? out + '\x1b[0m' : out;
}

// ---- number formats (fixed widths, short) -------------------------------------

export function fmtRate(n: number): string {
  return n < 10 ? n.toFixed(1) : Math.round(n).toString();
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toString();
}

function fmtPct(ratio: number | null): string {
  return ratio === null ? '-' : `${Math.round(ratio * 100)}%`;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)}M`;
  return `${(n / 1024 ** 3).toFixed(2)}G`;
}

export function fmtUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return `${m}m${String(s % 60).padStart(2, '0')}s`;
}

function clock(atMs: number): string {
  return new Date(atMs).toTimeString().slice(0, 8);
}

const r = (s: string | number, w: number): string => String(s).padStart(w);
const l = (s: string | number, w: number): string => String(s).padEnd(w).slice(0, w);

// ---- sections ------------------------------------------------------------------

function headerLines(m: TopModel, p: Painter): string[] {
  const h = m.header;
  const errors = h.serverErrors > 0 ? p.paint(String(h.serverErrors), 'red') : '0';
  return [
    `${p.paint('zproxy top', 'bold')}  up ${fmtUptime(h.uptimeMs)}  gen ${h.generation}  ${h.acceptor}  ${h.workers} workers  rss ${fmtBytes(h.rssBytes)}`,
    `rps ${p.paint(fmtRate(h.rps), 'bold')}  5xx/s ${fmtRate(h.errorsPerSec)}  p50 ${fmtMs(h.p50Ms)}ms  p99 ${fmtMs(h.p99Ms)}ms  conns ${h.connections}`,
    `requests ${h.requests}  4xx ${h.clientErrors}  5xx ${errors}  restarts ${h.restarts}  reloads ${h.reloads}`,
  ];
}

function tabLine(o: ViewOptions, p: Painter): string {
  const tabs = TOP_VIEWS.map((v, i) => {
    const label = `${i + 1} ${v}`;
    return v === o.view ? p.paint(`[${label}]`, 'inverse') : ` ${label} `;
  }).join(' ');
  return `${tabs}   sort: ${o.sort}`;
}

const WORKER_HEAD = ` WK ${l('STATE', 8)} CORE NODE  CPU% ${r('CONNS', 6)} ${r('RPS', 7)} ${r('P99ms', 7)} ${r('LOOPms', 7)}  MBOX  RING  RST`;

function workerLine(w: WorkerRow, p: Painter): string {
  const state = w.state === 'respawn-wait' ? 'respawn' : w.state;
  const stateCell = w.state === 'ready' ? l(state, 8) : p.paint(l(state, 8), 'yellow');
  const rst = w.restarts > 0 ? p.paint(r(w.restarts, 4), 'red') : r(w.restarts, 4);
  return `${r(w.workerId, 3)} ${stateCell} ${r(w.cpu ?? '-', 4)} ${r(w.numaNode, 4)} ${r(fmtPct(w.cpuUtilization), 5)} ${r(w.connections, 6)} ${r(fmtRate(w.rps), 7)} ${r(fmtMs(w.p99Ms), 7)} ${r(fmtMs(w.loopDelayP99Ms), 7)} ${r(w.mailboxDepth ?? '-', 5)} ${r(fmtPct(w.ringFill), 5)} ${rst}`;
}

const ROUTE_HEAD = `${l('ROUTE', 16)} ${l('UPSTREAM', 12)} ${r('RPS', 7)} ${r('REQUESTS', 9)} ${r('4XX', 6)} ${r('5XX', 6)} ${r('P50ms', 7)} ${r('P99ms', 7)}`;

function routeLine(x: RouteRow, p: Painter): string {
  const e5 = x.serverErrors > 0 ? p.paint(r(x.serverErrors, 6), 'red') : r(x.serverErrors, 6);
  return `${l(x.name, 16)} ${l(x.upstream ?? '-', 12)} ${r(fmtRate(x.rps), 7)} ${r(x.requests, 9)} ${r(x.clientErrors, 6)} ${e5} ${r(fmtMs(x.p50Ms), 7)} ${r(fmtMs(x.p99Ms), 7)}`;
}

function upstreamLines(u: UpstreamRow, p: Painter): string[] {
  const healthy = u.healthyHosts === u.hosts.length ? p.paint(`${u.healthyHosts}/${u.hosts.length}`, 'green') : p.paint(`${u.healthyHosts}/${u.hosts.length}`, 'red');
  const lines = [`${p.paint(l(u.name, 16), 'bold')} healthy ${healthy}  rps ${fmtRate(u.rps)}  reuse ${fmtPct(u.reuseRatio)}  p99 ${fmtMs(u.p99Ms)}ms  connect fails ${u.connectFailures}`];
  for (const h of u.hosts) {
    const state = h.down ? p.paint(l('DOWN', 8), 'red') : h.ejected ? p.paint(l('EJECTED', 8), 'yellow') : p.paint(l('up', 8), 'green');
    lines.push(`  ${l(h.address, 26)} ${state} active ${r(h.active, 5)}  ${h.lastProbe ? `probe ${h.lastProbe}` : ''}`);
  }
  return lines;
}

function eventLine(e: LiveEvent, p: Painter): string {
  const bad = /down|ejected|crashed|hung|rejected|backoff|error/.test(e.kind);
  return `${p.paint(clock(e.atMs), 'dim')} ${bad ? p.paint(l(e.kind, 17), 'red') : l(e.kind, 17)} ${e.text}`;
}

// ---- sorting -------------------------------------------------------------------

const num = (x: number | null): number => x ?? -1;

export function sortWorkers(rows: readonly WorkerRow[], key: string): WorkerRow[] {
  const out = [...rows];
  switch (key) {
    case 'rps': return out.sort((a, b) => b.rps - a.rps || a.workerId - b.workerId);
    case 'p99': return out.sort((a, b) => num(b.p99Ms) - num(a.p99Ms) || a.workerId - b.workerId);
    case 'conns': return out.sort((a, b) => b.connections - a.connections || a.workerId - b.workerId);
    case 'cpu': return out.sort((a, b) => num(b.cpuUtilization) - num(a.cpuUtilization) || a.workerId - b.workerId);
    case 'restarts': return out.sort((a, b) => b.restarts - a.restarts || a.workerId - b.workerId);
    default: return out.sort((a, b) => a.workerId - b.workerId);
  }
}

function sortRoutes(rows: readonly RouteRow[], key: string): RouteRow[] {
  const out = [...rows];
  switch (key) {
    case 'rps': return out.sort((a, b) => b.rps - a.rps || b.requests - a.requests);
    case 'errors': return out.sort((a, b) => b.serverErrors + b.clientErrors - (a.serverErrors + a.clientErrors));
    case 'p99': return out.sort((a, b) => num(b.p99Ms) - num(a.p99Ms));
    default: return out;
  }
}

function sortUpstreams(rows: readonly UpstreamRow[], key: string): UpstreamRow[] {
  const out = [...rows];
  if (key === 'rps') return out.sort((a, b) => b.rps - a.rps);
  if (key === 'p99') return out.sort((a, b) => num(b.p99Ms) - num(a.p99Ms));
  return out;
}

// ---- screens -------------------------------------------------------------------

/** Lines of one view's body, at most `rows` of them. */
function body(m: TopModel, o: ViewOptions, p: Painter, rows: number): string[] {
  const lines: string[] = [];
  switch (o.view) {
    case 'workers': {
      // Up to 5 latest events under the workers, when there is room for them and their title.
      const eventRows = Math.min(5, rows - m.workers.length - 3);
      const events = eventRows > 0 ? m.events.slice(-eventRows) : [];
      lines.push(p.paint(WORKER_HEAD, 'inverse'));
      const room = rows - 1 - (events.length > 0 ? events.length + 2 : 0);
      const sorted = sortWorkers(m.workers, o.sort);
      for (const w of sorted.slice(0, room)) lines.push(workerLine(w, p));
      if (sorted.length > room) lines[lines.length - 1] = `  ... ${sorted.length - room + 1} more workers (sort to pick which show)`;
      if (events.length > 0) {
        lines.push('', p.paint('LATEST EVENTS', 'bold'));
        for (const e of events) lines.push(eventLine(e, p));
      }
      break;
    }
    case 'routes':
      lines.push(p.paint(ROUTE_HEAD, 'inverse'));
      for (const x of sortRoutes(m.routes, o.sort)) lines.push(routeLine(x, p));
      break;
    case 'upstreams':
      for (const u of sortUpstreams(m.upstreams, o.sort)) lines.push(...upstreamLines(u, p));
      break;
    case 'events':
      if (m.events.length === 0) lines.push('no events yet');
      for (const e of m.events.slice(-Math.max(1, rows)).reverse()) lines.push(eventLine(e, p));
      break;
  }
  return lines.slice(0, rows);
}

const FOOTER = 'q quit  1-4/tab view  s sort';

/** One full interactive screen: exactly `height` lines or fewer, each within `width`. */
export function renderScreen(m: TopModel | undefined, o: ViewOptions): string[] {
  const p = new Painter(o.color);
  const lines: string[] = [];
  if (m) lines.push(...headerLines(m, p));
  else lines.push(p.paint('zproxy top', 'bold'), '', '');
  lines.push(tabLine(o, p));
  const rows = Math.max(0, o.height - lines.length - 1);
  if (o.status !== undefined || !m) lines.push(...[o.status ?? 'waiting for the first snapshot...'].slice(0, rows));
  else lines.push(...body(m, o, p, rows));
  while (lines.length < o.height - 1) lines.push('');
  lines.push(p.paint(FOOTER, 'dim'));
  return lines.slice(0, o.height).map((x) => fitLine(x, o.width));
}

/** The plain snapshot of `--once` or a non-terminal: every view, no colour, no height limit. */
export function renderPlain(m: TopModel, width = 80): string {
  const p = new Painter(false);
  const lines = [...headerLines(m, p), '', 'WORKERS', WORKER_HEAD];
  for (const w of sortWorkers(m.workers, 'worker')) lines.push(workerLine(w, p));
  lines.push('', 'ROUTES', ROUTE_HEAD);
  for (const x of m.routes) lines.push(routeLine(x, p));
  lines.push('', 'UPSTREAMS');
  for (const u of m.upstreams) lines.push(...upstreamLines(u, p));
  lines.push('', 'EVENTS');
  for (const e of m.events) lines.push(eventLine(e, p));
  return lines.map((x) => fitLine(x, width)).join('\n') + '\n';
}
