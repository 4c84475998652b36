/**
 * Instantiates a middleware from its config. A type not built yet is refused
 * at load time with a clear error instead of silently passing traffic
 * unchecked. `env` carries the state that outlives a snapshot (shared
 * rate-limit buckets, Redis connections, loaded plugins).
 */
import type { MiddlewareConfig } from '../../src/config/types.js';
import { ZproxyError } from '../../src/kernel/errors.js';
import { HeadersMiddleware } from './header-rules.js';
import type { Middleware } from './middleware.js';
import type { MiddlewareEnv } from './middleware-env.js';
import { ApiKeyMiddleware } from './api-key.js';
import { CorsMiddleware } from './cors.js';
import { RateLimitMiddleware } from './rate-limit/rate-limit.js';
import { CacheMiddleware } from './cache-middleware.js';
import { CompressionMiddleware } from './compression.js';

export function createMiddleware(name: string, config: MiddlewareConfig, env: MiddlewareEnv): Middleware {
  switch (config.type) {
    case 'headers':
      return new HeadersMiddleware(name, config);
    case 'api-key':
      return new ApiKeyMiddleware(name, config);
    case 'rate-limit':
      return new RateLimitMiddleware(name, config, env.buckets, config.backend === 'redis' && config.redis ? env.redis.get(config.redis.url) : undefined);
    case 'cors':
      return new CorsMiddleware(name, config);
    case 'plugin': {
      const plugin = env.plugins.get(name);
      if (plugin === undefined) {
        throw new ZproxyError({ code: 'middleware.plugin-not-loaded', message: `middleware '${name}': plugin module was not loaded before the build`, source: 'middleware' });
      }
      return plugin.create();
    }
    case 'cache':
      if (env.cache === undefined) {
        // The cache thread starts with the proxy when the config it starts with has a cache.
        throw new ZproxyError({ code: 'middleware.cache-unavailable', message: `middleware '${name}': no cache thread is running (the proxy started without a cache middleware); restart zproxy to add one`, source: 'middleware' });
      }
      return new CacheMiddleware(name, config, env.cache);
    case 'compression':
      return new CompressionMiddleware(name, config);
  }
}
