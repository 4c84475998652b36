/**
 * Fault: one of two workers is killed hard (the fault plugin calls
 * process.exit(1) on its thread) while keep-alive clients load the proxy.
 * Proves: the listener keeps answering through the other worker; the only
 * requests lost are those in flight when the worker died; every request sent
 * after the kill succeeds; the supervisor reports the replacement up
 * (GET /stats pool events) and it takes connections. The kill-to-up time is
 * printed and must stay under 1 s (the spare thread of server.restart.standby).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../e2e/cli/cli-process.js';
import { startOrigin } from '../e2e/cli/cli-config.js';
import { keepAliveLoad } from '../e2e/cli/client-load.js';
import { eventsOf, startFaultProxy, waitForPoolEvent, wallMs } from './fixtures/fault-proxy.js';

const CONCURRENCY = 6;
/** Kill to replacement up; see the comment at the assertion. */
const RESTART_BOUND_MS = 1000;

/** One request on its own connection that the worker dies serving: resolves with how it ended. */
function fatalRequest(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`answered ${res.statusCode}`));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('fault: a worker killed hard under load', { timeout: 60_000 }, () => {
  test('only the in-flight requests fail, requests sent after the kill succeed, and the replacement worker comes up', async (t) => {
    const origin = await startOrigin('a');
    const fp = await startFaultProxy({
      upstream: 'a', upstreams: { a: { hosts: [`127.0.0.1:${origin.port}`] } },
      // The documented defaults (docs/configuration.md#serverrestart), written out: the first respawn waits 100 ms.
      server: { restart: { maxRestarts: 5, withinMs: 10_000, backoffInitialMs: 100, backoffMaxMs: 5000 } },
    });
    const load = keepAliveLoad(fp.listenerPort, { concurrency: CONCURRENCY, maxRequests: 1_000_000 });
    try {
      await waitFor(() => load.responses.length >= 300, 15_000, '300 responses before the kill');
      const killSentMs = performance.now();
      const fatal = await fatalRequest(fp.listenerPort, '/fault/exit');
      const crashed = await waitForPoolEvent(fp, 'worker-crashed', 5000);
      const restarted = await waitForPoolEvent(fp, 'worker-restarted', 5000);
      // Load keeps running past the restart: the replacement must take connections too.
      const atRestart = load.sent();
      await waitFor(() => load.sent() >= atRestart + 300, 15_000, '300 requests after the restart');
      await load.stop();

      const killAtWall = crashed.atMs;
      const killSentWall = wallMs(killSentMs);
      const all = [
        ...load.responses.map((r) => ({ sent: wallMs(r.sentAtMs), end: wallMs(r.doneAtMs), ok: r.status === 200 })),
        ...load.failures.map((f) => ({ sent: wallMs(f.sentAtMs), end: wallMs(f.atMs), ok: false })),
      ];
      const failed = all.filter((r) => !r.ok);
      // The first reset the client saw is when the thread died: the requests in flight then are the ones it took down.
      const deathWall = failed.length > 0 ? Math.min(...failed.map((r) => r.end)) : killAtWall;
      const inFlight = all.filter((r) => r.sent <= deathWall && r.end >= deathWall).length;
      const failedInFlight = failed.filter((r) => r.sent <= deathWall);
      // A connection opened while the thread was being torn down can still be accepted by it and reset (shared acceptor).
      const failedInTeardown = failed.filter((r) => r.sent > deathWall);
      const after = all.filter((r) => r.sent > killAtWall);
      const whileDown = all.filter((r) => r.ok && r.sent > killAtWall && r.end < restarted.atMs);
      const restartMs = restarted.atMs - crashed.atMs;
      const stats = await fp.stats();
      t.diagnostic(`faults: worker-kill sent=${load.sent()} failed=${failed.length} (${load.failures.map((f) => f.error).join(',')}) inFlightAtKill=${inFlight} failedInFlight=${failedInFlight.length} failedInTeardown=${failedInTeardown.length} servedWhileDown=${whileDown.length} sentAfterKill=${after.length} restartMs=${restartMs} (from the fatal request ${Math.round(restarted.atMs - killSentWall)} ms; backoff 100 ms) fatalRequest=${fatal}`);

      assert.equal(crashed.exitCode, 1);
      assert.equal(crashed.reason, 'exited with code 1');
      assert.equal(restarted.workerId, crashed.workerId);
      assert.notEqual(fatal.startsWith('answered'), true, `the fatal request was answered: ${fatal}`);
      // A fresh worker thread boots in 0.4-0.7 s here (its ESM import) and 1.5-5 s while other jobs share the
      // cores; the replacement is the warmed spare (server.restart.standby), which only builds the app: ~0.3 s.
      assert.ok(restartMs < RESTART_BOUND_MS, `replacement up ${restartMs} ms after the kill`);
      assert.ok(failedInFlight.length <= inFlight && inFlight <= CONCURRENCY, `${failedInFlight.length} failed of ${inFlight} in flight when the worker died: ${JSON.stringify(load.failures)}`);
      assert.ok(failed.every((r) => r.end >= killSentWall), `a request failed before the fatal one was sent: ${JSON.stringify(failed)}`);
      assert.ok(failedInTeardown.every((r) => r.sent <= killAtWall), `a request sent after the supervisor saw the exit failed: ${JSON.stringify(failedInTeardown)}`);
      assert.deepEqual(after.filter((r) => !r.ok), [], 'a request sent after the kill failed');
      assert.ok(after.length >= 300);
      assert.ok(whileDown.length > 0, 'no request was answered while the worker was down');
      assert.deepEqual(load.responses.filter((r) => r.status !== 200 || !/^a \/load\/\d+\n$/.test(r.body)), [], 'every answer is a whole 200 from the origin');
      assert.deepEqual(stats.pool.workers.map((w) => [w.state, w.restarts]), stats.pool.workers.map((w) => ['ready', w.workerId === crashed.workerId ? 1 : 0]));
      assert.deepEqual([stats.pool.supervisor.crashes, stats.pool.supervisor.restarts, eventsOf(stats, 'worker-crashed').length], [1, 1, 1]);
      assert.equal(stats.pool.supervisor.standbyUsed, 1, 'the replacement was the warmed spare thread');
    } finally {
      await load.stop();
      await fp.proxy.kill();
      await origin.close();
    }
  });
});
