import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from '../../../actors/supervisor/restart-backoff.js';

const policy = { maxRestarts: 3, withinMs: 10_000, backoffInitialMs: 100, backoffMaxMs: 1000 };

describe('RestartBackoff', () => {
  test('doubles the delay from backoffInitialMs up to backoffMaxMs', () => {
    const b = new RestartBackoff({ ...policy, maxRestarts: 100 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) delays.push(b.crashed(i * 10).delayMs);
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  });
  test('past maxRestarts within withinMs it flags a crash loop and waits backoffMaxMs', () => {
    const b = new RestartBackoff(policy);
    const decisions = [0, 1, 2, 3, 4].map((t) => b.crashed(t));
    assert.deepEqual(decisions.map((d) => d.overIntensity), [false, false, false, true, true]);
    assert.deepEqual(decisions.map((d) => d.crashesInWindow), [1, 2, 3, 4, 5]);
    assert.equal(decisions[3]!.delayMs, 1000);
  });
  test('crashes older than withinMs leave the window', () => {
    const b = new RestartBackoff(policy);
    b.crashed(0);
    b.crashed(6000);
    assert.equal(b.crashed(10_005).crashesInWindow, 2);
  });
  test('a worker that stayed up withinMs starts again from backoffInitialMs', () => {
    const b = new RestartBackoff(policy);
    b.crashed(0);
    b.crashed(100);
    assert.equal(b.crashed(200).delayMs, 400);
    b.started(1000);
    assert.equal(b.crashed(12_000).delayMs, 100);
  });
  test('a worker that came up but died quickly keeps the grown delay', () => {
    const b = new RestartBackoff({ ...policy, maxRestarts: 100 });
    b.crashed(0);
    b.started(200);
    assert.equal(b.crashed(300).delayMs, 200);
  });
});
