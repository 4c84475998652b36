import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { canTransferSockets, hasReusePort } from '../../../src/platform/node-features.js';
import { runCli, startCli, tempDir, waitFor, writeJson } from './cli-process.js';
import { adminStats, cliConfig, freePorts, startOrigin, type NamedOrigin } from './cli-config.js';
import { keepAliveLoad } from './client-load.js';

function get(port: number, urlPath = '/'): Promise<{ status: number; up: string | undefined; gen: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, up: res.headers['x-up'] as string | undefined, gen: res.headers['x-gen'] as string | undefined, body }));
    }).on('error', reject);
  });
}

async function requestsPerWorker(adminPort: number): Promise<number[]> {
  return (await adminStats(adminPort)).pool.workers.map((w: { app: { requestsTotal?: number } }) => w.app.requestsTotal ?? 0);
}

function connectError(port: number): Promise<string> {
  return get(port).then(() => 'answered', (err: NodeJS.ErrnoException) => err.code ?? err.message);
}

interface Setup {
  readonly a: NamedOrigin;
  readonly b: NamedOrigin;
  readonly file: string;
  readonly listenerPort: number;
  readonly adminPort: number;
  /** v1: every path to origin a. */
  readonly v1: Record<string, unknown>;
  /** v2: every path to origin b, with an x-gen: 2 response header. */
  readonly v2: Record<string, unknown>;
  close(): Promise<void>;
}

async function setup(server: Record<string, unknown> = {}): Promise<Setup> {
  const [a, b] = await Promise.all([startOrigin('a'), startOrigin('b')]);
  const [listenerPort, adminPort] = await freePorts(2);
  const file = path.join(tempDir('reload'), 'zproxy.json');
  const base = { listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: a.port, b: b.port }, server };
  const v1 = cliConfig({ ...base, routes: [{ name: 'all', path: '/*', upstream: 'a' }] });
  const v2 = cliConfig({ ...base, routes: [{ name: 'all', path: '/*', upstream: 'b', headers: { response: { set: { 'x-gen': '2' } } } }] });
  writeJson(file, v1);
  return { a, b, file, listenerPort: listenerPort!, adminPort: adminPort!, v1, v2, close: async () => { await a.close(); await b.close(); } };
}

