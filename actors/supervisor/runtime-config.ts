import type { AcceptorSetting } from '../../src/platform/node-features.js';
import type { RebalanceSettings } from './rebalancer.js';

/**
 * The parts of zproxy's config the runtime reads, declared structurally so
 * the runtime compiles on its own; src/config/types.ts's ZproxyConfig is
 * assignable to RuntimeConfig. Defaults here apply when a field is absent
 * (tests build partial configs); the config loader normally fills them.
 */

export interface RuntimeListenerConfig {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly mode: 'http' | 'stream';
  /** listen(2) backlog; default 511 like Node's net.Server. */
  readonly backlog?: number;
}

export interface RuntimeServerConfig {
  readonly workers: 'auto' | number;
  readonly acceptor: AcceptorSetting;
  readonly pinning: boolean;
  readonly watchdog: { readonly hangTimeoutMs: number; readonly heartbeatIntervalMs: number };
  /** standby: keep a warmed spare worker thread for restarts (default true). */
  readonly restart: { readonly maxRestarts: number; readonly withinMs: number; readonly backoffInitialMs: number; readonly backoffMaxMs: number; readonly standby?: boolean };
  readonly timeouts: { readonly drainMs: number };
  readonly rebalance: RebalanceSettings;
}

export interface RuntimeConfig {
  readonly server: RuntimeServerConfig;
  readonly listeners: readonly RuntimeListenerConfig[];
}

/** The schema's defaults (conf/zproxy.schema.json): a hang is 2 s without a heartbeat, beats every 100 ms. */
export const RUNTIME_DEFAULTS: RuntimeServerConfig = {
  workers: 'auto',
  acceptor: 'auto',
  pinning: false,
  watchdog: { hangTimeoutMs: 2000, heartbeatIntervalMs: 100 },
  restart: { maxRestarts: 5, withinMs: 10_000, backoffInitialMs: 100, backoffMaxMs: 5000, standby: true },
  timeouts: { drainMs: 10_000 },
  rebalance: { enabled: true, intervalMs: 5000, ratio: 1.5, minConnections: 64 },
};

/** listen(2) backlog when a listener does not set one: Node's net.Server default. */
export const DEFAULT_BACKLOG = 511;

/** The server section with every field present (partial test configs get the defaults). */
export function resolveServerConfig(config: { readonly server?: Partial<RuntimeServerConfig> }): RuntimeServerConfig {
  const s = config.server ?? {};
  return {
    workers: s.workers ?? RUNTIME_DEFAULTS.workers,
    acceptor: s.acceptor ?? RUNTIME_DEFAULTS.acceptor,
    pinning: s.pinning ?? RUNTIME_DEFAULTS.pinning,
    watchdog: { ...RUNTIME_DEFAULTS.watchdog, ...s.watchdog },
    restart: { ...RUNTIME_DEFAULTS.restart, ...s.restart },
    timeouts: { ...RUNTIME_DEFAULTS.timeouts, ...s.timeouts },
    rebalance: { ...RUNTIME_DEFAULTS.rebalance, ...s.rebalance },
  };
}
