import { isCandidate, type LoadBalancer } from './load-balancer.js';
import type { UpstreamHost } from './upstream-host.js';

/** Ordered failover: always the first available host in config order. */
export class FirstAvailable implements LoadBalancer {
  pick(hosts: readonly UpstreamHost[], now: number, tried: ReadonlySet<UpstreamHost> | undefined): UpstreamHost | undefined {
    for (const h of hosts) if (isCandidate(h, now, tried)) return h;
    return undefined;
  }
}