// Every test starts a real proxy; a hang must fail the test, not the run.
describe('hot reload through the real CLI', { timeout: 60_000 }, () => {
  test('a valid reload under continuous keep-alive load loses no request, and every request sent after it sees the new config', async (t) => {
    const s = await setup();
    const proxy = await startCli(s.file);
    try {
      const load = keepAliveLoad(s.listenerPort, { concurrency: 6, maxRequests: 4000 });
      await waitFor(() => load.responses.length >= 300, 10_000, '300 responses before the reload');
      writeJson(s.file, s.v2);
      const reloadStartMs = performance.now();
      const reload = await runCli(['reload', '-c', s.file]);
      const reloadDoneMs = performance.now();
      assert.deepEqual([reload.code, reload.stdout], [0, 'zproxy: reloaded (config generation 2)\n'], reload.stderr);
      const atReload = load.responses.length;
      await waitFor(() => load.responses.length >= atReload + 300, 10_000, '300 responses after the reload');
      await load.stop();
      const during = load.responses.filter((r) => r.sentAtMs >= reloadStartMs && r.sentAtMs <= reloadDoneMs).length;
      t.diagnostic(`${load.sent()} requests, ${during} sent while the reload ran (${Math.round(reloadDoneMs - reloadStartMs)} ms incl. the reload command's own start), ${load.failures.length} failed`);
      assert.deepEqual(load.failures, []);
      assert.equal(load.responses.length, load.sent());
      assert.ok(load.responses.every((r) => r.status === 200), 'every status is 200');
      // Each request saw one config, whole: origin a without x-gen, or origin b with it.
      for (const r of load.responses) assert.ok((r.up === 'a' && r.gen === undefined) || (r.up === 'b' && r.gen === '2'), JSON.stringify(r));
      const after = load.responses.filter((r) => r.sentAtMs > reloadDoneMs);
      assert.ok(after.length >= 300);
      assert.deepEqual([...new Set(after.map((r) => `${r.up} ${r.gen}`))], ['b 2']);
      assert.ok(load.responses.some((r) => r.up === 'a'), 'requests before the reload went to a');
      const stats = await adminStats(s.adminPort);
      assert.deepEqual([stats.generation, stats.pool.supervisor.reloads], [2, 1]);
    } finally {
      await proxy.kill();
      await s.close();
    }
  });

  test('an invalid config is rejected: `zproxy reload` exits 1 naming the JSON path, the old config keeps serving', async () => {
    const s = await setup();
    const proxy = await startCli(s.file);
    try {
      const broken = structuredClone(s.v2) as { routes: Array<Record<string, unknown>> };
      broken.routes[0]!.upstream = 'bb';
      writeJson(s.file, broken);
      const reload = await runCli(['reload', '-c', s.file]);
      assert.equal(reload.code, 1);
      assert.equal(reload.stdout, '');
      assert.equal(reload.stderr, `zproxy: reload rejected, the previous config keeps serving:\nzproxy: ${s.file}: /routes/0/upstream: upstream "bb" is not defined in /upstreams (defined: a, b)\n`);
      await waitFor(() => /reload rejected, the running config keeps serving: zproxy: .*\/routes\/0\/upstream: upstream \\"bb\\" is not defined/.test(proxy.stderr()), 2000, 'the rejection in the proxy log');
      const r = await get(s.listenerPort, '/still');
      assert.deepEqual([r.status, r.up, r.gen, r.body], [200, 'a', undefined, 'a /still\n']);
      const stats = await adminStats(s.adminPort);
      assert.deepEqual([stats.generation, stats.pool.supervisor.reloads], [1, 0]);
    } finally {
      await proxy.kill();
      await s.close();
    }
  });

  const strategies = (['shared', 'reuseport', 'handoff'] as const).filter((k) => k === 'shared' || (k === 'reuseport' ? hasReusePort() : canTransferSockets()));
  for (const acceptor of strategies) {
    test(`a reload adding a listener makes its port answer in every worker; removing it closes the port (acceptor ${acceptor})`, async () => {
      const s = await setup();
      const proxy = await startCli(s.file, [`--acceptor=${acceptor}`]);
      try {
        const [extraPort] = await freePorts(1);
        const withExtra = cliConfig({ listenerPort: s.listenerPort, adminPort: s.adminPort, upstreams: { a: s.a.port, b: s.b.port }, routes: [{ name: 'all', path: '/*', upstream: 'a' }], extraListeners: [{ name: 'extra', address: '127.0.0.1', port: extraPort }] });
        assert.equal(await connectError(extraPort!), 'ECONNREFUSED');
        writeJson(s.file, withExtra);
        const added = await runCli(['reload', '-c', s.file]);
        assert.equal(added.code, 0, added.stderr);
        // Both workers accept on it: fresh connections until each worker served at least one.
        let perWorker = await requestsPerWorker(s.adminPort);
        for (let i = 0; i < 40 && perWorker.some((n) => n === 0); i++) {
          const r = await get(extraPort!, `/extra/${i}`);
          assert.deepEqual([r.status, r.up, r.body], [200, 'a', `a /extra/${i}\n`]);
          perWorker = await requestsPerWorker(s.adminPort);
        }
        assert.ok(perWorker.every((n) => n > 0), `requests per worker: ${perWorker.join('/')}`);
        assert.deepEqual((await adminStats(s.adminPort)).pool.listeners.map((l: { name: string; port: number }) => `${l.name}:${l.port}`), [`web:${s.listenerPort}`, `extra:${extraPort}`]);
        writeJson(s.file, s.v1);
        const removed = await runCli(['reload', '-c', s.file]);
        assert.equal(removed.code, 0, removed.stderr);
        assert.equal(await connectError(extraPort!), 'ECONNREFUSED');
        const r = await get(s.listenerPort, '/main');
        assert.deepEqual([r.status, r.up], [200, 'a']);
      } finally {
        await proxy.kill();
        await s.close();
      }
    });
  }

  test('a reload that moves a port to another listener in one step is refused with the reason', async () => {
    const s = await setup();
    const proxy = await startCli(s.file);
    try {
      const renamed = structuredClone(s.v1) as { listeners: Array<Record<string, unknown>> };
      renamed.listeners[0]!.name = 'front';
      writeJson(s.file, renamed);
      const reload = await runCli(['reload', '-c', s.file]);
      assert.equal(reload.code, 1);
      assert.equal(reload.stderr, `zproxy: reload rejected, the previous config keeps serving:\nlistener 'front' (listeners[0]) takes port ${s.listenerPort} from listener 'web': a port cannot change hands in one reload; use another port, or restart zproxy to apply this\n`);
      assert.equal((await get(s.listenerPort)).up, 'a');
    } finally {
      await proxy.kill();
      await s.close();
    }
  });

  test('with server.watchConfig, saving the file reloads it; a broken save is logged and changes nothing', async () => {
    const s = await setup({ watchConfig: true });
    const proxy = await startCli(s.file);
    try {
      const v2 = structuredClone(s.v2) as { server: Record<string, unknown> };
      v2.server.watchConfig = true;
      writeJson(s.file, v2);
      await waitFor(async () => (await get(s.listenerPort)).up === 'b', 5000, 'the saved config to serve');
      await waitFor(() => /"trigger":"file change".*"msg":"config reloaded"/.test(proxy.stderr()), 2000, 'the reload in the proxy log');
      const broken = structuredClone(s.v2) as { server: Record<string, unknown>; routes: Array<Record<string, unknown>> };
      broken.server.watchConfig = true;
      broken.routes[0]!.path = 'no-slash';
      writeJson(s.file, broken);
      await waitFor(() => /"trigger":"file change".*reload rejected/.test(proxy.stderr()), 5000, 'the rejection in the log');
      assert.match(proxy.stderr(), /reload rejected, the running config keeps serving: zproxy: .*: \/routes\/0\/path: /);
      const r = await get(s.listenerPort);
      assert.deepEqual([r.up, r.gen], ['b', '2']);
      assert.equal((await adminStats(s.adminPort)).generation, 2);
    } finally {
      await proxy.kill();
      await s.close();
    }
  });
});
