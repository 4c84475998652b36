import type net from 'node:net';
import type { ActorSystem } from '../../src/kernel/actor-system.js';
import type { RuntimeConfig } from '../supervisor/runtime-config.js';

/**
 * The seam between the runtime (threads, acceptors, supervision) and the
 * HTTP logic. Each worker thread imports one module exporting
 * `createWorkerApp: WorkerAppFactory` and hands it every connection it owns.
 *
 * TODO(lead): when src/config/types.ts lands, replace RuntimeConfig by
 * ZproxyConfig here (ZproxyConfig is structurally a RuntimeConfig).
 */
export type ZproxyConfig = RuntimeConfig;

export interface WorkerAppContext {
  readonly workerId: number;
  readonly threadId: number;
  /** The config last committed on this worker (a getter: it follows reloads). */
  readonly config: ZproxyConfig;
  readonly system: ActorSystem;
  /** Bumps this worker's heartbeat now; the runtime already beats on a timer, apps need not call it. */
  heartbeat(): void;
}

/** A reload validated and built but not yet visible: commit() swaps it in, abort() drops it. */
export interface PreparedReload {
  /** Makes the prepared config live. Must not fail: everything that can fail belongs in prepareReload. */
  commit(): void;
  /** Releases what prepareReload built (certificates, pools); the old config stays live. */
  abort(): void;
}

export interface WorkerApp {
  /** A client connection this worker now owns, accepted on listener `listenerName`. The app owns the socket from here on. */
  onConnection(socket: net.Socket, listenerName: string): void;
  /** Swap routes/upstreams/middleware/certificates atomically; rejects (with a message) if the app cannot apply it. */
  reload(config: ZproxyConfig): Promise<void>;
  /**
   * Optional first phase of a pool-wide reload (added by the runtime): validate
   * and build everything for `config` without applying it; reject with a
   * message if this worker cannot apply it. When every worker prepared, each
   * gets commit(); if any rejected, the others get abort(). Apps without it
   * get reload() as the first phase and reload(previous config) as the abort.
   */
  prepareReload?(config: ZproxyConfig): Promise<PreparedReload>;
  /**
   * Stop taking new requests, let in-flight ones finish, close idle keep-alive connections;
   * resolve when all connections are closed or the deadline passes.
   * `deadlineMs` is a duration: milliseconds from the call.
   */
  drain(deadlineMs: number): Promise<void>;
  /** JSON-able stats for the control plane (connections, requests, ...). */
  stats(): Record<string, unknown>;
}

export type WorkerAppFactory = (ctx: WorkerAppContext) => WorkerApp | Promise<WorkerApp>;
