/**
 * Loads `plugin` middlewares: a user ES module named in the config,
 * imported when a worker starts or reloads (before its snapshot is built, so
 * a module that fails to load fails the start or aborts the reload instead
 * of failing requests). The contract is in docs/plugins.md:
 *
 *   export default function (options, info) { return { onRequest(ctx) {...}, onResponseHead(ctx, res) {...}, onDone(ctx, status) {...} }; }
 *
 * With `pool: true` the module instead exports `onRequest(request)`, run in
 * a piscina worker pool (plugin-pool.ts).
 */
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { PluginMiddlewareConfig, ZproxyConfig } from '../../../src/config/types.js';
import { ZproxyError } from '../../../src/kernel/errors.js';
import type { Middleware } from '../middleware.js';
import type { PoolPluginMiddleware } from './plugin-pool.js';

/** What the loader hands createMiddleware for one plugin middleware. */
export interface LoadedPlugin {
  create(): Middleware;
  /** Stops the plugin's worker pool, if any (the middleware is no longer used). */
  close(): Promise<void>;
}

/** Second argument of a plugin's factory. */
export interface PluginInfo {
  /** The middleware's name in the config. */
  readonly name: string;
}

type PluginFactory = (options: Record<string, unknown>, info: PluginInfo) => Partial<Omit<Middleware, 'name'>>;

function pluginError(config: PluginMiddlewareConfig, message: string): ZproxyError {
  return new ZproxyError({ code: 'middleware.plugin-invalid', message: `middleware '${config.name}' (${config.module}): ${message}`, source: 'middleware', context: { middleware: config.name, module: config.module } });
}

/**
 * The module's URL with its modification time: import() caches modules by
 * URL, so an edited plugin is loaded afresh on reload, an unchanged one is not.
 */
function moduleUrl(path: string): string {
  return `${pathToFileURL(path).href}?mtime=${Math.trunc(statSync(path).mtimeMs)}`;
}

export async function loadPlugin(config: PluginMiddlewareConfig): Promise<LoadedPlugin> {
  let mod: Record<string, unknown>;
  const url = moduleUrl(config.module);
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw pluginError(config, `cannot be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (config.pool) {
    if (typeof mod.onRequest !== 'function') throw pluginError(config, 'with pool: true the module must export a function onRequest(request)');
    // Piscina is imported only for a pooled plugin: workers without one start faster.
    const { PoolPluginMiddleware: Pooled } = await import('./plugin-pool.js');
    const middleware: PoolPluginMiddleware = new Pooled(config.name, url, config.options);
    return { create: () => middleware, close: () => middleware.close() };
  }
  const factory = (typeof mod.default === 'function' ? mod.default : mod.createMiddleware) as PluginFactory | undefined;
  if (typeof factory !== 'function') throw pluginError(config, 'must export a default function (options, info) => middleware');
  return {
    create: () => {
      const made = factory(config.options, { name: config.name });
      if (made === null || typeof made !== 'object') throw pluginError(config, 'the factory must return an object with onRequest, onResponseHead and/or onDone');
      const m: Middleware = { name: config.name };
      const out = m as { -readonly [K in keyof Middleware]: Middleware[K] };
      if (typeof made.onRequest === 'function') out.onRequest = made.onRequest.bind(made);
      if (typeof made.onResponseHead === 'function') out.onResponseHead = made.onResponseHead.bind(made);
      if (typeof made.onDone === 'function') out.onDone = made.onDone.bind(made);
      if (!m.onRequest && !m.onResponseHead && !m.onDone) throw pluginError(config, 'the factory returned no onRequest, onResponseHead or onDone function');
      return m;
    },
    close: async () => {},
  };
}

/**
 * One worker's loaded plugins across reloads: a reload whose plugin module,
 * options and pool flag did not change keeps the loaded plugin (and its warm
 * pool). Pools no longer used go idle and their threads exit (minThreads 0);
 * closeAll() at drain stops them all.
 */
export class PluginRegistry {
  private readonly loaded = new Map<string, LoadedPlugin>();

  /** Every plugin middleware of `config`, loaded, by middleware name. */
  async load(config: ZproxyConfig): Promise<Map<string, LoadedPlugin>> {
    const out = new Map<string, LoadedPlugin>();
    for (const m of Object.values(config.middleware)) {
      if (m.type !== 'plugin') continue;
      const id = `${m.name}\n${moduleUrl(m.module)}\n${m.pool}\n${JSON.stringify(m.options)}`;
      let p = this.loaded.get(id);
      if (p === undefined) {
        p = await loadPlugin(m);
        this.loaded.set(id, p);
      }
      out.set(m.name, p);
    }
    return out;
  }

  async closeAll(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
