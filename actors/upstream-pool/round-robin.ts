import { isCandidate, type LoadBalancer } from './load-balancer.js';
import type { UpstreamHost } from './upstream-host.js';

/**
 * Smooth weighted round-robin (the nginx algorithm): each pick adds every
 * host's weight to its current score, takes the highest, and subtracts the
 * total, so weights 5:1:1 give a a b a c a a rather than bursts.
 */
export class RoundRobin implements LoadBalancer {
  private current: number[] = [];

  pick(hosts: readonly UpstreamHost[], now: number, tried: ReadonlySet<UpstreamHost> | undefined): UpstreamHost | undefined {
    if (this.current.length !== hosts.length) this.current = new Array<number>(hosts.length).fill(0);
    let best = -1;
    let total = 0;
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i]!;
      if (!isCandidate(h, now, tried)) continue;
      this.current[i]! += h.weight;
      total += h.weight;
      if (best < 0 || this.current[i]! > this.current[best]!) best = i;
    }
    if (best < 0) return undefined;
    this.current[best]! -= total;
    return hosts[best];
  }
}
