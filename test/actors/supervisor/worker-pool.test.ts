import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { chooseAcceptor } from '../../../src/platform/node-features.js';
import { planPlacement } from '../../../src/platform/cpu-topology.js';
import { readThreadCpusAllowed } from '../../../src/platform/pin-thread.js';
import { WorkerPool } from '../../../actors/supervisor/worker-pool.js';
import { fireAndForget, httpGet } from '../fixtures/http-get.js';
import { clientLoops, FIXTURE_APP, hitUntilAll, mainThreadCpuMs, startPool, testConfig, waitForEvent } from '../fixtures/runtime-harness.js';

function pinningSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'pinning is Linux-only';
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'taskset is not installed (util-linux)';
  }
}

// Runs with the strategy 'auto' picks on this Node: shared on 20, handoff on 24.
describe(`WorkerPool (acceptor ${chooseAcceptor('auto')})`, () => {
  test('both workers answer and stats() reports each of them', async () => {
    const { pool, port } = await startPool(testConfig());
    try {
      const seen = await hitUntilAll(port, [0, 1]);
      assert.deepEqual([...seen.keys()].sort(), [0, 1]);
      const sent = [...seen.values()].reduce((a, b) => a + b, 0);
      const stats = await pool.stats();
      assert.equal(stats.acceptor, chooseAcceptor('auto'));
      assert.equal(stats.listeners[0]!.port, port);
      assert.deepEqual(stats.workers.map((w) => [w.workerId, w.state, w.restarts]), [[0, 'ready', 0], [1, 'ready', 0]]);
      assert.notEqual(stats.workers[0]!.threadId, stats.workers[1]!.threadId);
      for (const w of stats.workers) assert.ok(w.heartbeatAgeMs >= 0 && w.heartbeatAgeMs < 500, `heartbeat age ${w.heartbeatAgeMs}`);
      const requests = stats.workers.map((w) => (w.app as { requests: number }).requests);
      assert.equal(requests[0]! + requests[1]!, sent);
      assert.equal(stats.supervisor.restarts, 0);
      const pings = await pool.ping();
      assert.deepEqual(pings.map((p) => [p.workerId, p.ok]), [[0, true], [1, true]]);
    } finally {
      await pool.stop();
    }
  });

  test('with pinning on, each worker pins its own thread to its planned CPU', { skip: pinningSkipReason() }, async () => {
    const { pool } = await startPool(testConfig({ pinning: true }));
    try {
      const stats = await pool.stats();
      assert.deepEqual(stats.workers.map((w) => [w.cpu, w.numaNode, w.pinned]), planPlacement(2).map((p) => [p.cpu, p.numaNode, true]));
      for (const w of stats.workers) assert.equal(readThreadCpusAllowed(w.tid!), String(w.cpu));
    } finally {
      await pool.stop();
    }
  });

  for (const [path, exitCode, reason] of [['/crash', 70, /supervisor 'fixture-root' gave up: internal: fixture crash requested/], ['/exit', 3, /exited with code 3/]] as const) {
    test(`a worker killed by ${path} (exit ${exitCode}) is back within 1 s while the port keeps answering`, async (t) => {
      const { pool, port } = await startPool(testConfig());
      try {
        await hitUntilAll(port, [0, 1]);
        const loop = clientLoops(port, 2);
        await sleep(100);
        const crashedP = waitForEvent(pool, 'worker-crashed', 3000);
        const restartedP = waitForEvent(pool, 'worker-restarted', 3000);
        fireAndForget(port, path);
        const crashed = await crashedP;
        const crashAt = performance.now();
        const restarted = await restartedP;
        const restartAt = performance.now();
        await sleep(100);
        await loop.stop();
        t.diagnostic(`respawn after ${path}: ${restarted.downMs} ms down; ${loop.results.length} requests, ${loop.results.filter((r) => !r.ok).length} failed`);
        assert.equal(crashed.exitCode, exitCode);
        assert.match(crashed.reason, reason);
        assert.equal(restarted.workerId, crashed.workerId);
        assert.ok(restarted.downMs < 1000, `worker back after ${restarted.downMs} ms`);
        // Two sequential clients: at most the one request each had in flight on the dying worker fails.
        assert.ok(loop.results.filter((r) => !r.ok).length <= 2, JSON.stringify(loop.results.filter((r) => !r.ok)));
        // The other worker answered while this one was down (a response the dead worker wrote just
        // before dying may be read after the crash event: same thread, so only the survivor is counted).
        const servedWhileDown = loop.results.filter((r) => r.ok && r.worker !== crashed.workerId && r.atMs > crashAt && r.atMs < restartAt);
        assert.ok(servedWhileDown.length > 0, 'no request was answered while the worker was down');
        assert.deepEqual([...(await hitUntilAll(port, [0, 1])).keys()].sort(), [0, 1]);
        assert.equal((await pool.stats()).workers[crashed.workerId]!.restarts, 1);
      } finally {
        await pool.stop();
      }
    });
  }

  test('an uncaught exception in a worker is reported with its message and the worker respawns', async () => {
    const { pool, port } = await startPool(testConfig());
    try {
      const crashedP = waitForEvent(pool, 'worker-crashed', 3000);
      const restartedP = waitForEvent(pool, 'worker-restarted', 3000);
      fireAndForget(port, '/throw');
      const crashed = await crashedP;
      assert.equal(crashed.exitCode, 1);
      assert.equal(crashed.reason, 'uncaught Error: fixture uncaught throw');
      assert.ok((await restartedP).downMs < 1000);
    } finally {
      await pool.stop();
    }
  });

  test('a worker stuck in while (true) is terminated and replaced within hangTimeoutMs + 1 s', async (t) => {
    const { pool, port } = await startPool(testConfig({ watchdog: { hangTimeoutMs: 500, heartbeatIntervalMs: 100 } }));
    try {
      const hungP = waitForEvent(pool, 'worker-hung', 3000);
      const restartedP = waitForEvent(pool, 'worker-restarted', 3000);
      const t0 = performance.now();
      fireAndForget(port, '/hang');
      const hung = await hungP;
      const restarted = await restartedP;
      const elapsed = performance.now() - t0;
      t.diagnostic(`hang detected after ${hung.heartbeatAgeMs} ms without heartbeat; replaced ${elapsed.toFixed(0)} ms after the request`);
      assert.ok(hung.heartbeatAgeMs > 500 && hung.heartbeatAgeMs < 800, `age ${hung.heartbeatAgeMs}`);
      assert.equal(restarted.workerId, hung.workerId);
      assert.ok(elapsed < 1500, `replaced after ${elapsed} ms`);
      const stats = await pool.stats();
      assert.equal(stats.supervisor.hangs, 1);
      assert.match(stats.supervisor.events.find((e) => e.kind === 'worker-crashed' && e.workerId === hung.workerId)!.kind, /worker-crashed/);
      assert.equal((await httpGet(port)).status, 200);
    } finally {
      await pool.stop();
    }
  });

  test('a worker that crashes at every start backs off (50, 100, 200, then 400 ms), says so, and keeps the main thread idle', async (t) => {
    // No spare thread: it would be created before the env below is set and start fine (a real crash loop has no such switch).
    const restart = { maxRestarts: 3, withinMs: 10_000, backoffInitialMs: 50, backoffMaxMs: 400, standby: false };
    const { pool, port, logs, events } = await startPool(testConfig({ restart }));
    try {
      process.env.ZPROXY_FIXTURE_FAIL_START = '1'; // workers copy the env when they are created: respawns see it
      const cpu0 = mainThreadCpuMs();
      const t0 = performance.now();
      fireAndForget(port, '/exit');
      await sleep(2500);
      const cpuMs = mainThreadCpuMs()! - cpu0!;
      const wallMs = performance.now() - t0;
      assert.equal((await httpGet(port)).status, 200, 'the other worker keeps serving');
      const crashes = events.filter((e) => e.kind === 'worker-crashed');
      const gaps = crashes.slice(1).map((c, i) => c.atMs - crashes[i]!.atMs);
      t.diagnostic(`${crashes.length} crashes in ${wallMs.toFixed(0)} ms, gaps ${gaps.join(',')} ms; main thread CPU ${cpuMs} ms`);
      assert.ok(crashes.length >= 4 && crashes.length <= 10, `${crashes.length} crashes`);
      assert.equal(new Set(crashes.map((c) => c.workerId)).size, 1);
      const scheduled = [50, 100, 200, 400, 400, 400, 400, 400, 400];
      gaps.forEach((gap, i) => assert.ok(gap >= scheduled[i]!, `gap ${i} was ${gap} ms, backoff ${scheduled[i]} ms`));
      assert.deepEqual(crashes.slice(1).map((c) => c.exitCode), crashes.slice(1).map(() => 78));
      const backoff = events.find((e) => e.kind === 'worker-backoff');
      assert.ok(backoff && backoff.kind === 'worker-backoff');
      assert.match(backoff.message, /^worker [01] crashed 4 times in 10 s \(last: start failed: internal: fixture app refuses to start\); backing off 400 ms$/);
      assert.ok(logs.includes(`error: ${backoff.message}`), logs.join('\n'));
      if (cpuMs !== undefined) assert.ok(cpuMs < wallMs * 0.25, `main thread used ${cpuMs} ms CPU in ${wallMs} ms`);
    } finally {
      delete process.env.ZPROXY_FIXTURE_FAIL_START;
    }
    try {
      const restarted = await waitForEvent(pool, 'worker-restarted', 2000);
      assert.ok(restarted.restarts >= 4, `restarts ${restarted.restarts}`);
      const stats = await pool.stats();
      assert.equal(stats.supervisor.restarts, restarted.restarts);
      assert.deepEqual(stats.workers.map((w) => w.state), ['ready', 'ready']);
    } finally {
      await pool.stop();
    }
  });

  test('reload is all-or-none: one worker refusing leaves every worker on the old config', async () => {
    const { pool, port } = await startPool(testConfig({}, { version: 1 }));
    try {
      const refused = await pool.reload(testConfig({}, { version: 2, rejectReloadOnWorker: 1 }));
      assert.deepEqual(refused, { ok: false, error: 'worker 1: worker 1 refuses config version 2' });
      let stats = await pool.stats();
      assert.deepEqual(stats.workers.map((w) => w.app), [
        { connections: 0, requests: 0, configVersion: 1, aborts: 1 },
        { connections: 0, requests: 0, configVersion: 1, aborts: 0 },
      ]);
      assert.deepEqual(await pool.reload(testConfig({}, { version: 3 })), { ok: true });
      stats = await pool.stats();
      assert.deepEqual(stats.workers.map((w) => (w.app as { configVersion: number }).configVersion), [3, 3]);
      assert.deepEqual([stats.supervisor.reloads, stats.supervisor.reloadFailures], [1, 1]);
      // A worker respawned after the reload boots with the new config.
      const restarted = waitForEvent(pool, 'worker-restarted', 3000);
      fireAndForget(port, '/exit');
      await restarted;
      stats = await pool.stats();
      assert.deepEqual(stats.workers.map((w) => (w.app as { configVersion: number }).configVersion), [3, 3]);
      const r = await httpGet(port);
      assert.equal(r.configVersion, 3);
    } finally {
      await pool.stop();
    }
  });

  test('reload refuses to move listeners', async () => {
    const { pool } = await startPool(testConfig());
    try {
      const moved = await pool.reload({ ...testConfig(), listeners: [{ name: 'web', address: '127.0.0.1', port: 1, mode: 'http' }] });
      assert.equal(moved.ok, false);
      if (!moved.ok) assert.match(moved.error, /^listeners changed from \[web 127\.0\.0\.1:0 http\] to \[web 127\.0\.0\.1:1 http\]; restart zproxy/);
    } finally {
      await pool.stop();
    }
  });

  test('an app without prepareReload is rolled back when another worker refuses', async () => {
    process.env.ZPROXY_FIXTURE_ONE_PHASE = '1';
    let started;
    try {
      started = await startPool(testConfig({}, { version: 1 }));
    } finally {
      delete process.env.ZPROXY_FIXTURE_ONE_PHASE;
    }
    const { pool } = started;
    try {
      const refused = await pool.reload(testConfig({}, { version: 2, rejectReloadOnWorker: 1 }));
      assert.equal(refused.ok, false);
      const stats = await pool.stats();
      assert.deepEqual(stats.workers.map((w) => (w.app as { configVersion: number }).configVersion), [1, 1]);
    } finally {
      await pool.stop();
    }
  });

  test('drain lets an in-flight request finish, closes idle keep-alive connections, then takes no new ones', async () => {
    const { pool, port, events } = await startPool(testConfig());
    try {
      const idle = net.connect(port, '127.0.0.1');
      idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(idle, 'data');
      const idleClosed = once(idle, 'close');
      const slow = httpGet(port, '/slow', 3000);
      await sleep(100);
      const t0 = performance.now();
      await pool.drain(2000);
      const drainMs = performance.now() - t0;
      assert.equal((await slow).status, 200);
      await idleClosed;
      assert.ok(drainMs > 100 && drainMs < 1500, `drain took ${drainMs} ms`);
      const finished = events.find((e) => e.kind === 'drain-finished');
      assert.ok(finished && finished.kind === 'drain-finished' && finished.failures === 0);
      await assert.rejects(httpGet(port, '/', 500));
    } finally {
      await pool.stop();
    }
  });

  test('start rejects with runtime.worker-start-failed when the app cannot start, and stops everything', async () => {
    process.env.ZPROXY_FIXTURE_FAIL_START = '1';
    const pool = new WorkerPool({ log: () => {} });
    try {
      await assert.rejects(pool.start(testConfig(), { appModule: FIXTURE_APP }), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'runtime.worker-start-failed');
        assert.match(err.message, /^worker [01] failed to start: start failed: internal: fixture app refuses to start$/);
        return true;
      });
    } finally {
      delete process.env.ZPROXY_FIXTURE_FAIL_START;
    }
    const stats = await pool.stats();
    assert.ok(stats.workers.every((w) => w.state === 'stopped' || w.state === 'starting'), JSON.stringify(stats.workers.map((w) => w.state)));
    await assert.rejects(httpGet(stats.listeners[0]!.port, '/', 500));
  });
});
