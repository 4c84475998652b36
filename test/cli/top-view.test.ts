import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveSnapshot, LiveWorker } from '../../src/protocol/admin-stream.js';
import { deriveTopModel, quantileMs } from '../../src/cli/top-model.js';
import { fitLine, renderPlain, renderScreen, SORT_KEYS, TOP_VIEWS } from '../../src/cli/top-view.js';

const BOUNDS = [0.001, 0.01, 0.1];
const ANSI = /\x1b\[[0-9;]*m/g;

function worker(id: number, over: Partial<LiveWorker> = {}): LiveWorker {
  return {
    workerId: id, state: 'ready', tid: 1000 + id, cpu: id, numaNode: 0, restarts: 0, connections: 3, requests: 100 * id, serverErrors: 0,
    latency: [10, 0, 0, 0], heartbeatAgeMs: 5, loopDelayP99Ms: 0.4, loopUtilization: 0.1, cpuUtilization: 0.25, mailboxDepth: 0, ringFill: 0.01, ...over,
  };
}

function snapshot(atMs: number, requests: number, workers: LiveWorker[], over: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return {
    v: 1, atMs, uptimeMs: 3_723_000, generation: 2, acceptor: 'handoff', latencyBoundsSeconds: BOUNDS,
    totals: { requests, clientErrors: 4, serverErrors: 3, bytesIn: 1, bytesOut: 2, connectionsTotal: 9, connectionsActive: 7, latency: [requests, 0, 0, 0] },
    workers,
    routes: [{ name: 'a-rather-long-route-name-that-will-not-fit', upstream: 'backend-group-with-long-name', requests, clientErrors: 4, serverErrors: 3, latency: [requests, 0, 0, 0] }],
    upstreams: [{ name: 'backend', requests, reused: requests / 2, connectFailures: 1, latency: [requests, 0, 0, 0], hosts: [
      { address: '10.0.0.1:8080', healthy: true, down: false, ejected: false, active: 2, lastProbe: 'ok 200' },
      { address: '10.0.0.2:8080', healthy: false, down: true, ejected: false, active: 0, lastProbe: 'fail ECONNREFUSED' },
    ] }],
    supervisor: { restarts: 1, crashes: 1, hangs: 0, reloads: 1, reloadFailures: 0 },
    events: Array.from({ length: 12 }, (_, i) => ({ atMs: atMs - 1000 * i, kind: i % 2 ? 'upstream-down' : 'worker-started', text: `event number ${i} with a long explanation that goes past eighty columns for sure` })),
    process: { rssBytes: 150 * 1024 * 1024 },
    ...over,
  };
}

describe('top model', () => {
  test('quantiles interpolate inside the bucket like histogram_quantile', () => {
    assert.equal(quantileMs(BOUNDS, [0, 0, 0, 0], 0.5), null);
    assert.equal(quantileMs(BOUNDS, [10, 0, 0, 0], 0.5), 0.5);
    assert.ok(Math.abs(quantileMs(BOUNDS, [0, 10, 0, 0], 0.5)! - 5.5) < 1e-9);
    assert.ok(Math.abs(quantileMs(BOUNDS, [50, 49, 1, 0], 0.99)! - 10) < 1e-9);
    assert.equal(quantileMs(BOUNDS, [0, 0, 0, 5], 0.99), 100, '+Inf answers the highest finite bound');
  });

  test('rates come from two snapshots; latency from the interval, or since start when the interval was idle', () => {
    const prev = snapshot(10_000, 1000, [worker(0, { requests: 400, latency: [0, 400, 0, 0] }), worker(1)]);
    const cur = snapshot(12_000, 1600, [worker(0, { requests: 800, latency: [400, 400, 0, 0] }), worker(1)]);
    const m = deriveTopModel(cur, prev);
    assert.equal(m.header.rps, 300);
    assert.equal(m.workers[0]!.rps, 200);
    assert.ok(Math.abs(m.workers[0]!.p99Ms! - 0.99) < 1e-9, 'only the interval\'s observations (all under 1 ms)');
    assert.equal(m.workers[1]!.rps, 0);
    assert.ok(Math.abs(m.workers[1]!.p99Ms! - 0.99) < 1e-9, 'idle interval: since start');
    assert.equal(m.upstreams[0]!.reuseRatio, 0.5);
    assert.equal(m.upstreams[0]!.healthyHosts, 1);
    assert.equal(deriveTopModel(cur, undefined).header.rps, 0, 'no rate from a single snapshot');
  });
});

describe('top view', () => {
  const many = Array.from({ length: 40 }, (_, i) => worker(i, { restarts: i % 3, state: i === 5 ? 'respawn-wait' : 'ready' }));
  const model = deriveTopModel(snapshot(2000, 500, many), snapshot(1000, 400, many));

  for (const view of TOP_VIEWS) {
    for (const color of [false, true]) {
      test(`the ${view} view fits 80x24 ${color ? 'with' : 'without'} colour`, () => {
        const lines = renderScreen(model, { view, sort: SORT_KEYS[view][0]!, width: 80, height: 24, color });
        assert.equal(lines.length, 24);
        for (const l of lines) assert.ok(l.replace(ANSI, '').length <= 80, `too wide: ${JSON.stringify(l.replace(ANSI, ''))}`);
        assert.equal(lines.some((l) => l.includes('\x1b[')), color);
        assert.match(lines[0]!.replace(ANSI, ''), /^zproxy top {2}up 1h02m {2}gen 2 {2}handoff {2}40 workers {2}rss 150\.0M$/);
        assert.match(lines[3]!.replace(ANSI, ''), new RegExp(`\\[${TOP_VIEWS.indexOf(view) + 1} ${view}\\]`));
        assert.equal(lines[23]!.replace(ANSI, ''), 'q quit  1-4/tab view  s sort');
      });
    }
  }

  test('the workers view sorts by the chosen key and says how many rows did not fit', () => {
    const lines = renderScreen(model, { view: 'workers', sort: 'restarts', width: 80, height: 24, color: false });
    assert.match(lines[4]!, /^ WK STATE +CORE NODE +CPU% +CONNS +RPS +P99ms +LOOPms +MBOX +RING +RST$/);
    assert.match(lines[5]!, /^ {2}2 ready +2 +0 +25% +3 +/);
    assert.ok(lines.some((l) => /more workers/.test(l)));
  });

  test('a stream problem replaces the tables with the message', () => {
    const lines = renderScreen(undefined, { view: 'workers', sort: 'worker', width: 80, height: 24, color: false, status: 'cannot reach http://127.0.0.1:9901: ECONNREFUSED; retrying every second' });
    assert.equal(lines[4], 'cannot reach http://127.0.0.1:9901: ECONNREFUSED; retrying every second');
  });

  test('the plain snapshot shows every section with the totals', () => {
    const text = renderPlain(deriveTopModel(snapshot(2000, 500, [worker(0), worker(1)]), snapshot(1000, 400, [worker(0), worker(1)])));
    assert.match(text, /^rps 100 {2}5xx\/s 0\.0 {2}p50 0\.50ms {2}p99 0\.99ms {2}conns 7$/m);
    assert.match(text, /^requests 500 {2}4xx 4 {2}5xx 3 {2}restarts 1 {2}reloads 1$/m);
    assert.match(text, /^ROUTES$/m);
    assert.match(text, /^ {2}10\.0\.0\.2:8080 +DOWN +active +0 {2}probe fail ECONNREFUSED$/m);
    for (const l of text.split('\n')) assert.ok(l.length <= 80);
  });

  test('fitLine cuts by visible width and closes an open colour', () => {
    assert.equal(fitLine('\x1b[31mabcdef\x1b[0mgh', 4), '\x1b[31mabcd\x1b[0m');
    assert.equal(fitLine('ab\x1b[1mcd\x1b[0m', 10), 'ab\x1b[1mcd\x1b[0m');
  });
});
