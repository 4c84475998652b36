import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { SharedBuckets, newVerdict } from '../../../actors/middleware/rate-limit/shared-buckets.js';

const SECOND_US = 1e6;

/** rate r/s, burst b -> the take() arguments. */
function limit(rate: number, burst: number): [number, number] {
  return [SECOND_US / rate, (burst * SECOND_US) / rate];
}

function allowedCount(b: SharedBuckets, key: string, n: number, rate: number, burst: number, nowUs: number): number {
  const [t, tau] = limit(rate, burst);
  const v = newVerdict();
  let allowed = 0;
  for (let i = 0; i < n; i++) if (b.take(key, t, tau, v, nowUs).allowed) allowed++;
  return allowed;
}

describe('shared token buckets (GCRA in a SharedArrayBuffer)', () => {
  test('allows exactly the burst at one instant, then refills at the rate', () => {
    const b = SharedBuckets.create(1024);
    assert.equal(allowedCount(b, 'k', 50, 10, 5, 1_000_000), 5);
    // 1 s later: 10 tokens would have come, but the bucket holds at most 5.
    assert.equal(allowedCount(b, 'k', 50, 10, 5, 2_000_000), 5);
    // 250 ms later: 2.5 tokens -> 2 requests.
    assert.equal(allowedCount(b, 'k', 50, 10, 5, 2_250_000), 2);
  });

  test('reports remaining tokens, the reset time and the retry-after time', () => {
    const b = SharedBuckets.create(1024);
    const [t, tau] = limit(10, 3);
    const v = newVerdict();
    b.take('k', t, tau, v, 5_000_000);
    assert.deepEqual({ ...v }, { allowed: true, remaining: 2, resetUs: 100_000, retryAfterUs: 0 });
    b.take('k', t, tau, v, 5_000_000);
    b.take('k', t, tau, v, 5_000_000);
    assert.deepEqual({ ...v }, { allowed: true, remaining: 0, resetUs: 300_000, retryAfterUs: 0 });
    b.take('k', t, tau, v, 5_000_000);
    assert.deepEqual({ ...v }, { allowed: false, remaining: 0, resetUs: 300_000, retryAfterUs: 100_000 });
    b.take('k', t, tau, v, 5_040_000);
    assert.equal(v.allowed, false);
    assert.equal(v.retryAfterUs, 60_000);
  });

  test('keeps one bucket per key', () => {
    const b = SharedBuckets.create(1024);
    assert.equal(allowedCount(b, 'a', 10, 1, 2, 0), 2);
    assert.equal(allowedCount(b, 'b', 10, 1, 2, 0), 2);
    assert.equal(allowedCount(b, 'a', 10, 1, 2, 0), 0);
  });

  test('two views of one buffer share the buckets (what two workers see)', () => {
    const a = SharedBuckets.create(1024);
    const other = SharedBuckets.attach(a.buffer);
    assert.equal(allowedCount(a, 'k', 3, 1, 4, 0), 3);
    assert.equal(allowedCount(other, 'k', 3, 1, 4, 0), 1);
  });

  test('a full probe window evicts the bucket closest to full and counts it', () => {
    // 8 slots in all: the probe window is the whole table, so the 9th live key must evict one.
    const b = SharedBuckets.create(8);
    for (let i = 0; i < 8; i++) allowedCount(b, `k${i}`, 1, 1, 10, 0);
    assert.equal(b.evictions, 0);
    assert.equal(allowedCount(b, 'new', 1, 1, 10, 0), 1);
    assert.equal(b.evictions, 1);
  });

  test('an expired bucket frees its slot without an eviction', () => {
    const b = SharedBuckets.create(8);
    for (let i = 0; i < 8; i++) allowedCount(b, `k${i}`, 1, 1, 10, 0);
    // 2 s later every bucket (1 token owed at 1/s) is full again: its slot is free.
    assert.equal(allowedCount(b, 'new', 1, 1, 10, 2_000_000), 1);
    assert.equal(b.evictions, 0);
  });

  test('threads hammering one bucket at once never take more than the burst', async () => {
    const b = SharedBuckets.create(1024);
    const moduleUrl = new URL('../../../actors/middleware/rate-limit/shared-buckets.js', import.meta.url).href;
    // A frozen clock (no refill): exactly `burst` takes may succeed however the CAS races interleave.
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.moduleUrl).then(({ SharedBuckets, newVerdict }) => {
        const b = SharedBuckets.attach(workerData.buffer);
        const v = newVerdict();
        let allowed = 0;
        for (let i = 0; i < 20000; i++) if (b.take('hot', 1e6, 5000 * 1e6, v, 123456789).allowed) allowed++;
        parentPort.postMessage(allowed);
      });`;
    const counts = await Promise.all([0, 1, 2].map(() => new Promise<number>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { buffer: b.buffer, moduleUrl } });
      w.once('message', (n: number) => { resolve(n); void w.terminate(); });
      w.once('error', reject);
    })));
    assert.equal(counts.reduce((x, y) => x + y, 0), 5000, `per thread: ${counts.join(', ')}`);
  });
});
