import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedSlots } from '../../../src/kernel/shared-slots.js';
import { SharedHostHealth, type HealthSlotAllocator } from '../../../actors/health-checker/shared-host-health.js';
import { groupsWithoutHealthyHost } from '../../../actors/health-checker/readiness.js';
import { UpstreamHost } from '../../../actors/upstream-pool/upstream-host.js';
import { RoundRobin } from '../../../actors/upstream-pool/round-robin.js';
import { FirstAvailable } from '../../../actors/upstream-pool/first-available.js';
import { LeastConnections } from '../../../actors/upstream-pool/least-connections.js';
import { KeyHash } from '../../../actors/upstream-pool/key-hash.js';
import type { UpstreamGroupConfig } from '../../../src/config/types.js';

function allocator(slots: SharedSlots): HealthSlotAllocator {
  return (name) => ({ array: slots.values, index: slots.slot(name) });
}

/** Two "workers": separate objects over the same shared table, as each worker builds its own. */
function hosts(slots: SharedSlots, n: number): UpstreamHost[] {
  const alloc = allocator(slots);
  return Array.from({ length: n }, (_, i) => {
    const s = alloc(`upstream:g:10.0.0.${i}:80`);
    return new UpstreamHost('g', i, `10.0.0.${i}`, 80, 1, s.array, s.index, new SharedHostHealth(alloc, 'g', `10.0.0.${i}`, 80));
  });
}

describe('SharedHostHealth', () => {
  test('a failure streak counted in two workers ejects the host in both, until the cool-down ends', async () => {
    const slots = SharedSlots.create(64);
    const w1 = new SharedHostHealth(allocator(slots), 'g', '10.0.0.1', 80);
    const w2 = new SharedHostHealth(allocator(slots), 'g', '10.0.0.1', 80);
    assert.equal(w1.failed(3, 150), false);
    assert.equal(w2.failed(3, 150), false);
    assert.equal(w1.consecutiveFailures, 2);
    assert.equal(w2.failed(3, 150), true, 'the third failure, in another worker, ejects');
    assert.equal(w1.isAvailable(), false);
    assert.equal(w2.isAvailable(), false);
    assert.ok(w1.ejectedForMs() > 0 && w1.ejectedForMs() <= 150);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(w2.isAvailable(), true);
    assert.equal(w1.ejectedForMs(), 0);
  });

  test('a success ends the streak everywhere', () => {
    const slots = SharedSlots.create(64);
    const w1 = new SharedHostHealth(allocator(slots), 'g', 'h', 1);
    const w2 = new SharedHostHealth(allocator(slots), 'g', 'h', 1);
    w1.failed(3, 1000);
    w1.failed(3, 1000);
    w2.succeeded();
    assert.equal(w1.consecutiveFailures, 0);
    assert.equal(w1.failed(3, 1000), false);
  });

  test('the active verdict is seen by every worker and by readiness', () => {
    const slots = SharedSlots.create(64);
    const checker = new SharedHostHealth(allocator(slots), 'g', '10.0.0.0', 80);
    const worker = new SharedHostHealth(allocator(slots), 'g', '10.0.0.0', 80);
    const group = { hosts: [{ host: '10.0.0.0', port: 80 }] } as unknown as UpstreamGroupConfig;
    assert.deepEqual(groupsWithoutHealthyHost({ g: group }, allocator(slots)), []);
    checker.setDown(true);
    assert.equal(worker.isAvailable(), false);
    assert.equal(worker.down, true);
    assert.deepEqual(groupsWithoutHealthyHost({ g: group }, allocator(slots)), ['g']);
    checker.setDown(false);
    assert.equal(worker.isAvailable(), true);
  });

  for (const [name, balancer] of [['round-robin', new RoundRobin()], ['first', new FirstAvailable()], ['least-connections', new LeastConnections()], ['host/sni hash', new KeyHash()]] as const) {
    test(`${name} skips hosts that are down or ejected and finds none when all are`, () => {
      const slots = SharedSlots.create(256);
      const hs = hosts(slots, 3);
      hs[0]!.health.setDown(true);
      hs[1]!.failed(1, 60_000);
      const picked = new Set<number>();
      for (let i = 0; i < 30; i++) picked.add(balancer.pick(hs, Date.now(), undefined, `key-${i}`)!.index);
      assert.deepEqual([...picked], [2]);
      hs[2]!.health.setDown(true);
      assert.equal(balancer.pick(hs, Date.now(), undefined, 'k'), undefined);
    });
  }
});
