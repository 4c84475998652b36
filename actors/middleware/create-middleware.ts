/**
 * Instantiates a middleware from its config. The concrete middlewares beyond
 * header rewriting (auth, rate limit, CORS, cache, compression, plugins) are
 * their own issue; until each lands, a config naming it is refused at load
 * time with a clear error instead of silently passing traffic unchecked.
 */
import type { MiddlewareConfig } from '../../src/config/types.js';
import { ZproxyError } from '../../src/kernel/errors.js';
import { HeadersMiddleware } from './header-rules.js';
import type { Middleware } from './middleware.js';

export function createMiddleware(name: string, config: MiddlewareConfig): Middleware {
  switch (config.type) {
    case 'headers':
      return new HeadersMiddleware(name, config);
    case 'api-key':
    case 'rate-limit':
    case 'cors':
    case 'cache':
    case 'compression':
    case 'plugin':
      throw new ZproxyError({
        code: 'middleware.unsupported',
        message: `middleware '${name}': type '${config.type}' is not available in this build yet; remove it from /middleware/${name} and from the routes that use it`,
        source: 'middleware',
      });
  }
}
