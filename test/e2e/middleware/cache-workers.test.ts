/**
 * The cache across real worker threads: `zproxy start` with 2 workers and a
 * cache middleware (the cache thread started by the composition root).
 * Which worker served a response shows in its x-request-id (its first
 * character is the worker id).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingOrigin } from '../harness/recording-origin.js';
import { httpRequest } from '../harness/http-request.js';
import { startCli, tempDir, writeJson } from '../cli/cli-process.js';
import { cliConfig, freePorts } from '../cli/cli-config.js';
import path from 'node:path';

test("with 2 real workers, one worker's miss is the other's hit, and the admin purge reaches the cache thread", async () => {
  const origin = await startRecordingOrigin({
    respond: (rec, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300' });
      res.end(`body of ${rec.url}`);
    },
  });
  const [listenerPort, adminPort] = await freePorts(2);
  const config = cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { origin: origin.port }, routes: [{ name: 'all', path: '/*', upstream: 'origin', middleware: ['cache'] }] });
  config.middleware = { cache: { type: 'cache' } };
  const file = path.join(tempDir('zproxy-cache-workers-'), 'zproxy.json');
  writeJson(file, config);
  const proxy = await startCli(file);
  try {
    const first = await httpRequest(listenerPort!, { path: '/shared' });
    assert.equal(first.headers['x-cache'], 'MISS');
    const firstWorker = String(first.headers['x-request-id']).charAt(0);
    let other: { xCache: unknown; body: string } | undefined;
    // New connections in parallel batches until one lands on the other worker (bounded).
    for (let batch = 0; batch < 20 && other === undefined; batch++) {
      const rs = await Promise.all(Array.from({ length: 8 }, () => httpRequest(listenerPort!, { path: '/shared' })));
      for (const r of rs) {
        assert.equal(r.headers['x-cache'], 'HIT');
        if (String(r.headers['x-request-id']).charAt(0) !== firstWorker) other = { xCache: r.headers['x-cache'], body: r.body.toString() };
      }
    }
    assert.ok(other !== undefined, 'no connection landed on the second worker');
    assert.equal(other.body, 'body of /shared');
    assert.equal(origin.requests.filter((r) => r.url === '/shared').length, 1);

    const purge = await httpRequest(adminPort!, { method: 'POST', path: '/cache/purge', body: JSON.stringify({ all: true }) });
    assert.equal(purge.status, 200);
    assert.deepEqual(JSON.parse(purge.body.toString()), { purged: 1 });
    const after = await httpRequest(listenerPort!, { path: '/shared' });
    assert.equal(after.headers['x-cache'], 'MISS');
    assert.equal(origin.requests.filter((r) => r.url === '/shared').length, 2);
  } finally {
    await proxy.kill();
    await origin.close();
  }
});
