/**
 * Fault: a worker that dies at every start (the fault plugin's factory
 * throws while a marker file exists, as a plugin whose dependency is gone
 * would), entered by killing one of two workers once the marker is there.
 * Proves: the respawn delay grows (server.restart: 50, 100, 200, then the
 * 400 ms cap), past maxRestarts the supervisor logs one clear line saying
 * the worker is crash-looping and why; the main thread stays nearly idle
 * meanwhile (its CPU time from /proc, < 30% of one core; the whole
 * process's is printed too); the other worker keeps serving; and once the
 * cause is gone the worker comes back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { tempDir, waitFor } from '../e2e/cli/cli-process.js';
import { startOrigin } from '../e2e/cli/cli-config.js';
import { eventsOf, startFaultProxy, waitForPoolEvent } from './fixtures/fault-proxy.js';

const RESTART = { maxRestarts: 3, withinMs: 10_000, backoffInitialMs: 50, backoffMaxMs: 400 };
/** CPU is measured over at least this long, and until the crash loop reached its capped delay (a slow boot stretches it). */
const MIN_WINDOW_MS = 2000;
const MAX_WINDOW_MS = 30_000;
const MAIN_THREAD_CPU_BOUND = 0.3;

/** utime + stime of /proc/PID[/task/TID]/stat, in ms. */
function cpuMs(statFile: string, ticksPerSecond: number): number {
  const text = fs.readFileSync(statFile, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime and stime are fields 14 and 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

describe('fault: a worker that dies at every start', { timeout: 90_000, skip: fs.existsSync('/proc/self/task') ? false : 'reads CPU time from /proc' }, () => {
  test('backs off with growing delays, says so once clearly, keeps the main thread idle, and recovers', async (t) => {
    const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    const origin = await startOrigin('a');
    const marker = path.join(tempDir('faults-crash'), 'refuse-start');
    const fp = await startFaultProxy({
      upstream: 'a', upstreams: { a: { hosts: [`127.0.0.1:${origin.port}`] } },
      plugin: { refuseStartWhile: marker },
      server: { restart: RESTART, watchdog: { hangTimeoutMs: 5000, heartbeatIntervalMs: 100 } },
    });
    try {
      const pid = fp.proxy.child.pid!;
      fs.writeFileSync(marker, 'the fault plugin refuses to start while this file exists\n');
      const main0 = cpuMs(`/proc/${pid}/task/${pid}/stat`, ticksPerSecond);
      const proc0 = cpuMs(`/proc/${pid}/stat`, ticksPerSecond);
      const t0 = performance.now();
      await get(fp.listenerPort, '/fault/exit').then(() => assert.fail('the killed worker answered'), () => {});
      // Meanwhile the other worker is asked for a page every 100 ms: it must serve throughout.
      const served: number[] = [];
      // Crash 4 is past maxRestarts (3): the first backoff line; crash 5 the second, at the capped delay too.
      const loopDone = (): boolean => (fp.proxy.stderr().match(/backing off 400 ms/g) ?? []).length >= 2;
      while (!loopDone() || performance.now() - t0 < MIN_WINDOW_MS) {
        if (performance.now() - t0 > MAX_WINDOW_MS) assert.fail(`the crash loop did not reach its capped delay within ${MAX_WINDOW_MS} ms; log: ${fp.proxy.stderr()}`);
        served.push((await get(fp.listenerPort, `/during/${served.length}`)).status);
        await new Promise((r) => setTimeout(r, 100));
      }
      const wallMsSpent = performance.now() - t0;
      const mainCpu = cpuMs(`/proc/${pid}/task/${pid}/stat`, ticksPerSecond) - main0;
      const procCpu = cpuMs(`/proc/${pid}/stat`, ticksPerSecond) - proc0;
      const stats = await fp.stats();
      const crashes = eventsOf(stats, 'worker-crashed');
      const gaps = crashes.slice(1).map((c, i) => c.atMs - crashes[i]!.atMs);
      const backoffs = eventsOf(stats, 'worker-backoff');
      const stderr = fp.proxy.stderr();
      const delays = [...stderr.matchAll(/respawning in (\d+) ms|backing off (\d+) ms/g)].map((m) => Number(m[1] ?? m[2]));
      t.diagnostic(`faults: crash-loop crashes=${crashes.length} in ${Math.round(wallMsSpent)} ms, delays ${delays.join(',')} ms, gaps ${gaps.join(',')} ms; CPU over the window: main thread ${mainCpu} ms (${((100 * mainCpu) / wallMsSpent).toFixed(1)}% of a core), whole process ${procCpu} ms (${((100 * procCpu) / wallMsSpent).toFixed(1)}%); served by the other worker ${served.filter((s) => s === 200).length}/${served.length}`);

      assert.ok(crashes.length >= 5, `${crashes.length} crashes: ${JSON.stringify(crashes)}`);
      assert.equal(new Set(crashes.map((c) => c.workerId)).size, 1, 'only the killed worker crashes');
      assert.deepEqual([crashes[0]!.exitCode, crashes[0]!.reason], [1, 'exited with code 1']);
      for (const c of crashes.slice(1)) {
        assert.equal(c.exitCode, 78, 'the respawns fail at start (EX_CONFIG)');
        assert.match(c.reason!, /fault plugin: .*refuse-start exists, refusing to start/);
      }
      // The delays the supervisor chose: doubling from backoffInitialMs, then the cap; the crashes are at least that far apart.
      assert.deepEqual(delays.slice(0, 5), [50, 100, 200, 400, 400]);
      assert.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]!), `delays ${delays.join(',')}`);
      gaps.forEach((gap, i) => assert.ok(gap >= delays[i]!, `crash ${i + 1} came ${gap} ms after crash ${i}, the delay was ${delays[i]} ms`));
      // Past maxRestarts: one clear line naming the worker, the count, the window, the cause and the delay.
      assert.ok(backoffs.length >= 1);
      assert.match(backoffs[0]!.message!, /^worker [01] crashed 4 times in 10 s \(last: .*fault plugin: .*refusing to start.*\); backing off 400 ms$/);
      assert.ok(stderr.includes(JSON.stringify(backoffs[0]!.message).slice(1, -1)), 'the backoff message is in the proxy log');
      assert.ok(mainCpu < wallMsSpent * MAIN_THREAD_CPU_BOUND, `main thread used ${mainCpu} ms CPU in ${wallMsSpent} ms`);
      assert.ok(served.length >= 5 && served.every((s) => s === 200), `statuses while crash-looping: ${served.join(',')}`);

      // The cause goes away: the next respawn starts, and both workers serve.
      fs.rmSync(marker);
      const recovered = await waitForPoolEvent(fp, 'worker-restarted', 15_000);
      assert.equal(recovered.workerId, crashes[0]!.workerId);
      await waitFor(async () => (await fp.stats()).pool.workers.every((w) => w.state === 'ready'), 5000, 'both workers ready');
      assert.equal((await get(fp.listenerPort, '/after')).status, 200);
    } finally {
      await fp.proxy.kill();
      await origin.close();
    }
  });
});
