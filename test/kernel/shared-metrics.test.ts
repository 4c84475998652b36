import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { MetricsWriter, SharedMetricsTable, createMetricsSlotBuffer, observe, type MetricSample } from '../../src/kernel/shared-metrics.js';

function byKey(samples: MetricSample[]): Map<string, MetricSample> {
  return new Map(samples.map((s) => [s.labels ? `${s.name}{${s.labels}}` : s.name, s]));
}

describe('SharedMetricsTable and MetricsWriter', () => {
  test('sums a counter registered by name in several slots, keeping label sets apart', () => {
    const table = new SharedMetricsTable();
    const a = new MetricsWriter(table.slotBuffer(0));
    const b = new MetricsWriter(table.slotBuffer(1));
    a.values[a.counter('req_total', 'route="x"')]! += 3;
    b.values[b.counter('req_total', 'route="x"')]! += 4;
    b.values[b.counter('req_total', 'route="y"')]! += 1;
    a.values[a.counter('req_total', 'route="x"')]! += 10; // same name: same index
    const all = byKey(table.read());
    assert.equal(all.get('req_total{route="x"}')!.value, 17);
    assert.equal(all.get('req_total{route="y"}')!.value, 1);
    assert.equal(all.size, 2);
    assert.deepEqual(table.readSlot(1).map((s) => [s.labels, s.value]), [['route="x"', 4], ['route="y"', 1]]);
    assert.deepEqual(table.readSlot(7), []);
  });

  test('counts a histogram observation in the first bucket whose bound is >= the value, plus sum and count', () => {
    const table = new SharedMetricsTable();
    const w = new MetricsWriter(table.slotBuffer(0));
    const h = w.histogram('lat_seconds', 'route="r"', [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.100001, 1, 5, 11, 1e9]) observe(h, v);
    const [s] = table.read();
    assert.equal(s!.kind, 'histogram');
    assert.deepEqual(s!.bounds, [0.1, 1, 10]);
    assert.deepEqual(s!.counts, [2, 2, 1, 2]);
    assert.equal(s!.value, 7);
    assert.equal(s!.sum, 0.05 + 0.1 + 0.100001 + 1 + 5 + 11 + 1e9);
  });

  test('a writer attached to a used slot continues its counters and zeroes its gauges', () => {
    const table = new SharedMetricsTable();
    const first = new MetricsWriter(table.slotBuffer(3));
    first.values[first.counter('c_total')]! += 5;
    first.values[first.gauge('open')] = 9;
    observe(first.histogram('h', '', [1]), 0.5);
    const second = new MetricsWriter(table.slotBuffer(3));
    second.values[second.counter('c_total')]! += 1;
    observe(second.histogram('h', '', [1]), 2);
    const all = byKey(table.read());
    assert.equal(all.get('c_total')!.value, 6);
    assert.equal(all.get('open')!.value, 0);
    assert.deepEqual(all.get('h')!.counts, [1, 1]);
  });

  test('a full slot drops new series into scratch words and counts them, leaving published series intact', () => {
    const table = new SharedMetricsTable({ maxSeries: 2, maxValues: 80, nameBytes: 1024 });
    const w = new MetricsWriter(table.slotBuffer(0));
    w.values[w.counter('a')]! += 1;
    w.values[w.counter('b')]! += 2;
    const c = w.counter('c');
    w.values[c]! += 100;
    observe(w.histogram('d', '', [1, 2]), 1);
    assert.equal(w.dropped, 2);
    assert.equal(table.dropped(), 2);
    assert.deepEqual(table.read().map((s) => [s.name, s.value]), [['a', 1], ['b', 2]]);
  });

  test('rejects unordered histogram bounds and a name reused with another kind, with stable codes', () => {
    const w = new MetricsWriter(createMetricsSlotBuffer());
    assert.throws(() => w.histogram('h', '', [1, 1]), { code: 'metrics.bad-bounds' });
    assert.throws(() => w.histogram('h', '', []), { code: 'metrics.bad-bounds' });
    w.counter('x');
    assert.throws(() => w.gauge('x'), { code: 'metrics.kind-clash' });
    assert.throws(() => new MetricsWriter(new SharedArrayBuffer(64)), { code: 'metrics.bad-buffer' });
  });

  test('the main thread reads exactly what another thread wrote, with no message per update', async () => {
    const table = new SharedMetricsTable();
    const count = 200_000;
    const worker = new Worker(new URL('./fixtures/metrics-writer-worker.js', import.meta.url), { workerData: { buffer: table.slotBuffer(0), count } });
    // Reads while the worker writes: a counter never goes backwards.
    let last = 0;
    const reading = setInterval(() => {
      const c = table.read().find((s) => s.name === 'jobs_total');
      if (c) {
        assert.ok(c.value >= last, `counter went from ${last} to ${c.value}`);
        last = c.value;
      }
    }, 1);
    await new Promise<void>((resolve, reject) => { worker.once('message', () => resolve()); worker.once('error', reject); });
    clearInterval(reading);
    await worker.terminate();
    const all = byKey(table.read());
    assert.equal(all.get('jobs_total{who="worker"}')!.value, count);
    assert.deepEqual(all.get('job_seconds')!.counts, [count / 2, 0, count / 2]);
    assert.equal(all.get('job_seconds')!.sum, (count / 2) * 0.25 + (count / 2) * 2);
  });
});
