import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Watchdog } from '../../../actors/supervisor/watchdog.js';
import { createCountersBuffer, SharedCounters, WorkerSlotCounters, WORKER_STATE } from '../../../actors/supervisor/shared-counters.js';

describe('Watchdog', () => {
  function setup(): { counters: SharedCounters; hung: Array<[number, number]>; dog: Watchdog } {
    const counters = new SharedCounters(createCountersBuffer(2));
    const hung: Array<[number, number]> = [];
    const dog = new Watchdog({ counters, hangTimeoutMs: 500, startupGraceMs: 1000, watched: () => [0, 1], onHung: (slot, age) => hung.push([slot, age]) });
    return { counters, hung, dog };
  }

  test('reports a worker whose last beat is older than hangTimeoutMs, once', () => {
    const { counters, hung, dog } = setup();
    counters.reset(0, 10_000);
    counters.reset(1, 10_000);
    counters.setState(0, WORKER_STATE.ready);
    counters.setState(1, WORKER_STATE.ready);
    dog.check(10_400);
    assert.deepEqual(hung, []);
    dog.check(10_501);
    assert.deepEqual(hung, [[0, 501], [1, 501]]);
    dog.check(11_000);
    assert.equal(hung.length, 2);
  });
  test('gives a starting worker that has not beaten yet the startup grace', () => {
    const { counters, hung, dog } = setup();
    counters.reset(0, 0);
    counters.reset(1, 0);
    counters.setState(1, WORKER_STATE.ready);
    dog.check(1200);
    assert.deepEqual(hung, [[1, 1200]]);
    dog.check(1501);
    assert.deepEqual(hung, [[1, 1200], [0, 1501]]);
  });
  test('a beat from the worker side resets the age (same monotonic clock on both sides)', () => {
    const { counters } = setup();
    counters.reset(0, -1_000_000);
    new WorkerSlotCounters(counters.buffer, 0).beat();
    assert.equal(counters.beats(0), 1);
    assert.ok(counters.heartbeatAgeMs(0, Number(process.hrtime.bigint() / 1_000_000n) | 0) < 50);
  });
  test('ages survive the int32 wrap of the millisecond clock', () => {
    const { counters } = setup();
    counters.reset(0, 2 ** 31 - 100);
    assert.equal(counters.heartbeatAgeMs(0, (2 ** 31 + 50) | 0), 150);
  });
});
