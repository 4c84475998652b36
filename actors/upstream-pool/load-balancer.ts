import type { UpstreamHost } from './upstream-host.js';

/**
 * Picks the upstream host for one attempt. `tried` holds hosts already tried
 * for this request (retries go elsewhere); `key` is the routing key for
 * hash-based strategies (the request's Host, or the TLS SNI).
 * Returns undefined when no available host is left.
 */
export interface LoadBalancer {
  pick(hosts: readonly UpstreamHost[], now: number, tried: ReadonlySet<UpstreamHost> | undefined, key: string | undefined): UpstreamHost | undefined;
}

export function isCandidate(h: UpstreamHost, now: number, tried: ReadonlySet<UpstreamHost> | undefined): boolean {
  return h.isAvailable(now) && (tried === undefined || !tried.has(h));
}
