/**
 * Operations under a continuous load of concurrent keep-alive clients:
 * three config reloads (admin POST /reload, alternating the route's
 * upstream) and then SIGTERM. Proves: no request fails or is answered with
 * anything but a whole 200 across the reloads, each request sees one config
 * whole (origin a without x-gen, or origin b with x-gen: 2); the drain loses
 * nothing the proxy accepted (every request that reached an origin completed
 * at the client, no request sent before the signal failed) and the process
 * exits 0. Requests sent after the signal on an open keep-alive connection
 * are answered (with connection: close); only new connections fail, refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor, writeJson } from '../e2e/cli/cli-process.js';
import { startOrigin } from '../e2e/cli/cli-config.js';
import { keepAliveLoad } from '../e2e/cli/client-load.js';
import { startFaultProxy, type FaultProxy } from './fixtures/fault-proxy.js';

const CONCURRENCY = 6;
const RELOADS = 3;

function postReload(adminPort: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: adminPort, path: '/reload', method: 'POST', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer to POST /reload within 15 s')));
    req.on('error', reject);
    req.end();
  });
}

/** The config with every path routed to `upstream`; b's responses carry x-gen: 2. */
function routedTo(fp: FaultProxy, upstream: 'a' | 'b'): Record<string, unknown> {
  const route = { name: 'all', path: '/*', upstream, middleware: ['faults'], ...(upstream === 'b' ? { headers: { response: { set: { 'x-gen': '2' } } } } : {}) };
  return { ...fp.config, routes: [route] };
}

describe('operations under load: reloads, then a SIGTERM drain', { timeout: 90_000 }, () => {
  test('no request fails across three reloads and the drain', async (t) => {
    const [a, b] = await Promise.all([startOrigin('a'), startOrigin('b')]);
    const fp = await startFaultProxy({
      upstream: 'a', upstreams: { a: { hosts: [`127.0.0.1:${a.port}`] }, b: { hosts: [`127.0.0.1:${b.port}`] } },
      server: { timeouts: { drainMs: 5000 }, watchdog: { hangTimeoutMs: 5000, heartbeatIntervalMs: 100 } },
    });
    const load = keepAliveLoad(fp.listenerPort, { concurrency: CONCURRENCY, maxRequests: 1_000_000 });
    try {
      await waitFor(() => load.responses.length >= 200, 15_000, '200 responses before the first reload');
      const reloadMs: number[] = [];
      for (let i = 1; i <= RELOADS; i++) {
        writeJson(fp.configFile, routedTo(fp, i % 2 === 1 ? 'b' : 'a'));
        const t0 = performance.now();
        const r = await postReload(fp.adminPort);
        reloadMs.push(Math.round(performance.now() - t0));
        assert.equal(r.status, 200, r.body);
        assert.equal(JSON.parse(r.body).generation, i + 1);
        const at = load.responses.length;
        await waitFor(() => load.responses.length >= at + 200, 15_000, `200 responses after reload ${i}`);
      }
      const lastReloadDoneMs = performance.now();
      await waitFor(() => load.responses.filter((r) => r.sentAtMs > lastReloadDoneMs).length >= 100, 15_000, '100 responses after the last reload');
      const signalAtMs = performance.now();
      fp.proxy.child.kill('SIGTERM');
      const { code, atMs: exitAtMs } = await fp.proxy.exited;
      await load.stop();

      const beforeSignal = (ms: number): boolean => ms < signalAtMs;
      const failedBefore = load.failures.filter((f) => beforeSignal(f.sentAtMs));
      const failedAfter = load.failures.filter((f) => !beforeSignal(f.sentAtMs));
      const completed = new Set(load.responses.map((r) => r.body));
      const reached = [...a.received, ...b.received].filter((u) => u.startsWith('/load/'));
      const lost = reached.filter((u) => !completed.has(`a ${u}\n`) && !completed.has(`b ${u}\n`));
      const answeredAfterSignal = load.responses.filter((r) => !beforeSignal(r.sentAtMs)).length;
      t.diagnostic(`faults: reload-and-drain sent=${load.sent()} answered=${load.responses.length} failed=${load.failures.length} (before the signal ${failedBefore.length}; after it: refused ${failedAfter.filter((f) => f.error === 'ECONNREFUSED').length}, reset ${failedAfter.filter((f) => f.error === 'ECONNRESET').length}, on reused keep-alive connections ${failedAfter.filter((f) => f.reused).length}) reloads=${RELOADS} reloadMs=${reloadMs.join(',')} answeredAfterSignal=${answeredAfterSignal} lostAfterReachingOrigin=${lost.length} exit=${code} in ${Math.round(exitAtMs - signalAtMs)} ms`);

      assert.equal(code, 0);
      assert.match(fp.proxy.stderr(), /"msg":"stopped"/);
      assert.deepEqual(failedBefore, [], 'a request sent before the signal failed');
      assert.deepEqual(lost, [], 'a request reached an origin but its response never completed');
      assert.deepEqual(load.responses.filter((r) => r.status !== 200 || !/^[ab] \/load\/\d+\n$/.test(r.body)), [], 'every answer is a whole 200');
      for (const r of load.responses) assert.ok((r.up === 'a' && r.gen === undefined) || (r.up === 'b' && r.gen === '2'), `a response mixes two configs: ${JSON.stringify(r)}`);
      // Reloads 1 and 3 route to b, reload 2 back to a: requests sent after the last one all went to b.
      const afterLast = load.responses.filter((r) => r.sentAtMs > lastReloadDoneMs);
      assert.ok(afterLast.length > 0 && afterLast.every((r) => r.up === 'b'), 'the last reload did not take effect');
      assert.ok(load.responses.some((r) => r.up === 'a') && load.responses.some((r) => r.up === 'b'));
      // After the signal the listener is closed: a new connection is refused, or reset if it was still in the
      // kernel's accept queue when the listener closed. Keep-alive connections are not closed under a client
      // that may be writing on them: for server.timeouts.drainIdleMs each takes one more request, answered
      // with connection: close, so no request on a reused connection fails. Nothing else fails.
      assert.deepEqual(failedAfter.filter((f) => f.reused), [], 'a request on an open keep-alive connection failed after the signal');
      assert.deepEqual(failedAfter.filter((f) => f.error !== 'ECONNREFUSED' && f.error !== 'ECONNRESET'), [], 'a request sent after the signal failed other than by a refused or reset new connection');
    } finally {
      await load.stop();
      await fp.proxy.kill();
      await a.close();
      await b.close();
    }
  });
});
