import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRedisClient, RedisLimiter, redactUrl } from '../../../actors/middleware/rate-limit/redis-limiter.js';
import { freeTcpPort, redisAvailable, startRedis } from '../../e2e/middleware/redis-server.js';

test('a Redis URL never reaches a log with its password', () => {
  assert.equal(redactUrl('redis://:hunter2@10.0.0.1:6379/0'), 'redis://:***@10.0.0.1:6379/0');
  assert.equal(redactUrl('rediss://app:hunter2@r.example:6380'), 'rediss://app:***@r.example:6380');
  assert.equal(redactUrl('redis://tokenonly@r'), 'redis://***@r');
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
});

const skip = redisAvailable() ? false : 'redis-server is not installed';

describe('RedisLimiter against a real redis-server', { timeout: 30_000, skip }, () => {
  // The worker app loads ioredis before building a config that names a Redis; so does this test.
  before(() => loadRedisClient());
  test('the Lua bucket allows the burst, then denies with the time to the next token', async () => {
    const redis = await startRedis();
    const logs: string[] = [];
    const limiter = new RedisLimiter(redis.url, (m) => logs.push(m));
    try {
      // 1 token per 10 s, burst 3.
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await limiter.take('k', 10e6, 30e6));
      assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false]);
      assert.ok(results[2]!.resetUs > 29e6 && results[2]!.resetUs <= 30e6, String(results[2]!.resetUs));
      assert.ok(results[3]!.retryAfterUs > 9e6 && results[3]!.retryAfterUs <= 10e6, String(results[3]!.retryAfterUs));
      assert.equal((await limiter.take('other', 10e6, 30e6)).allowed, true);
      assert.deepEqual(logs, []);
    } finally {
      limiter.close();
      await redis.stop();
    }
  });

  test('an unreachable Redis rejects fast and is logged once, without the password', async () => {
    const port = await freeTcpPort();
    const logs: string[] = [];
    const limiter = new RedisLimiter(`redis://:hunter2@127.0.0.1:${port}`, (m) => logs.push(m));
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await assert.rejects(limiter.take('k', 1e6, 1e6));
        assert.ok(performance.now() - t0 < 1000);
      }
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0]!, /unreachable/);
      assert.ok(!logs[0]!.includes('hunter2'));
    } finally {
      limiter.close();
    }
  });
});
