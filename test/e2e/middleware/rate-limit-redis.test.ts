import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { startRecordingOrigin } from '../harness/recording-origin.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';
import { freeTcpPort, redisAvailable, startRedis } from './redis-server.js';
import { hammer } from './hammer.js';

const skip = redisAvailable() ? false : 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)';

function limitedConfig(originPort: number, limit: Record<string, unknown>): Record<string, unknown> {
  return proxyConfig({
    upstreams: { app: [originPort] },
    routes: [{ name: 'limited', path: '/*', upstream: 'app', middleware: ['limit'] }],
    middleware: { limit: { type: 'rate-limit', key: 'route', backend: 'redis', ...limit } },
  });
}

/** Collects this process's 'warning' events (how workers log) while `body` runs. */
async function withWarnings<T>(body: (warnings: string[]) => Promise<T>): Promise<T> {
  const warnings: string[] = [];
  const on = (w: Error): void => { warnings.push(w.message); };
  process.on('warning', on);
  try {
    return await body(warnings);
  } finally {
    process.off('warning', on);
  }
}

describe('rate limit shared through Redis', { timeout: 90_000, skip }, () => {
  test('two zproxy instances share one budget', async (t) => {
    const redis = await startRedis();
    const origin = await startRecordingOrigin({ respond: (_rec, res) => res.end('ok') });
    const RATE = 50;
    const BURST = 10;
    // Two instances (each with its own shared-memory table, as two processes have) and one Redis.
    const config = limitedConfig(origin.port, { rate: RATE, burst: BURST, redis: { url: redis.url } });
    const proxies: ProxyHandle[] = [await startProxy(config), await startProxy(config)];
    try {
      const r = await hammer(proxies.map((p) => p.port), { concurrency: 4, durationMs: 3000 });
      const elapsedS = (r.lastSentMs - r.firstSentMs) / 1000;
      const expected = BURST + RATE * elapsedS;
      const allowed = r.count(200);
      const detail = `allowed ${allowed} over ${elapsedS.toFixed(3)} s; expected ${expected.toFixed(1)} (two separate budgets would allow about twice that); statuses ${JSON.stringify([...r.statuses])}`;
      t.diagnostic(detail);
      assert.equal(r.errors, 0, detail);
      assert.ok(r.count(429) > allowed, detail);
      assert.ok(Math.abs(allowed - expected) <= expected * 0.05, detail);
    } finally {
      for (const p of proxies) await p.close();
      await origin.close();
      await redis.stop();
    }
  });

  test('Redis unreachable: failMode open passes (local limit still applies), closed answers 503; logged once; recovers', async () => {
    await withWarnings(async (warnings) => {
      const port = await freeTcpPort();
      const url = `redis://127.0.0.1:${port}`;
      const origin = await startRecordingOrigin({ respond: (_rec, res) => res.end('ok') });
      const open = await startProxy(limitedConfig(origin.port, { rate: 0.1, burst: 3, redis: { url, failMode: 'open' } }));
      const closed = await startProxy(limitedConfig(origin.port, { rate: 1000, burst: 1000, redis: { url, failMode: 'closed' } }));
      try {
        const openStatuses: number[] = [];
        for (let i = 0; i < 5; i++) openStatuses.push((await httpRequest(open.port)).status);
        // Redis down: the local bucket (burst 3, no refill within the test) still limits.
        assert.deepEqual(openStatuses, [200, 200, 200, 429, 429]);
        const closedStatuses: number[] = [];
        for (let i = 0; i < 3; i++) closedStatuses.push((await httpRequest(closed.port)).status);
        assert.deepEqual(closedStatuses, [503, 503, 503]);
        const down = warnings.filter((w) => w.includes('unreachable'));
        assert.equal(down.length, 2, `one line per connection (two instances), not per request: ${warnings.join('\n')}`);

        const redis = await startRedis(port);
        try {
          await new Promise((r) => setTimeout(r, 100));
          // ioredis reconnects with backoff (at most 2 s): the closed instance passes again once Redis answers.
          let status = 0;
          for (let i = 0; i < 100 && status !== 200; i++) {
            status = (await httpRequest(closed.port)).status;
            if (status !== 200) await new Promise((r) => setTimeout(r, 100));
          }
          assert.equal(status, 200);
          assert.ok(warnings.some((w) => w.includes('reachable again')), warnings.join('\n'));
        } finally {
          await redis.stop();
        }
      } finally {
        await open.close();
        await closed.close();
        await origin.close();
      }
    });
  });
});
