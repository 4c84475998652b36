import type net from 'node:net';
import type { ZproxyConfig } from '../../src/config/types.js';
import type { ActorSystem } from '../../src/kernel/actor-system.js';

/**
 * The seam between the runtime (threads, acceptors, supervision) and the
 * HTTP logic. Each worker thread imports one module exporting
 * `createWorkerApp: WorkerAppFactory` and hands it every connection it owns.
 * Added to the brief's shape: WorkerAppContext.appData, WorkerApp.prepareReload.
 */
export type { ZproxyConfig };

export interface WorkerAppContext {
  readonly workerId: number;
  readonly threadId: number;
  /** The config last committed on this worker (a getter: it follows reloads). */
  readonly config: ZproxyConfig;
  readonly system: ActorSystem;
  /**
   * What WorkerPool.start's `appData(workerId)` returned for this worker
   * (structured-cloned: SharedArrayBuffers stay shared); {} when not given.
   */
  readonly appData?: Readonly<Record<string, unknown>>;
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
  /**
   * Optional, for rebalancing: ask up to `count` client connections to close
   * (idle keep-alive ones at once, busy ones after their response; never a
   * tunnel). Returns how many were asked. Apps without it are never rebalanced.
   */
  closeConnections?(count: number): number;
  /** JSON-able stats for the control plane (connections, requests, ...). */
  stats(): Record<string, unknown>;
}

export type WorkerAppFactory = (ctx: WorkerAppContext) => WorkerApp | Promise<WorkerApp>;
