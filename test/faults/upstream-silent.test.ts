/**
 * Fault: an upstream that accepts connections and reads requests but never
 * answers. Proves: each request gets a 504 at the group's read timeout (not
 * before, not much after); no request is retried once sent (one upstream
 * connection per request); and nothing leaks: after a few hundred such
 * requests the proxy holds no client connection and no upstream connection
 * (GET /stats), the silent server sees every connection closed by the
 * proxy, and the process RSS and the workers' V8 heap stay within a
 * generous bound of their level after a warm-up.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { waitFor } from '../e2e/cli/cli-process.js';
import { keepAliveLoad, type Load } from '../e2e/cli/client-load.js';
import { clientConnections, groupTotals, startFaultProxy, type FaultProxy, type Stats } from './fixtures/fault-proxy.js';

const READ_MS = 400;
const CONCURRENCY = 20;
const REQUESTS = 200;
/** Growth allowed after the warm-up: ~30x what 200 leaked sockets with their buffers would hold, far below a per-request leak of any size that matters. */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024;
const HEAP_GROWTH_BOUND = 32 * 1024 * 1024;

/** A server that accepts and reads, and never writes a byte; counts its open connections. */
async function startSilentServer(): Promise<{ port: number; accepted: () => number; open: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.resume();
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

function heapBytes(stats: Stats): number {
  return stats.pool.workers.reduce((a, w) => a + (w.app?.overload?.heapUsedBytes ?? 0), 0);
}

async function runWave(fp: FaultProxy, requests: number): Promise<Load> {
  const load = keepAliveLoad(fp.listenerPort, { concurrency: CONCURRENCY, maxRequests: requests, path: (i) => `/silent/${i}` });
  await load.finished;
  return load;
}

/** Waits until the proxy holds nothing for the finished requests; returns the stats then. */
async function settled(fp: FaultProxy, silentOpen: () => number): Promise<Stats> {
  let stats = await fp.stats();
  await waitFor(async () => {
    stats = await fp.stats();
    const g = groupTotals(stats, 'silent');
    return clientConnections(stats) === 0 && g.active === 0 && g.idle === 0 && silentOpen() === 0;
  }, 10_000, 'no client or upstream connection left');
  return stats;
}

describe('fault: an upstream that accepts but never answers', { timeout: 90_000, skip: fs.existsSync('/proc/self/status') ? false : 'reads RSS from /proc' }, () => {
  test('504 at the read timeout, no retry, and no growth in connections or memory', async (t) => {
    const silent = await startSilentServer();
    const fp = await startFaultProxy({
      upstream: 'silent', upstreams: { silent: { hosts: [`127.0.0.1:${silent.port}`], timeouts: { readMs: READ_MS } } },
      // Samples each worker's V8 heap (reported in /stats) without ever shedding: the threshold is the schema's maximum.
      server: { overload: { maxHeapUsedBytes: 2147483647, sampleIntervalMs: 100 }, watchdog: { hangTimeoutMs: 5000, heartbeatIntervalMs: 100 } },
    });
    try {
      const pid = fp.proxy.child.pid!;
      const warm = await runWave(fp, 2 * CONCURRENCY);
      const base = await settled(fp, silent.open);
      const baseRss = rssBytes(pid);
      const baseHeap = heapBytes(base);
      const acceptedBefore = silent.accepted();

      const t0 = performance.now();
      const load = await runWave(fp, REQUESTS);
      const elapsedMs = performance.now() - t0;
      const end = await settled(fp, silent.open);
      // The heap sample is taken every 100 ms: wait for one after the load.
      await new Promise((r) => setTimeout(r, 300));
      const endRss = rssBytes(pid);
      const endHeap = heapBytes(await fp.stats());
      const durations = load.responses.map((r) => r.doneAtMs - r.sentAtMs);
      const g = groupTotals(end, 'silent');
      t.diagnostic(`faults: upstream-silent requests=${REQUESTS} in ${Math.round(elapsedMs)} ms, statuses=${[...new Set(load.responses.map((r) => r.status))].join(',')} failed=${load.failures.length} readMs=${READ_MS} answerMs min=${Math.round(Math.min(...durations))} max=${Math.round(Math.max(...durations))} upstreamConnects=${silent.accepted() - acceptedBefore} rss ${(baseRss / 2 ** 20).toFixed(1)}->${(endRss / 2 ** 20).toFixed(1)} MiB heap(2 workers) ${(baseHeap / 2 ** 20).toFixed(1)}->${(endHeap / 2 ** 20).toFixed(1)} MiB; after: clients=${clientConnections(end)} upstream active=${g.active} idle=${g.idle} silentOpen=${silent.open()}`);

      assert.deepEqual(warm.failures, []);
      assert.deepEqual(load.failures, []);
      assert.equal(load.responses.length, REQUESTS);
      assert.deepEqual([...new Set(load.responses.map((r) => r.status))], [504]);
      // The read deadline is checked by a 100 ms sweep (Http1Session): never early, late by the sweep plus scheduling.
      assert.ok(Math.min(...durations) >= READ_MS - 5, `a 504 came after ${Math.min(...durations)} ms`);
      assert.ok(Math.max(...durations) < READ_MS + 3000, `a 504 came after ${Math.max(...durations)} ms`);
      assert.equal(silent.accepted() - acceptedBefore, REQUESTS, 'one upstream connection per request: none retried after it was sent');
      assert.ok(endRss - baseRss < RSS_GROWTH_BOUND, `RSS grew ${endRss - baseRss} bytes`);
      assert.ok(baseHeap > 0 && endHeap > 0, 'the workers report their heap');
      assert.ok(endHeap - baseHeap < HEAP_GROWTH_BOUND, `worker heaps grew ${endHeap - baseHeap} bytes`);
    } finally {
      await fp.proxy.kill();
      await silent.close();
    }
  });
});
