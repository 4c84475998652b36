import { isCandidate, type LoadBalancer } from './load-balancer.js';
import type { UpstreamHost } from './upstream-host.js';

/**
 * Host- or SNI-based affinity: the same key always lands on the same host
 * while it is available. Rendezvous (highest random weight) hashing, so a
 * host going down only moves the keys that were on it.
 */
export class KeyHash implements LoadBalancer {
  pick(hosts: readonly UpstreamHost[], now: number, tried: ReadonlySet<UpstreamHost> | undefined, key: string | undefined): UpstreamHost | undefined {
    const k = key ?? '';
    let best: UpstreamHost | undefined;
    let bestScore = -1;
    for (const h of hosts) {
      if (!isCandidate(h, now, tried)) continue;
      const score = fnv1a(k, h.index) * h.weight;
      if (score > bestScore) {
        bestScore = score;
        best = h;
      }
    }
    return best;
  }
}

/** FNV-1a 32-bit over the key, seeded by the host index. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed + 1, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) | 0x20; // case-insensitive: host names
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
