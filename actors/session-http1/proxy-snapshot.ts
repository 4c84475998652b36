/**
 * The compiled, immutable view of the config one request runs against.
 * A reload builds a new snapshot and swaps one reference: a request captures
 * the snapshot when its head is parsed and keeps it to the end, so it sees
 * the old config or the new one, never a mix.
 */
import type { RouteTable } from '../router/route-table.js';
import type { RewriteFn } from '../router/rewrite-path.js';
import type { UpstreamGroup } from '../upstream-pool/upstream-group.js';
import type { HeaderRules } from '../middleware/header-rules.js';
import type { Middleware } from '../middleware/middleware.js';
import type { HeadLimits } from '../../src/protocol/http1/limits.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { RouterReply } from '../router/router-actor.js';

export interface CompiledRoute {
  readonly name: string;
  readonly group: UpstreamGroup;
  readonly rewritePath: RewriteFn | undefined;
  readonly hostRewrite: string | undefined;
  readonly requestRules: HeaderRules;
  readonly responseRules: HeaderRules;
  readonly middleware: readonly Middleware[];
  /** Upstream read timeout for this route (time to first byte and between bytes). */
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
}

export interface SessionTimeouts {
  readonly headerMs: number;
  readonly clientIdleMs: number;
  readonly clientBodyMs: number;
  /** Lame-duck window of a drain: see SessionActor.startDrain. */
  readonly drainIdleMs: number;
}

export interface SessionLimits extends HeadLimits {
  readonly maxBodyBytes: number;
  readonly maxRequestsPerConnection: number;
}

/** Where route matching runs when the placement is not `local` (actors/router/remote-router.ts). */
export interface RemoteRouting {
  match(generation: number, host: string | undefined, method: string, path: string, cb: (err: ErrorRecord | undefined, reply: RouterReply | undefined) => void): void;
}

export interface ProxySnapshot {
  readonly generation: number;
  readonly routes: RouteTable<CompiledRoute>;
  /** Compiled routes in config order: a remote match answers with an index into this. */
  readonly routeList: readonly CompiledRoute[];
  /** Set for the pipelined/postmessage placements: routing crosses to the router thread. */
  readonly remoteRouter: RemoteRouting | undefined;
  readonly limits: SessionLimits;
  readonly timeouts: SessionTimeouts;
}
