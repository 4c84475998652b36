/**
 * Fault: one of two workers hangs in a synchronous endless loop (the fault
 * plugin's `for (;;) {}`, a plugin bug that blocks the thread) while
 * keep-alive clients load the proxy. Proves: the watchdog
 * (server.watchdog.hangTimeoutMs, docs/configuration.md#serverwatchdog)
 * declares it hung within its bound and the supervisor replaces it; the
 * other worker keeps serving meanwhile; only requests on the hung worker's
 * connections fail; every request sent after the hang was declared succeeds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../e2e/cli/cli-process.js';
import { startOrigin } from '../e2e/cli/cli-config.js';
import { keepAliveLoad } from '../e2e/cli/client-load.js';
import { startFaultProxy, waitForPoolEvent, wallMs } from './fixtures/fault-proxy.js';

const CONCURRENCY = 6;
/** Short enough for a quick test, long enough that a busy (not hung) worker on a shared 2-core machine is never taken for hung. */
const HANG_TIMEOUT_MS = 1500;
/** The watchdog checks every 100 ms (actors/supervisor/watchdog.ts); the rest is main-thread scheduling on a loaded machine. */
const DETECTION_SLACK_MS = 1000;
/** Hang declared to replacement up: backoff (100 ms) plus a worker boot, seconds on a loaded machine (see worker-kill.test.ts). */
const REPLACE_BOUND_MS = 10_000;

/** One GET on a new connection: its status, or the error code. */
function probe(port: number, i: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/probe/${i}`, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('fault: a worker hung in a busy loop under load', { timeout: 60_000 }, () => {
  test('is replaced within the watchdog bound while the other worker keeps serving', async (t) => {
    const origin = await startOrigin('a');
    const fp = await startFaultProxy({
      upstream: 'a', upstreams: { a: { hosts: [`127.0.0.1:${origin.port}`] } },
      server: { watchdog: { hangTimeoutMs: HANG_TIMEOUT_MS, heartbeatIntervalMs: 100 } },
    });
    const load = keepAliveLoad(fp.listenerPort, { concurrency: CONCURRENCY, maxRequests: 1_000_000 });
    let hangOutcome = 'pending';
    try {
      await waitFor(() => load.responses.length >= 300, 15_000, '300 responses before the hang');
      const hangSentMs = performance.now();
      const hanging = new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: fp.listenerPort, path: '/fault/hang', agent: false }, (res) => {
          res.resume();
          res.on('end', () => { hangOutcome = `answered ${res.statusCode}`; resolve(); });
        });
        req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
        req.on('error', (err: NodeJS.ErrnoException) => { hangOutcome = err.code ?? err.message; resolve(); });
      });
      // Fresh connections while the worker is hung: only the other worker can accept and answer them (the
      // keep-alive load may sit entirely on the hung worker: the shared acceptor balances bursts badly).
      await new Promise((r) => setTimeout(r, 200));
      const probes: Array<{ sentWall: number; status: number | string }> = [];
      // Until the watchdog's log line (polling /stats would wait on the hung worker for 1 s each time).
      while (!/sent no heartbeat/.test(fp.proxy.stderr())) {
        if (performance.now() - hangSentMs > HANG_TIMEOUT_MS + DETECTION_SLACK_MS + 5000) break;
        const sentWall = wallMs(performance.now());
        probes.push({ sentWall, status: await probe(fp.listenerPort, probes.length) });
        await new Promise((r) => setTimeout(r, 100));
      }
      const hung = await waitForPoolEvent(fp, 'worker-hung', HANG_TIMEOUT_MS + DETECTION_SLACK_MS + 5000);
      const restarted = await waitForPoolEvent(fp, 'worker-restarted', REPLACE_BOUND_MS + 5000);
      await hanging;
      const atRestart = load.sent();
      await waitFor(() => load.sent() >= atRestart + 300, 15_000, '300 requests after the restart');
      await load.stop();

      const hangSentWall = wallMs(hangSentMs);
      const all = [
        ...load.responses.map((r) => ({ sent: wallMs(r.sentAtMs), end: wallMs(r.doneAtMs), ok: r.status === 200 })),
        ...load.failures.map((f) => ({ sent: wallMs(f.sentAtMs), end: wallMs(f.atMs), ok: false })),
      ];
      const failed = all.filter((r) => !r.ok);
      // Keep-alive requests answered entirely while the worker was hung: only the other worker could have (printed only).
      const servedDuringHang = all.filter((r) => r.ok && r.sent > hangSentWall + 100 && r.end < hung.atMs).length;
      const sentAfterHung = all.filter((r) => r.sent > hung.atMs);
      const detectMs = hung.atMs - hangSentWall;
      const replaceMs = restarted.atMs - hung.atMs;
      const stats = await fp.stats();
      t.diagnostic(`faults: worker-hang sent=${load.sent()} failed=${failed.length} (${load.failures.map((f) => f.error).join(',')}) servedDuringHang=${servedDuringHang} probesDuringHang=${probes.filter((p) => p.sentWall < hung.atMs && p.status === 200).length}/${probes.filter((p) => p.sentWall < hung.atMs).length} hangTimeoutMs=${HANG_TIMEOUT_MS} heartbeatAgeMs=${hung.heartbeatAgeMs} detectedMs=${Math.round(detectMs)} replacedMs=${replaceMs} (after detection) hangRequest=${hangOutcome}`);

      assert.ok(hung.heartbeatAgeMs! > HANG_TIMEOUT_MS && hung.heartbeatAgeMs! < HANG_TIMEOUT_MS + DETECTION_SLACK_MS, `heartbeat age ${hung.heartbeatAgeMs} ms when declared hung`);
      assert.ok(detectMs < HANG_TIMEOUT_MS + DETECTION_SLACK_MS, `declared hung ${detectMs} ms after the hang began`);
      assert.equal(restarted.workerId, hung.workerId);
      assert.ok(replaceMs < REPLACE_BOUND_MS, `replacement up ${replaceMs} ms after the hang was declared`);
      assert.match(hangOutcome, /^(ECONNRESET|socket hang up)$/, 'the request that hung the worker is cut when its thread is terminated');
      const probesDuringHang = probes.filter((p) => p.sentWall < hung.atMs);
      assert.ok(probesDuringHang.length >= 3, `${probesDuringHang.length} probes during the hang`);
      assert.deepEqual(probesDuringHang.filter((p) => p.status !== 200), [], 'a new connection was not answered while the worker was hung');
      // Only the hung worker's connections fail: each had one request in flight, sent before the termination.
      assert.ok(failed.length <= CONCURRENCY, `${failed.length} failed`);
      assert.ok(failed.every((r) => r.sent < hung.atMs), `a request sent after the hang was declared failed: ${JSON.stringify(failed)}`);
      assert.deepEqual(sentAfterHung.filter((r) => !r.ok), []);
      assert.ok(sentAfterHung.length >= 300);
      assert.deepEqual([stats.pool.supervisor.hangs, stats.pool.supervisor.restarts], [1, 1]);
      assert.deepEqual(stats.pool.workers.map((w) => w.state), ['ready', 'ready']);
      assert.match(fp.proxy.stderr(), new RegExp(`worker ${hung.workerId} sent no heartbeat for \\d+ ms; terminating it`));
    } finally {
      await load.stop();
      await fp.proxy.kill();
      await origin.close();
    }
  });
});
