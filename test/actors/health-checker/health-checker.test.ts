import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminGet, baseConfig, Origin, request, scrape, startCli, waitFor, type CliProxy } from '../metrics/fixtures/zproxy-cli.js';
import { sampleValue } from '../metrics/fixtures/prometheus-parser.js';

/**
 * Upstream health with the real CLI and two workers: the main thread's
 * health checker probes each host once for all workers and its verdict,
 * like passive ejection, is read by every worker from shared memory.
 */

// fall 2 and a 250 ms timeout: one probe slowed by a loaded CI machine must not flap a healthy host.
const FAST_CHECK = { intervalMs: 250, timeoutMs: 250, path: '/health', rise: 2, fall: 2 };

let proxy: CliProxy | undefined;
let origins: Origin[] = [];

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  for (const o of origins) await o.kill();
  origins = [];
});

async function start(upstream: Record<string, unknown>, count: number): Promise<CliProxy> {
  origins = await Promise.all(Array.from({ length: count }, () => new Origin().listen()));
  proxy = await startCli(baseConfig({
    upstreams: { app: { hosts: origins.map((o) => `127.0.0.1:${o.port}`), strategy: 'round-robin', ...upstream } },
    routes: [{ name: 'api', path: '/*', upstream: 'app' }],
  }));
  return proxy;
}

async function healthy(p: CliProxy, o: Origin): Promise<number | undefined> {
  return sampleValue(await scrape(p.admin), 'zproxy_upstream_host_healthy', { upstream: 'app', host: `127.0.0.1:${o.port}` });
}

/** `n` sequential requests (one connection each); returns their statuses. */
async function burst(p: CliProxy, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await request(p.port, `/r${i}`)).status);
  return statuses;
}

async function events(p: CliProxy): Promise<Array<{ kind: string; upstream: string; host: string }>> {
  const stats = JSON.parse((await adminGet(p.admin, '/stats')).body) as { health: { events: Array<{ kind: string; upstream: string; host: string }> } };
  return stats.health.events;
}

