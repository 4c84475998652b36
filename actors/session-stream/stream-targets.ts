/**
 * Compiles the config's stream listeners into StreamTargets against one
 * generation of upstream groups. Built at start and on each reload commit:
 * connections accepted after the commit use the new groups, open ones keep theirs.
 */
import type { ZproxyConfig } from '../../src/config/types.js';
import type { UpstreamGroup } from '../upstream-pool/upstream-group.js';
import { SniRoutes } from './sni-routes.js';
import type { StreamTarget } from './stream-session.js';

export function buildStreamTargets(config: ZproxyConfig, groups: ReadonlyMap<string, UpstreamGroup>): Map<string, StreamTarget> {
  const out = new Map<string, StreamTarget>();
  for (const l of config.listeners) {
    if (l.mode !== 'stream') continue;
    // The config checks guarantee every name below is a defined group.
    const readsHello = Object.keys(l.sni).length > 0 || l.tls?.passthrough === true;
    const routes: Record<string, UpstreamGroup> = {};
    for (const [name, group] of Object.entries(l.sni)) routes[name] = groups.get(group)!;
    const fallbackName = l.upstream ?? l.defaultUpstream;
    const fallback = fallbackName === undefined ? undefined : groups.get(fallbackName);
    out.set(l.name, {
      listenerName: l.name,
      group: fallback,
      sni: readsHello ? new SniRoutes(routes, undefined) : undefined,
      helloTimeoutMs: config.server.timeouts.headerMs,
    });
  }
  return out;
}
