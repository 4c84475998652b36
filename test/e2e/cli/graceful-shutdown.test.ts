import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { runCli, startCli, tempDir, waitFor, writeJson } from './cli-process.js';
import { canTransferSockets, hasReusePort } from '../../../src/platform/node-features.js';
import { adminStats, cliConfig, freePorts, SLOW_MS, startOrigin } from './cli-config.js';
import { keepAliveLoad } from './client-load.js';

const DRAIN_MS = 3000;

interface Outcome { readonly status: number; readonly body: string; readonly doneAtMs: number }

/** One request on its own connection; resolves with the response or rejects with the connection error code. */
function request(port: number, urlPath: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, doneAtMs: performance.now() }));
      res.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
    });
    req.setTimeout(DRAIN_MS + 2000, () => req.destroy(new Error('no answer')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
  });
}

async function setup(): Promise<{ origin: Awaited<ReturnType<typeof startOrigin>>; file: string; listenerPort: number; adminPort: number }> {
  const origin = await startOrigin('a');
  const [listenerPort, adminPort] = await freePorts(2);
  const file = path.join(tempDir('drain'), 'zproxy.json');
  writeJson(file, cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: origin.port }, routes: [{ name: 'all', path: '/*', upstream: 'a' }], server: { timeouts: { drainMs: DRAIN_MS } } }));
  return { origin, file, listenerPort: listenerPort!, adminPort: adminPort! };
}

// Every test starts a real proxy; a hang must fail the test, not the run.
describe('graceful shutdown through the real CLI', { timeout: 60_000 }, () => {
  const strategies = (['shared', 'reuseport', 'handoff'] as const).filter((k) => k === 'shared' || (k === 'reuseport' ? hasReusePort() : canTransferSockets()));
  for (const acceptor of strategies) test(`SIGTERM under load: every request in flight completes, new connections are refused, exit 0 well within drainMs (acceptor ${acceptor})`, async (t) => {
    const s = await setup();
    const proxy = await startCli(s.file, [`--acceptor=${acceptor}`]);
    try {
      const load = keepAliveLoad(s.listenerPort, { concurrency: 4, maxRequests: 100_000 });
      await waitFor(() => load.responses.length >= 200, 10_000, '200 responses before the signal');
      // Slow requests (SLOW_MS upstream) that are in flight when the signal comes.
      const slow = Array.from({ length: 8 }, (_, i) => request(s.listenerPort, `/slow/${i}`));
      await waitFor(async () => (await adminStats(s.adminPort)).pool.workers.reduce((a: number, w: { app: { connections?: number } }) => a + (w.app.connections ?? 0), 0) >= 12, 5000, 'the slow requests to reach the proxy');
      const signalAtMs = performance.now();
      proxy.child.kill('SIGTERM');
      await waitFor(() => /"msg":"draining/.test(proxy.stderr()), 2000, 'the drain to start');
      const refused = await request(s.listenerPort, '/after-drain').then(() => 'answered', (err: Error) => err.message);
      const slowDone = await Promise.allSettled(slow);
      await load.stop();
      const { code, atMs } = await proxy.exited;
      const exitMs = atMs - signalAtMs;
      const early = load.failures.filter((f) => f.sentAtMs < signalAtMs);
      assert.equal(code, 0);
      assert.ok(exitMs < DRAIN_MS, `exit took ${exitMs} ms`);
      assert.ok(exitMs >= SLOW_MS - 100, `exit after ${exitMs} ms: before the slow requests could finish`);
      assert.equal(refused, 'ECONNREFUSED');
      assert.deepEqual(slowDone.map((r) => (r.status === 'fulfilled' ? `${r.value.status} ${r.value.body}` : `failed ${String(r.reason)}`)), Array.from({ length: 8 }, (_, i) => `200 a /slow/${i}\n`));
      // Every request the proxy started (the origin received it) completed at the client, whole.
      const completed = new Set(load.responses.map((r) => r.body));
      const started = s.origin.received.filter((u) => u.startsWith('/load/'));
      assert.deepEqual(started.filter((u) => !completed.has(`a ${u}\n`)), []);
      assert.ok(load.responses.every((r) => r.status === 200 && /^a \/load\/\d+\n$/.test(r.body)), 'every response is complete');
      t.diagnostic(`${acceptor}: exit ${Math.round(exitMs)} ms after SIGTERM (drainMs ${DRAIN_MS}); ${load.responses.length} keep-alive responses (${started.length} reached the origin), ${load.failures.length} refused or reset (${early.length} of them sent before the signal); new connection: ${refused}`);
      // The others never got a byte: refused or reset connections (a keep-alive connection the drain closed as the
      // request was on its way; with reuseport, a connection still in a closing worker's accept queue).
      assert.deepEqual(load.failures.filter((f) => !['ECONNREFUSED', 'ECONNRESET'].includes(f.error)), []);
      assert.ok(early.length <= 2, `${early.length} requests sent before the signal failed: ${JSON.stringify(early)}`);
      assert.match(proxy.stderr(), /"msg":"stopped"/);
    } finally {
      await proxy.kill();
      await s.origin.close();
    }
  });

  test('a second SIGTERM while draining exits at once', async () => {
    const s = await setup();
    const proxy = await startCli(s.file);
    try {
      const hanging = request(s.listenerPort, '/hang').catch((err: Error) => err.message);
      await waitFor(async () => (await adminStats(s.adminPort)).pool.workers.some((w: { app: { connections?: number } }) => (w.app.connections ?? 0) > 0), 5000, 'the request to reach the proxy');
      proxy.child.kill('SIGTERM');
      await waitFor(() => /"msg":"draining/.test(proxy.stderr()), 2000, 'the drain to start');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(proxy.child.exitCode, null, 'still draining: the request has not finished');
      const secondAtMs = performance.now();
      proxy.child.kill('SIGTERM');
      const { code, atMs } = await proxy.exited;
      assert.equal(code, 1);
      assert.ok(atMs - secondAtMs < 1000, `exit ${atMs - secondAtMs} ms after the second signal`);
      assert.match(proxy.stderr(), /SIGTERM again while draining: exiting now/);
      assert.equal(await hanging, 'ECONNRESET');
    } finally {
      await proxy.kill();
      await s.origin.close();
    }
  });

  test('`zproxy stop` drains and the process exits 0', async () => {
    const s = await setup();
    const proxy = await startCli(s.file);
    try {
      const slow = request(s.listenerPort, '/slow/stop');
      await waitFor(async () => (await adminStats(s.adminPort)).pool.workers.some((w: { app: { connections?: number } }) => (w.app.connections ?? 0) > 0), 5000, 'the request to reach the proxy');
      const stop = await runCli(['stop', '-c', s.file]);
      assert.deepEqual([stop.code, stop.stdout], [0, 'zproxy: stopping (draining connections)\n']);
      assert.deepEqual(await slow.then((r) => [r.status, r.body]), [200, 'a /slow/stop\n']);
      assert.equal((await proxy.exited).code, 0);
    } finally {
      await proxy.kill();
      await s.origin.close();
    }
  });
});
