/**
 * What middlewares need from the worker beyond their own config: state that
 * outlives one snapshot (rate-limit buckets shared by all workers, Redis
 * connections, loaded plugin modules). The worker app owns it and hands it
 * to createMiddleware on every build, so a reload keeps buckets, connections
 * and warm plugin pools.
 */
import type { SharedBuckets } from './rate-limit/shared-buckets.js';
import type { RedisLimiters } from './rate-limit/redis-limiter.js';
import type { LoadedPlugin } from './plugin/load-plugin.js';
import type { CacheClient } from '../cache/cache-client.js';

export interface MiddlewareEnv {
  readonly buckets: SharedBuckets;
  readonly redis: RedisLimiters;
  /** Plugins of the config being built, loaded, by middleware name. */
  readonly plugins: ReadonlyMap<string, LoadedPlugin>;
  /** This worker's link to the shared cache thread; absent when the proxy started without a cache middleware. */
  readonly cache?: CacheClient;
}
