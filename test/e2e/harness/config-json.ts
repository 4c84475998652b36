/**
 * Config documents for e2e tests, as a user would write them (the loader
 * fills the defaults). Timeouts default short here so a test that hangs
 * fails in seconds, not minutes.
 */

export interface ConfigParts {
  /** Upstream groups by name: host ports on 127.0.0.1, or a full group object. */
  upstreams: Record<string, number[] | Record<string, unknown>>;
  /** Routes; default: one catch-all route `/*` to the first upstream. */
  routes?: Array<Record<string, unknown>>;
  /** Merged over the test defaults of `server` (one level deep: limits, timeouts). */
  server?: { limits?: Record<string, unknown>; timeouts?: Record<string, unknown>; placement?: 'local' | 'pipelined' | 'postmessage' };
  middleware?: Record<string, unknown>;
}

export function proxyConfig(parts: ConfigParts): Record<string, unknown> {
  const upstreams: Record<string, unknown> = {};
  for (const [name, u] of Object.entries(parts.upstreams)) {
    upstreams[name] = Array.isArray(u) ? { hosts: u.map((p) => `127.0.0.1:${p}`) } : u;
  }
  const first = Object.keys(parts.upstreams)[0]!;
  return {
    server: {
      workers: 1,
      ...(parts.server?.placement ? { placement: parts.server.placement } : {}),
      limits: { ...parts.server?.limits },
      timeouts: { headerMs: 5000, clientIdleMs: 10000, clientBodyMs: 5000, ...parts.server?.timeouts },
    },
    listeners: [{ name: 'http', address: '127.0.0.1', port: 0 }],
    upstreams,
    routes: parts.routes ?? [{ name: 'all', path: '/*', upstream: first }],
    middleware: parts.middleware ?? {},
    logging: { access: { enabled: false } },
    admin: { enabled: false },
    demo: { enabled: false },
  };
}

/** A group of hosts on 127.0.0.1 with extra group settings (timeouts, strategy, retries...). */
export function upstreamGroup(ports: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { hosts: ports.map((p) => `127.0.0.1:${p}`), ...extra };
}
