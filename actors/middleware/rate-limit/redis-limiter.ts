/**
 * The Redis side of the rate limit: one bucket per key shared by every zproxy
 * instance that names the same Redis, so N processes behind a load balancer
 * hold one budget. The bucket is the same GCRA form as the shared-memory
 * table (shared-buckets.ts), updated by one Lua script: Redis runs a script
 * atomically, so concurrent instances never interleave a read and a write,
 * and it reads Redis's own clock (TIME), so instances' clocks may differ.
 *
 * Unreachable Redis: once the connection is known to be down, commands fail
 * at once (no queueing behind a dead connection) and the caller applies
 * failMode; a command never waits longer than REDIS_COMMAND_TIMEOUT_MS.
 * Only the first connection, at worker start, is waited for (its commands
 * queue until it is ready, within that timeout). The outage and the recovery
 * are each logged once, not per request.
 */
import type { Redis } from 'ioredis';

/**
 * ioredis is ~45 modules and a quarter of a worker's start time: it is
 * imported only when a config names a Redis (loadRedisClient, awaited by the
 * worker app before it builds such a config), so a respawned worker without
 * one serves sooner.
 */
let RedisClient: typeof Redis | undefined;

export async function loadRedisClient(): Promise<void> {
  RedisClient ??= (await import('ioredis')).Redis;
}

/**
 * KEYS[1] bucket; ARGV[1] T (µs per token), ARGV[2] tau (burst * T, µs).
 * Returns {allowed 0|1, TAT - now after the call (µs), retry-after (µs)}.
 * The key expires when its bucket is full again: an idle key costs nothing.
 */
const GCRA_LUA = `
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ahead = tat - now
local nxt = ahead + T
if nxt > tau then
  return {0, math.floor(ahead), math.ceil(nxt - tau)}
end
redis.call('SET', KEYS[1], string.format('%.0f', now + nxt), 'PX', math.ceil(nxt / 1000) + 1)
return {1, math.ceil(nxt), 0}
`;

/** A command slower than this counts as Redis being unreachable: a rate check must not add more latency. */
export const REDIS_COMMAND_TIMEOUT_MS = 250;
const CONNECT_TIMEOUT_MS = 1000;
/** Reconnect backoff: 50 ms doubling, capped at 2 s. */
const MAX_RECONNECT_DELAY_MS = 2000;

export interface RedisVerdict {
  readonly allowed: boolean;
  /** µs until the bucket is full again. */
  readonly resetUs: number;
  /** µs until a token is available (denied only). */
  readonly retryAfterUs: number;
}

type WithTake = Redis & { zproxyTake(key: string, intervalUs: string, tauUs: string): Promise<[number, number, number]> };

/** One connection to one Redis URL, shared by every rate-limit middleware of a worker that names it. */
export class RedisLimiter {
  private readonly client: WithTake;
  private down = false;
  private closing = false;

  constructor(readonly url: string, private readonly log: (message: string) => void = (m) => process.emitWarning(m, { code: 'ZPROXY_RATE_LIMIT' })) {
    if (RedisClient === undefined) throw new Error(`internal: a Redis limiter for ${redactUrl(url)} was built before loadRedisClient() resolved`);
    this.client = new RedisClient(url, {
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), MAX_RECONNECT_DELAY_MS),
    }) as WithTake;
    this.client.defineCommand('zproxyTake', { numberOfKeys: 1, lua: GCRA_LUA });
    // Without a listener ioredis prints every connection error; one line per outage is enough.
    this.client.on('error', (err: Error) => this.markDown(err.message));
    this.client.on('close', () => { if (!this.closing) this.markDown('connection closed'); });
    this.client.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.log(`rate limit: Redis ${redactUrl(this.url)} reachable again`);
    });
  }

  /** Takes one token from `key` in Redis; rejects when Redis cannot answer (the caller applies failMode). */
  async take(key: string, intervalUs: number, tauUs: number): Promise<RedisVerdict> {
    if (this.down) throw new Error('Redis unreachable');
    try {
      const [allowed, resetUs, retryAfterUs] = await this.client.zproxyTake(key, String(intervalUs), String(tauUs));
      return { allowed: allowed === 1, resetUs, retryAfterUs };
    } catch (err) {
      this.markDown(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  close(): void {
    this.closing = true;
    this.client.disconnect();
  }

  private markDown(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.log(`rate limit: Redis ${redactUrl(this.url)} unreachable (${reason}); applying failMode until it answers again`);
  }
}

/** redis://user:secret@host -> redis://user:***@host: a password never reaches a log. */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return `${scheme}${colon < 0 ? '***' : `${auth.slice(0, colon)}:***`}@`;
  });
}

/** The Redis connections of one worker by URL; they outlive reloads (a reload keeps its warm connection). */
export class RedisLimiters {
  private readonly byUrl = new Map<string, RedisLimiter>();

  get(url: string): RedisLimiter {
    let l = this.byUrl.get(url);
    if (l === undefined) {
      l = new RedisLimiter(url);
      this.byUrl.set(url, l);
    }
    return l;
  }

  closeAll(): void {
    for (const l of this.byUrl.values()) l.close();
    this.byUrl.clear();
  }
}
