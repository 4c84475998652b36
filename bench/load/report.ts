// Turning a run into text: a markdown table per scenario, an SVG bar chart
// per scenario (hand-written SVG: no chart dependency), and the section of
// docs/PERFORMANCE.md between the load markers.

import type { RunRecord, ScenarioOutcome, Spread, SubjectOutcome } from './results.js';

export const SECTION_BEGIN = '<!-- load:begin -->';
export const SECTION_END = '<!-- load:end -->';

export class MarkedSectionError extends Error {
  readonly code = 'LOAD_DOC_MARKERS_MISSING';
}

/**
 * Replaces what lies between the markers; everything outside them is kept byte
 * for byte. Other benches (bench/soak) pass their own marker pair.
 */
export function replaceMarkedSection(doc: string, body: string, beginMarker = SECTION_BEGIN, endMarker = SECTION_END): string {
  const begin = doc.indexOf(beginMarker);
  const end = doc.indexOf(endMarker);
  if (begin < 0 || end < 0 || end < begin) {
    throw new MarkedSectionError(`expected ${beginMarker} followed by ${endMarker} in the document`);
  }
  return `${doc.slice(0, begin + beginMarker.length)}\n${body.trim()}\n${doc.slice(end)}`;
}

export const EMPTY_PERFORMANCE_DOC = `# Performance\n\n${SECTION_BEGIN}\n${SECTION_END}\n`;

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function withRange(s: Spread, digits: number, scale = 1): string {
  if (s.min === s.max) return fixed(s.median * scale, digits);
  return `${fixed(s.median * scale, digits)} (${fixed(s.min * scale, digits)}–${fixed(s.max * scale, digits)})`;
}

