import { isCandidate, type LoadBalancer } from './load-balancer.js';
import type { UpstreamHost } from './upstream-host.js';

/**
 * Fewest active connections across ALL workers (shared-memory counters),
 * weighted (active / weight), ties broken by rotating start so equal hosts
 * share load instead of the first one taking every tie.
 */
export class LeastConnections implements LoadBalancer {
  private rotation = 0;

  pick(hosts: readonly UpstreamHost[], now: number, tried: ReadonlySet<UpstreamHost> | undefined): UpstreamHost | undefined {
    let best: UpstreamHost | undefined;
    let bestScore = Infinity;
    const n = hosts.length;
    const start = this.rotation++ % (n || 1);
    for (let k = 0; k < n; k++) {
      const h = hosts[(start + k) % n]!;
      if (!isCandidate(h, now, tried)) continue;
      const score = h.activeAllWorkers / h.weight;
      if (score < bestScore) {
        bestScore = score;
        best = h;
      }
    }
    return best;
  }
}
