import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';
import { startCli, tempDir, waitFor, writeJson } from '../cli/cli-process.js';
import { cliConfig, freePorts } from '../cli/cli-config.js';
import { hammer } from './hammer.js';

describe('rate-limit middleware responses', { timeout: 60_000 }, () => {
  let origin: RecordingOrigin;
  let proxy: ProxyHandle;

  before(async () => {
    origin = await startRecordingOrigin();
    proxy = await startProxy(proxyConfig({
      upstreams: { app: [origin.port] },
      routes: [
        { name: 'per-client', path: '/c/*', upstream: 'app', middleware: ['per-client'] },
        { name: 'per-key', path: '/k/*', upstream: 'app', middleware: ['auth', 'per-key'] },
      ],
      middleware: {
        // 1 token per 10 s: nothing refills during the test.
        'per-client': { type: 'rate-limit', rate: 0.1, burst: 2, key: 'header:X-Client' },
        auth: { type: 'api-key', keys: [{ name: 'a', key: 'key-a' }, { name: 'b', key: 'key-b' }] },
        'per-key': { type: 'rate-limit', rate: 0.1, burst: 1, key: 'api-key' },
      },
    }));
  });

  after(async () => {
    await proxy.close();
    await origin.close();
  });

  test('allowed responses carry RateLimit-*; an empty bucket answers 429 with Retry-After, without reaching the upstream', async () => {
    const first = await httpRequest(proxy.port, { path: '/c/1', headers: { 'x-client': 'one' } });
    assert.equal(first.status, 200);
    assert.deepEqual([first.headers['ratelimit-limit'], first.headers['ratelimit-remaining'], first.headers['ratelimit-reset']], ['2', '1', '10']);
    const second = await httpRequest(proxy.port, { path: '/c/2', headers: { 'x-client': 'one' } });
    assert.equal(second.headers['ratelimit-remaining'], '0');
    const before = origin.requests.length;
    const third = await httpRequest(proxy.port, { path: '/c/3', headers: { 'x-client': 'one' } });
    assert.equal(third.status, 429);
    assert.equal(third.headers['ratelimit-limit'], '2');
    assert.equal(third.headers['ratelimit-remaining'], '0');
    assert.equal(third.headers['retry-after'], '10');
    assert.equal(third.headers['ratelimit-reset'], '20');
    assert.equal(origin.requests.length, before);
    // Another header value has its own bucket.
    assert.equal((await httpRequest(proxy.port, { path: '/c/4', headers: { 'x-client': 'two' } })).status, 200);
  });

  test('keyed by api-key, each key name has its own bucket', async () => {
    assert.equal((await httpRequest(proxy.port, { path: '/k/1', headers: { 'x-api-key': 'key-a' } })).status, 200);
    assert.equal((await httpRequest(proxy.port, { path: '/k/2', headers: { 'x-api-key': 'key-a' } })).status, 429);
    assert.equal((await httpRequest(proxy.port, { path: '/k/3', headers: { 'x-api-key': 'key-b' } })).status, 200);
  });
});

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

describe('rate limit shared by the workers of one zproxy', { timeout: 90_000 }, () => {
  test('100 req/s holds within 5% across 2 workers under a client far faster than the limit', async (t) => {
    const origin = await startRecordingOrigin({ respond: (_rec, res) => res.end('ok') });
    const [listenerPort, adminPort] = await freePorts(2);
    const dir = tempDir('rate-limit');
    const log = path.join(dir, 'access.log');
    const file = path.join(dir, 'zproxy.json');
    const RATE = 100;
    const BURST = 20;
    const config = cliConfig({
      listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { app: origin.port },
      routes: [{ name: 'limited', path: '/*', upstream: 'app', middleware: ['limit'] }],
      access: { enabled: true, path: log, format: '$worker_id $status' },
    });
    config.middleware = { limit: { type: 'rate-limit', rate: RATE, burst: BURST, key: 'route' } };
    writeJson(file, config);
    const proxy = await startCli(file);
    try {
      const r = await hammer([listenerPort!], { concurrency: 12, durationMs: 3000 });
      const elapsedS = (r.lastSentMs - r.firstSentMs) / 1000;
      const expected = BURST + RATE * elapsedS;
      const allowed = r.count(200);
      const total = [...r.statuses.values()].reduce((a, b) => a + b, 0);
      const detail = `allowed ${allowed} of ${total} over ${elapsedS.toFixed(3)} s; expected ${expected.toFixed(1)}; statuses ${JSON.stringify([...r.statuses])}`;
      assert.equal(r.errors, 0, detail);
      assert.ok(r.count(429) > allowed, `the client must outrun the limit: ${detail}`);
      assert.ok(Math.abs(allowed - expected) <= expected * 0.05, detail);
      assert.equal(allowed + r.count(429), total, detail);
      // Both workers took part, so the limit held across them (not per worker: that would allow twice as much).
      await waitFor(() => readLines(log).length === total, 15_000, `${total} access log lines`);
      const byWorker = new Map<string, number>();
      for (const line of readLines(log)) if (line.endsWith(' 200')) byWorker.set(line.split(' ')[0]!, (byWorker.get(line.split(' ')[0]!) ?? 0) + 1);
      t.diagnostic(`${detail}; 200s by worker ${JSON.stringify([...byWorker])}`);
      assert.equal(byWorker.size, 2, `200s by worker: ${JSON.stringify([...byWorker])}; ${detail}`);
    } finally {
      await proxy.kill();
      await origin.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
