/**
 * Compiles a validated config into the immutable ProxySnapshot sessions run
 * against. Upstream groups whose config did not change are carried over from
 * the previous snapshot, so a reload keeps their warm keep-alive pools.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ZproxyConfig } from '../../src/config/types.js';
import { RouteTable } from '../router/route-table.js';
import { compileRewrite } from '../router/rewrite-path.js';
import { UpstreamGroup, type SlotAllocator } from '../upstream-pool/upstream-group.js';
import type { DnsCache } from '../upstream-pool/dns-cache.js';
import { HeaderRules } from '../middleware/header-rules.js';
import type { Middleware } from '../middleware/middleware.js';
import type { CompiledRoute, ProxySnapshot, RemoteRouting } from '../session-http1/proxy-snapshot.js';
import type { RouteSpec } from '../router/router-actor.js';

/** The routes as the router thread needs them (same order as routeList). */
export function routeSpecs(config: ZproxyConfig): RouteSpec[] {
  return config.routes.map((r) => ({ host: r.host.length > 0 ? r.host : undefined, path: r.path, methods: r.methods.length > 0 ? r.methods : undefined }));
}
import { createMiddleware } from '../middleware/create-middleware.js';
import type { MiddlewareEnv } from '../middleware/middleware-env.js';

export interface BuiltSnapshot {
  readonly snapshot: ProxySnapshot;
  readonly groups: Map<string, UpstreamGroup>;
  /** Groups of the previous snapshot that are no longer used: close their idle connections. */
  readonly retired: UpstreamGroup[];
}

export function buildSnapshot(config: ZproxyConfig, generation: number, previous: Map<string, UpstreamGroup> | undefined, dns: DnsCache, slots: SlotAllocator, remoteRouter: RemoteRouting | undefined, middlewareEnv: MiddlewareEnv): BuiltSnapshot {
  const groups = new Map<string, UpstreamGroup>();
  for (const [name, gc] of Object.entries(config.upstreams)) {
    const old = previous?.get(name);
    groups.set(name, old && isDeepStrictEqual(old.config, gc) ? old : new UpstreamGroup(name, gc, dns, slots));
  }
  const retired: UpstreamGroup[] = [];
  if (previous) for (const [name, g] of previous) if (groups.get(name) !== g) retired.push(g);

  const middleware = new Map<string, Middleware>();
  for (const [name, mc] of Object.entries(config.middleware)) middleware.set(name, createMiddleware(name, mc, middlewareEnv));

  const entries = config.routes.map((r) => {
    const group = groups.get(r.upstream)!;
    const value: CompiledRoute = {
      name: r.name,
      group,
      rewritePath: r.rewrite?.path !== undefined ? compileRewrite(r.rewrite.path, r.path) : undefined,
      hostRewrite: r.rewrite?.host,
      requestRules: new HeaderRules(r.headers.request, `route '${r.name}' headers.request`),
      responseRules: new HeaderRules(r.headers.response, `route '${r.name}' headers.response`),
      middleware: r.middleware.map((m) => middleware.get(m)!),
      readTimeoutMs: r.timeouts.readMs ?? group.config.timeouts.readMs,
      writeTimeoutMs: group.config.timeouts.writeMs,
    };
    return { host: r.host.length > 0 ? r.host : undefined, path: r.path, methods: r.methods.length > 0 ? r.methods : undefined, value };
  });
  const limits = config.server.limits;
  const timeouts = config.server.timeouts;
  return {
    snapshot: {
      generation,
      routes: new RouteTable<CompiledRoute>(entries),
      routeList: entries.map((e) => e.value),
      remoteRouter,
      limits: {
        maxRequestLineBytes: limits.maxRequestLineBytes,
        maxHeaderBytes: limits.maxHeaderBytes,
        maxHeaderCount: limits.maxHeaderCount,
        maxBodyBytes: limits.maxBodyBytes,
        maxRequestsPerConnection: limits.maxRequestsPerConnection,
      },
      timeouts: { headerMs: timeouts.headerMs, clientIdleMs: timeouts.clientIdleMs, clientBodyMs: timeouts.clientBodyMs, drainIdleMs: timeouts.drainIdleMs },
    },
    groups,
    retired,
  };
}
