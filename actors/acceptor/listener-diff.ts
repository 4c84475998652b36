import type { RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { IndexedListener, ListenerView } from './acceptor-strategy.js';

/**
 * What a reload does to the sockets: which listeners to bind, which to
 * close, or why it cannot be done without a restart. A listener keeps its
 * socket when its name, address and port stay (port 0 stays "the port we
 * got"); anything else about it (mode, TLS, protocols) is the workers'
 * business and changes with the config commit. A moved listener is a
 * removal plus an addition.
 */

export interface ListenerChangePlan {
  /** New listeners to bind, with their index in the new config. */
  readonly added: readonly IndexedListener[];
  /** Keys of held listeners the new config no longer has. */
  readonly removed: readonly number[];
  /** Set when the change needs a restart; nothing else is then done. */
  readonly refusal?: string;
}

function where(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

export function planListenerChange(held: readonly ListenerView[], next: readonly RuntimeListenerConfig[]): ListenerChangePlan {
  const live = held.filter((v) => v.state === 'live');
  const kept = new Set<number>();
  const added: IndexedListener[] = [];
  next.forEach((config, index) => {
    const same = live.find((v) => !kept.has(v.key) && v.config.name === config.name && v.config.address === config.address && v.config.port === config.port);
    if (same) kept.add(same.key);
    else added.push({ index, config });
  });
  const removed = live.filter((v) => !kept.has(v.key));
  // The new socket is bound before the old one closes (so a failed bind changes nothing):
  // a port that a removed listener still holds cannot be bound again in the same reload.
  for (const a of added) {
    const clash = removed.find((r) => a.config.port !== 0 && r.bound.port === a.config.port);
    if (clash) {
      const what = clash.config.name === a.config.name ? `listener '${a.config.name}' moves from ${where(clash.config.address, clash.bound.port)} to ${where(a.config.address, a.config.port)}`
        : `listener '${a.config.name}' (listeners[${a.index}]) takes port ${a.config.port} from listener '${clash.config.name}'`;
      return { added: [], removed: [], refusal: `${what}: a port cannot change hands in one reload; use another port, or restart zproxy to apply this` };
    }
  }
  return { added, removed: removed.map((r) => r.key) };
}
