import type net from 'node:net';
import type { Worker } from 'node:worker_threads';
import type { AcceptorKind } from '../../src/platform/node-features.js';
import type { RuntimeListenerConfig } from '../supervisor/runtime-config.js';

/**
 * How connections get from a listening port to a worker thread. Every
 * strategy has two halves: the main-thread half binds the ports and keeps
 * them alive across worker deaths; the worker half starts accepting (or
 * receiving) connections and hands each one to the worker's app.
 *   shared    one listening socket, a dup of it in every worker (any Node)
 *   reuseport one socket per worker in an SO_REUSEPORT group (Node >= 22.12)
 *   handoff   the main thread accepts and transfers sockets (Node >= 24)
 * Listeners can change at run time (a reload): the main half binds added
 * ones before the config commits and releases removed ones after every
 * worker stopped accepting on them; worker halves get the change as an
 * 'acceptor.update-listeners' message (listener-updates.ts).
 */

/** A listener as bound: the real port (port 0 in the config becomes a real one). */
export interface BoundListener {
  readonly name: string;
  /** The IP literal bound. */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/**
 * What one worker needs per listener; travels in workerData (structured
 * clone) and in listener updates. `key` identifies the bound socket for the
 * life of the process (a reload that moves a listener gives it a new key).
 */
export type WorkerListenerPlan =
  | { readonly kind: 'shared'; readonly key: number; readonly name: string; readonly address: string; readonly port: number; readonly family: 4 | 6; readonly fd: number }
  | { readonly kind: 'reuseport'; readonly key: number; readonly name: string; readonly address: string; readonly port: number; readonly family: 4 | 6; readonly backlog: number }
  | { readonly kind: 'handoff'; readonly key: number; readonly name: string; readonly address: string; readonly port: number; readonly family: 4 | 6 };

/** A listener from a config, with its index there (for the JSON path in bind errors). */
export interface IndexedListener {
  readonly index: number;
  readonly config: RuntimeListenerConfig;
}

/**
 * pending: bound by a reload that has not committed; its connections wait.
 * live: serving. stopped: removed by a reload; the main half still holds it
 * until no worker does.
 */
export type ListenerState = 'pending' | 'live' | 'stopped';

/** One listener as the main half holds it. */
export interface ListenerView {
  readonly key: number;
  readonly config: RuntimeListenerConfig;
  readonly bound: BoundListener;
  readonly state: ListenerState;
}

/** Main thread to worker, on the worker's parentPort, with the socket in the transfer list. */
export interface ConnectionAssigned {
  readonly kind: 'acceptor.connection-assigned';
  readonly listenerName: string;
  readonly socket: net.Socket;
}

export interface MainAcceptor {
  readonly kind: AcceptorKind;
  /** Binds every listener. Rejects with a typed error ('acceptor.address-in-use', ...) naming the listener. */
  open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]>;
  /** Plans of the live listeners, for a worker being spawned or brought up to date. */
  workerPlans(): WorkerListenerPlan[];
  /** Every listener held, in any state (reload diffs, stats). */
  listenerViews(): readonly ListenerView[];
  /**
   * Reload, before commit: binds listeners a reload adds, as pending (not in
   * workerPlans(); handoff holds their connections). Rejects with a typed
   * error naming the listener, and then holds none of them.
   */
  add(listeners: readonly IndexedListener[]): Promise<readonly ListenerView[]>;
  /** Reload, after commit: pending listeners go live (in workerPlans(); handoff hands out what it held). */
  activate(keys: readonly number[]): void;
  /** Reload, before commit: these listeners take no more connections here (workers close their own sockets). */
  stopListening(keys: readonly number[]): void;
  /** Closes this half's socket of these listeners (pending or stopped) and forgets them. */
  release(keys: readonly number[]): void;
  /** The worker in `slot` is listening and serving: it may be given connections. */
  workerReady(slot: number, worker: Worker): void;
  /** The worker in `slot` died or is being replaced: give it nothing more. */
  workerGone(slot: number): void;
  /** No new connections from now on (drain); open ones are the workers' business. */
  stopAccepting(): Promise<void>;
  /** Releases the ports. */
  close(): Promise<void>;
}

/** Called by a worker acceptor for each connection the worker now owns. */
export type OnSocket = (socket: net.Socket, listenerName: string) => void;

export interface WorkerAcceptor {
  /** True when the main thread already counted the connection in the worker's slot (handoff). */
  readonly countedByMain: boolean;
  /**
   * Gets what listening will need, before the app is ready (the shared
   * strategy's fd dup costs a process fork, 80-260 ms, which overlaps the
   * app's import this way). Rejects with a typed error.
   */
  prepare(plans: readonly WorkerListenerPlan[]): Promise<void>;
  /** Starts accepting (after prepare); rejects with a typed error if a listener cannot be set up in this worker. */
  start(onSocket: OnSocket): Promise<void>;
  /** Stops taking new connections (drain); does not touch open ones. */
  stopAccepting(): Promise<void>;
}