describe('active health checks and passive ejection', () => {
  test('a killed upstream is ejected with no client-visible errors beyond in-flight ones, and returns after it recovers', async () => {
    const p = await start({ healthCheck: FAST_CHECK }, 3);
    const [a, b, c] = origins as [Origin, Origin, Origin];
    assert.deepEqual(new Set(await burst(p, 30)), new Set([200]));
    assert.ok(a.traffic() > 0 && b.traffic() > 0 && c.traffic() > 0, 'round robin reaches every host');

    // Two clients keep sending while b dies: only a request in flight on b at that moment may fail.
    let stop = false;
    const failures: number[] = [];
    let sentDuring = 0;
    const client = async (): Promise<void> => {
      while (!stop) {
        sentDuring++;
        const r = await request(p.port, '/during').catch(() => ({ status: 0 }));
        if (r.status !== 200) failures.push(r.status);
      }
    };
    const clients = [client(), client()];
    await new Promise((r) => setTimeout(r, 150));
    await b.kill();
    await waitFor('b marked down', async () => (await healthy(p, b)) === 0, 3000);
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await Promise.all(clients);
    assert.ok(sentDuring > 10, `the clients kept sending (${sentDuring})`);
    assert.ok(failures.length <= 2, `at most the 2 in-flight requests fail, got ${JSON.stringify(failures)}`);

    const beforeA = a.traffic();
    const beforeC = c.traffic();
    assert.deepEqual(new Set(await burst(p, 30)), new Set([200]));
    assert.equal(a.traffic() - beforeA + c.traffic() - beforeC, 30, 'every request went to a live host');
    assert.equal((await adminGet(p.admin, '/readyz')).status, 200, 'still ready: the group has healthy hosts');

    await b.listen(b.port);
    const revived = b.traffic();
    await waitFor('b marked up after rise=2 passing probes', async () => (await healthy(p, b)) === 1, 3000);
    await burst(p, 30);
    assert.ok(b.traffic() - revived >= 5, `b gets traffic again (${b.traffic() - revived} of 30)`);
    const seen = (await events(p)).filter((e) => e.host === `127.0.0.1:${b.port}`).map((e) => e.kind);
    assert.deepEqual(seen, ['upstream-down', 'upstream-up']);
  });

  test('a reachable host whose probe fails gets no traffic in any worker until the probe passes again', async () => {
    const p = await start({ healthCheck: FAST_CHECK }, 2);
    const [a, b] = origins as [Origin, Origin];
    b.healthStatus = 500;
    await waitFor('b marked down', async () => (await healthy(p, b)) === 0, 3000);
    const before = b.traffic();
    assert.deepEqual(new Set(await burst(p, 40)), new Set([200]));
    assert.equal(b.traffic(), before, 'no request reached the unhealthy host');
    assert.ok(a.traffic() >= 40);
    b.healthStatus = 200;
    await waitFor('b marked up', async () => (await healthy(p, b)) === 1, 3000);
    await burst(p, 20);
    assert.ok(b.traffic() > before, 'b serves again');
  });

  test('all hosts down answers 503 fast without connecting, and /readyz says which group', async () => {
    const p = await start({ healthCheck: FAST_CHECK }, 2);
    for (const o of origins) o.healthStatus = 503;
    await waitFor('both hosts down', async () => (await healthy(p, origins[0]!)) === 0 && (await healthy(p, origins[1]!)) === 0, 3000);
    const before = origins.map((o) => o.traffic());
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const r = await request(p.port, '/any');
      const ms = performance.now() - t0;
      assert.equal(r.status, 503);
      assert.ok(ms < 100, `503 in ${ms.toFixed(1)} ms`);
    }
    assert.deepEqual(origins.map((o) => o.traffic()), before, 'no request reached an upstream');
    const ready = await adminGet(p.admin, '/readyz');
    assert.deepEqual([ready.status, ready.body], [503, 'not ready: no healthy host in upstream app\n']);
    origins[1]!.healthStatus = 200;
    await waitFor('/readyz back to 200', async () => (await adminGet(p.admin, '/readyz')).status === 200, 3000);
  });

  test('passive ejection: consecutive 5xx on traffic take a host out of every worker for its cool-down', async () => {
    const p = await start({ passive: { maxFailures: 3, cooldownMs: 1500 } }, 2);
    const [a, b] = origins as [Origin, Origin];
    a.status = 500;
    // Round robin in each of the two workers: a sees its 3rd failure within the first dozen requests.
    const first = await burst(p, 12);
    assert.equal(first.filter((s) => s === 500).length, a.traffic());
    assert.ok(a.traffic() >= 3 && a.traffic() <= 6, `a failed ${a.traffic()} times before ejection`);
    await waitFor('a ejected in /metrics', async () => sampleValue(await scrape(p.admin), 'zproxy_upstream_host_ejected', { upstream: 'app', host: `127.0.0.1:${a.port}` }) === 1, 1000);
    const ejectedAt = a.traffic();
    assert.deepEqual(new Set(await burst(p, 20)), new Set([200]), 'while ejected every request goes to b');
    assert.equal(a.traffic(), ejectedAt);
    a.status = 200;
    await waitFor('cool-down over: a serves again', async () => {
      await burst(p, 4);
      return a.traffic() > ejectedAt;
    }, 4000);
    assert.ok(b.traffic() >= 20);
    // The health checker notices ejections on its 250 ms sweep.
    let kinds: string[] = [];
    await waitFor('the ejection and the restore as events', async () => {
      kinds = (await events(p)).filter((e) => e.host === `127.0.0.1:${a.port}`).map((e) => e.kind);
      return kinds.length >= 2;
    }, 1000);
    assert.deepEqual(kinds, ['upstream-ejected', 'upstream-restored']);
  });
});