/** "×1.23": the subject's median over the reference's median. */
export function ratio(value: number, reference: number | undefined): string {
  if (reference === undefined || !Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return '—';
  return `×${(value / reference).toFixed(2)}`;
}

/** Failure reasons hold process output: one line, no table-breaking pipes, bounded. */
export function oneLine(text: string, maxChars = 300): string {
  const flat = text.replace(/\s+/g, ' ').replace(/\|/g, '/').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

function reference(scenario: ScenarioOutcome, name: string): SubjectOutcome | undefined {
  const found = scenario.subjects.find((s) => s.name === name);
  return found?.summary === undefined ? undefined : found;
}

const HEADER = [
  'Subject', 'req/s median (min–max)', 'p50 ms', 'p99 ms', 'CPU µs/req median (min–max)', 'CPU s per 10k req', 'peak RSS MB', 'errors',
  'req/s vs nginx', 'CPU/req vs nginx', 'req/s vs http-proxy', 'CPU/req vs http-proxy',
];

export function scenarioTable(scenario: ScenarioOutcome): string {
  const nginx = reference(scenario, 'nginx')?.summary;
  const httpProxy = reference(scenario, 'http-proxy')?.summary;
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  const notes: string[] = [];
  for (const subject of scenario.subjects) {
    const s = subject.summary;
    if (subject.status !== 'ok' || s === undefined) {
      notes.push(`- ${subject.name}: ${subject.status}: ${oneLine(subject.reason ?? 'no measured round')}`);
      continue;
    }
    lines.push(
      `| ${[
        subject.name,
        withRange(s.requestsPerS, 0),
        fixed(s.p50Us.median / 1000, 2),
        fixed(s.p99Us.median / 1000, 2),
        withRange(s.cpuUsPerRequest, 1),
        // µs per request × 10 000 requests / 10^6 µs per s
        fixed(s.cpuUsPerRequest.median / 100, 2),
        fixed(s.rssPeakMb, 0),
        String(s.errors),
        ratio(s.requestsPerS.median, nginx?.requestsPerS.median),
        ratio(s.cpuUsPerRequest.median, nginx?.cpuUsPerRequest.median),
        ratio(s.requestsPerS.median, httpProxy?.requestsPerS.median),
        ratio(s.cpuUsPerRequest.median, httpProxy?.cpuUsPerRequest.median),
      ].join(' | ')} |`,
    );
  }
  return notes.length === 0 ? lines.join('\n') : `${lines.join('\n')}\n\n${notes.join('\n')}`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const CHART = {
  width: 920,
  labelWidth: 110,
  panelWidth: 340,
  panelGap: 60,
  rowHeight: 26,
  barHeight: 16,
  top: 56,
  bottom: 16,
};

interface Panel {
  title: string;
  value: (s: SubjectOutcome) => Spread;
  format: (v: number) => string;
}

/** Two horizontal bar panels (req/s, CPU µs/request), one row per measured subject; whiskers show min–max. */
export function scenarioChartSvg(scenario: ScenarioOutcome): string {
  const rows = scenario.subjects.filter((s) => s.status === 'ok' && s.summary !== undefined);
  const height = CHART.top + rows.length * CHART.rowHeight + CHART.bottom;
  const panels: Panel[] = [
    { title: 'requests/s (higher is better)', value: (s) => s.summary!.requestsPerS, format: (v) => fixed(v, 0) },
    { title: 'CPU µs per request (lower is better)', value: (s) => s.summary!.cpuUsPerRequest, format: (v) => fixed(v, 1) },
  ];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART.width}" height="${height}" viewBox="0 0 ${CHART.width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${CHART.width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="18" font-size="14" font-weight="bold">${escapeXml(`${scenario.name}: ${scenario.title}`)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const x0 = CHART.labelWidth + p * (CHART.panelWidth + CHART.panelGap);
    const max = Math.max(...rows.map((r) => panel.value(r).max).filter(Number.isFinite), 0);
    // Leave room after the longest bar for its value label.
    const scale = max > 0 ? (CHART.panelWidth - 70) / max : 0;
    out.push(`<text x="${x0}" y="${CHART.top - 12}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${CHART.top - 4}" x2="${x0}" y2="${height - CHART.bottom}" stroke="#495057"/>`);
    rows.forEach((row, i) => {
      const v = panel.value(row);
      const y = CHART.top + i * CHART.rowHeight;
      const w = Number.isFinite(v.median) ? v.median * scale : 0;
      const fill = row.name === 'zproxy' ? '#d9480f' : '#4c6ef5';
      if (p === 0) out.push(`<text x="${CHART.labelWidth - 8}" y="${y + 12}" text-anchor="end">${escapeXml(row.name)}</text>`);
      out.push(`<rect data-subject="${escapeXml(row.name)}" x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${CHART.barHeight}" fill="${fill}"/>`);
      if (Number.isFinite(v.min) && v.max > v.min) {
        const mid = y + CHART.barHeight / 2;
        out.push(`<line x1="${(x0 + v.min * scale).toFixed(1)}" y1="${mid}" x2="${(x0 + v.max * scale).toFixed(1)}" y2="${mid}" stroke="#212529" stroke-width="1.5"/>`);
      }
      out.push(`<text x="${(x0 + Math.max(w, Number.isFinite(v.max) ? v.max * scale : 0) + 6).toFixed(1)}" y="${y + 12}">${escapeXml(panel.format(v.median))}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function chartFileName(scenarioName: string): string {
  return `load-${scenarioName}.svg`;
}

/** The markdown printed to the console and written between the doc markers. */
export function renderReport(record: RunRecord, chartDir: string | null): string {
  const tools = Object.entries(record.tools).map(([k, v]) => `${k} ${v}`).join(', ');
  const parts = [
    '## Load: zproxy against the proxies users would pick instead',
    '',
    `Generated by \`bench/load\` (how to run and what is measured: bench/load/README.md).`,
    '',
    `- Date: ${record.date}; commit ${record.commit}; Node ${record.node}; nproc ${record.nproc}; ${tools}`,
    `- Command: \`${record.command}\``,
    `- Pinning: ${record.pinning}`,
    `- Rounds: ${record.settings.rounds} × ${record.settings.durationS} s per subject and scenario, interleaved, after a ${record.settings.warmupS} s warm-up round (not counted); ${record.settings.connections} connections (h2: ${record.settings.h2Streams} streams each). Medians with min–max across rounds. The run took ${Math.round(record.elapsedS)} s.`,
    '- CPU µs/req: utime+stime of the proxy\'s whole process tree (all threads, nginx master+worker) over the load window, divided by completed requests. Peak RSS: VmRSS of the tree summed, sampled every 100 ms. Ratios are medians over the median of nginx / http-proxy (req/s: above 1 is faster; CPU/req: below 1 is cheaper).',
  ];
  const legend = record.scenarios[0]?.subjects.map((x) => `${x.name} = ${x.label}`).join('; ');
  if (legend !== undefined && legend !== '') parts.push(`- Subjects: ${legend}.`);
  if (record.note !== '') parts.push(`- Note: ${record.note}`);
  for (const scenario of record.scenarios) {
    parts.push('', `### ${scenario.name}: ${scenario.title}`, '', `Upstream: ${scenario.upstream}.`, '', scenarioTable(scenario));
    const measured = scenario.subjects.some((s) => s.summary !== undefined);
    if (chartDir !== null && measured) {
      parts.push('', `![${scenario.name}: requests/s and CPU µs per request](${chartDir}/${chartFileName(scenario.name)})`);
    }
  }
  return `${parts.join('\n')}\n`;
}
