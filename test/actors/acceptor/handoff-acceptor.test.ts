import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { canTransferSockets } from '../../../src/platform/node-features.js';
import { acceptorScenarios, concurrentConnections, countPerWorker } from '../fixtures/acceptor-scenarios.js';
import { fireAndForget } from '../fixtures/http-get.js';
import { startPool, testConfig, waitForEvent } from '../fixtures/runtime-harness.js';

describe('handoff acceptor', { skip: canTransferSockets() ? undefined : `socket transfer to worker threads needs Node >= 24; this is ${process.version}` }, () => {
  acceptorScenarios('handoff');

  test('gives each new connection to the worker with the fewest open ones', async () => {
    const { pool, port } = await startPool(testConfig({ acceptor: 'handoff' }));
    try {
      const first = await concurrentConnections(port, 10);
      assert.deepEqual(countPerWorker(first.workers, 2), [5, 5]);
      // Worker 0 loses its 5; the next 6 go to it until both hold the same again.
      const onZero = first.sockets.filter((_, i) => first.workers[i] === 0);
      for (const s of onZero) s.destroy();
      await sleep(100);
      const second = await concurrentConnections(port, 6);
      assert.deepEqual(countPerWorker(second.workers, 2), [5, 1]);
      const stats = await pool.stats();
      assert.deepEqual(stats.workers.map((w) => w.openConnections), [5, 6]);
      for (const s of [...first.sockets, ...second.sockets]) s.destroy();
    } finally {
      await pool.stop();
    }
  });

  test('a worker being restarted gets no connections', async () => {
    const { pool, port } = await startPool(testConfig({ acceptor: 'handoff', restart: { maxRestarts: 5, withinMs: 10_000, backoffInitialMs: 300, backoffMaxMs: 1000 } }));
    try {
      const crashed = waitForEvent(pool, 'worker-crashed', 3000);
      fireAndForget(port, '/exit');
      const { workerId } = await crashed;
      const during = await concurrentConnections(port, 6);
      assert.deepEqual(during.workers, [1 - workerId, 1 - workerId, 1 - workerId, 1 - workerId, 1 - workerId, 1 - workerId]);
      for (const s of during.sockets) s.destroy();
      await waitForEvent(pool, 'worker-restarted', 3000);
    } finally {
      await pool.stop();
    }
  });
});
