import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_PERFORMANCE_DOC, MarkedSectionError, SECTION_BEGIN, SECTION_END, oneLine, ratio, renderReport, replaceMarkedSection,
  scenarioChartSvg, scenarioTable,
} from '../../../bench/load/report.js';
import { spread, summarize, type RoundMeasure, type RunRecord, type ScenarioOutcome, type SubjectOutcome } from '../../../bench/load/results.js';

function round(requestsPerS: number, cpuUsPerRequest: number, rssMb: number, errors = 0): RoundMeasure {
  return {
    requests: requestsPerS * 5, durationS: 5, requestsPerS, p50Us: 1500, p99Us: 4000, errors, errorDetail: {},
    cpuUs: cpuUsPerRequest * requestsPerS * 5, cpuUsPerRequest, rssPeakBytes: rssMb * 1024 * 1024,
  };
}

function measured(name: string, rounds: RoundMeasure[]): SubjectOutcome {
  return { name, label: name, status: 'ok', rounds, summary: summarize(rounds) };
}

function scenario(): ScenarioOutcome {
  return {
    name: 'small',
    title: 'keep-alive GET, 100-byte body',
    upstream: 'nginx serving files',
    subjects: [
      { name: 'zproxy', label: 'zproxy', status: 'failed', reason: 'did not start:\nError | boom\n  at x', rounds: [] },
      measured('nginx', [round(40000, 20, 10), round(38000, 22, 12), round(42000, 21, 11)]),
      measured('http-proxy', [round(10000, 100, 60), round(10000, 100, 61), round(10000, 100, 59, 3)]),
      { name: 'fastify', label: 'fastify', status: 'skipped', reason: 'module fastify not installed', rounds: [] },
    ],
  };
}

describe('spread and summarize', () => {
  test('takes the middle value of an odd count and the mean of the middle two of an even count', () => {
    assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
    assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  });

  test('keeps the highest RSS and sums errors and requests over rounds', () => {
    const s = summarize([round(100, 10, 50, 1), round(200, 30, 70, 2)]);
    assert.equal(s.rssPeakMb, 70);
    assert.equal(s.errors, 3);
    assert.equal(s.requests, 1500);
    assert.deepEqual(s.cpuUsPerRequest, { median: 20, min: 10, max: 30 });
  });
});

describe('scenarioTable', () => {
  test('prints medians with min–max and ratios to nginx and http-proxy', () => {
    const lines = scenarioTable(scenario()).split('\n');
    assert.equal(lines[2], '| nginx | 40000 (38000–42000) | 1.50 | 4.00 | 21.0 (20.0–22.0) | 0.21 | 12 | 0 | ×1.00 | ×1.00 | ×4.00 | ×0.21 |');
    assert.equal(lines[3], '| http-proxy | 10000 | 1.50 | 4.00 | 100.0 | 1.00 | 61 | 3 | ×0.25 | ×4.76 | ×1.00 | ×1.00 |');
  });

  test('lists failed and skipped subjects below the table on one line each, without pipes', () => {
    const text = scenarioTable(scenario());
    assert.match(text, /\n\n- zproxy: failed: did not start: Error \/ boom at x\n- fastify: skipped: module fastify not installed$/);
    assert.equal(text.split('\n').filter((l) => l.startsWith('| zproxy')).length, 0);
  });

  test('shows a dash for ratios when the reference subject was not measured', () => {
    const s = scenario();
    s.subjects = s.subjects.filter((x) => x.name !== 'nginx');
    const row = scenarioTable(s).split('\n')[2];
    assert.equal(row, '| http-proxy | 10000 | 1.50 | 4.00 | 100.0 | 1.00 | 61 | 3 | — | — | ×1.00 | ×1.00 |');
    assert.equal(ratio(5, 0), '—');
  });

  test('cuts long reasons to the limit with an ellipsis', () => {
    assert.equal(oneLine('a'.repeat(20), 10), `${'a'.repeat(9)}…`);
  });
});

describe('scenarioChartSvg', () => {
  test('draws bars proportional to the medians, the largest filling the panel', () => {
    const svg = scenarioChartSvg(scenario());
    const widths = [...svg.matchAll(/<rect data-subject="([^"]+)" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => [m[1], Number(m[2])]);
    // Two panels (req/s, CPU µs/req), two measured subjects each; the panel's
    // longest whisker (nginx 42000 req/s, http-proxy 100 µs) spans 270 px.
    assert.deepEqual(widths, [
      ['nginx', 257.1],
      ['http-proxy', 64.3],
      ['nginx', 56.7],
      ['http-proxy', 270],
    ]);
  });

  test('escapes names and titles and produces one svg element', () => {
    const s = scenario();
    s.title = 'a <b> & "c"';
    const svg = scenarioChartSvg(s);
    assert.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/);
    assert.equal(svg.match(/<svg /g)?.length, 1);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
  });
});

describe('replaceMarkedSection', () => {
  const doc = `# Performance\n\nintro by the lead\n\n${SECTION_BEGIN}\nold table\n${SECTION_END}\n\n## Micro\nkept\n`;

  test('replaces only what lies between the markers', () => {
    const out = replaceMarkedSection(doc, 'new table');
    assert.equal(out, `# Performance\n\nintro by the lead\n\n${SECTION_BEGIN}\nnew table\n${SECTION_END}\n\n## Micro\nkept\n`);
    assert.equal(replaceMarkedSection(out, 'new table'), out);
  });

  test('fills the empty document created when none exists', () => {
    assert.equal(replaceMarkedSection(EMPTY_PERFORMANCE_DOC, 'x'), `# Performance\n\n${SECTION_BEGIN}\nx\n${SECTION_END}\n`);
  });

  test('refuses a document without both markers in order', () => {
    const swapped = `${SECTION_END}\n${SECTION_BEGIN}\n`;
    for (const bad of ['# Performance\n', swapped, `${SECTION_BEGIN}\n`]) {
      assert.throws(() => replaceMarkedSection(bad, 'x'), (err: unknown) => err instanceof MarkedSectionError && err.code === 'LOAD_DOC_MARKERS_MISSING');
    }
  });
});

describe('renderReport', () => {
  const record: RunRecord = {
    date: '2026-01-02T03:04:05.000Z', commit: 'abc1234', node: 'v20.20.2', nproc: 2,
    command: 'node dist/bench/load/run.js --scenarios small', pinning: 'proxy on CPU 0',
    settings: { rounds: 3, durationS: 5, warmupS: 2, connections: 50, h2Streams: 10 },
    tools: { wrk: '4.1.0' }, elapsedS: 61.4, note: 'shared machine', scenarios: [scenario()],
  };

  test('states date, commit, Node, nproc, command and duration, and links the chart', () => {
    const text = renderReport(record, 'perf');
    assert.match(text, /- Date: 2026-01-02T03:04:05\.000Z; commit abc1234; Node v20\.20\.2; nproc 2; wrk 4\.1\.0\n/);
    assert.match(text, /- Command: `node dist\/bench\/load\/run\.js --scenarios small`\n/);
    assert.match(text, /The run took 61 s\./);
    assert.match(text, /- Note: shared machine\n/);
    assert.match(text, /!\[small: requests\/s and CPU µs per request\]\(perf\/load-small\.svg\)/);
  });

  test('leaves the chart link out when printing only', () => {
    assert.doesNotMatch(renderReport(record, null), /load-small\.svg/);
  });
});
