/**
 * /readyz's upstream half: every upstream group has at least one host that
 * traffic may use (not down by active checks, not passively ejected), read
 * from the same shared slots the workers read. Synchronous and cheap: a few
 * Atomics loads per host.
 */
import type { UpstreamGroupConfig } from '../../src/config/types.js';
import { SharedHostHealth, type HealthSlotAllocator } from './shared-host-health.js';

/** Names of the groups with no available host; empty when every group can serve. */
export function groupsWithoutHealthyHost(upstreams: Readonly<Record<string, UpstreamGroupConfig>>, slots: HealthSlotAllocator): string[] {
  const out: string[] = [];
  for (const [name, g] of Object.entries(upstreams)) {
    if (!g.hosts.some((h) => new SharedHostHealth(slots, name, h.host, h.port).isAvailable())) out.push(name);
  }
  return out;
}
