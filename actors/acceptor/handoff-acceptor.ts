import net from 'node:net';
import { parentPort, type Worker } from 'node:worker_threads';
import { monotonicMs, SharedCounters, WORKER_STATE } from '../supervisor/shared-counters.js';
import { DEFAULT_BACKLOG, type RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, ConnectionAssigned, IndexedListener, ListenerView, MainAcceptor, OnSocket, WorkerAcceptor, WorkerListenerPlan } from './acceptor-strategy.js';
import { bindFailure, resolveBindAddress } from './bind-address.js';
import { indexed, ListenerTable } from './listener-table.js';
import { serveListenerUpdates } from './listener-updates.js';

/**
 * 'handoff' strategy (Node >= 24): the main thread accepts every connection
 * (paused, so not one byte is read here) and transfers the socket to the
 * least-loaded worker: fewest open connections in the shared counters. The
 * count is raised here at assignment, so a burst of connections spreads out
 * before any worker has reported; the worker lowers it on close. A worker
 * being replaced, or whose heartbeat is late, gets nothing. With no worker
 * available, sockets wait in a bounded queue until one is ready.
 */

/** Sockets held while no worker can take them (all restarting); beyond this, new ones are dropped. */
const MAX_PENDING = 4096;

export interface HandoffOptions {
  readonly counters: SharedCounters;
  /** A worker whose last beat is older than this is skipped (probably hung; the watchdog decides). */
  readonly staleHeartbeatMs: number;
  readonly onError: (listenerName: string, err: Error) => void;
}

interface Pending {
  readonly socket: net.Socket;
  readonly listenerName: string;
}

export class HandoffMainAcceptor implements MainAcceptor {
  readonly kind = 'handoff' as const;
  private readonly table = new ListenerTable<net.Server>(
    async ({ index, config: l }, key) => {
      const addr = await resolveBindAddress(l.address);
      const name = l.name;
      const server = net.createServer({ pauseOnConnect: true }, (socket) => this.accepted(socket, key));
      await new Promise<void>((resolve, reject) => {
        const onListenError = (err: NodeJS.ErrnoException): void => reject(bindFailure({ index, name, address: l.address, port: l.port }, err.code ?? err.message, err.syscall ?? 'listen'));
        server.once('error', onListenError);
        server.listen({ host: addr.ip, port: l.port, backlog: l.backlog ?? DEFAULT_BACKLOG }, () => {
          server.off('error', onListenError);
          resolve();
        });
      });
      server.on('error', (err) => this.options.onError(name, err));
      return { handle: server, bound: { name, address: addr.ip, port: (server.address() as net.AddressInfo).port, family: addr.family } };
    },
    // Not waiting for close()'s callback: it waits for connections, and those belong to the workers.
    (server) => server.close(),
  );
  private readonly workers: Array<Worker | undefined> = [];
  private readonly pending: Pending[] = [];
  /** Connections of listeners a reload added but has not committed yet: the workers would not know their listener. */
  private readonly held: Array<{ readonly socket: net.Socket; readonly key: number }> = [];
  /** Where the next least-loaded search starts, so ties rotate instead of always picking worker 0. */
  private cursor = 0;
  private accepting = true;
  /** Connections dropped because no worker could take them (queue full, or stopping). */
  dropped = 0;

  constructor(private readonly options: HandoffOptions) {}

  async open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]> {
    return (await this.table.bind(indexed(listeners), 'live')).map((e) => e.bound);
  }

  workerPlans(): WorkerListenerPlan[] {
    return this.table.live().map((e) => ({ kind: 'handoff', key: e.key, ...e.bound }));
  }

  listenerViews(): readonly ListenerView[] {
    return this.table.views();
  }

  async add(listeners: readonly IndexedListener[]): Promise<readonly ListenerView[]> {
    return this.table.bind(listeners, 'pending');
  }

  activate(keys: readonly number[]): void {
    this.table.setState(keys, 'live');
    for (const h of this.held.splice(0)) this.accepted(h.socket, h.key);
  }

  stopListening(keys: readonly number[]): void {
    for (const e of this.table.setState(keys, 'stopped')) e.handle.close();
  }

  release(keys: readonly number[]): void {
    this.table.release(keys);
    const gone = new Set(keys);
    for (let i = this.held.length - 1; i >= 0; i--) {
      if (!gone.has(this.held[i]!.key)) continue;
      this.held[i]!.socket.destroy();
      this.held.splice(i, 1);
    }
  }

  workerReady(slot: number, worker: Worker): void {
    this.workers[slot] = worker;
    // Sockets that waited for a worker go out now, least-loaded first as usual.
    for (let p = this.pending.shift(); p !== undefined; p = this.pending.shift()) this.assign(p.socket, p.listenerName);
  }

  workerGone(slot: number): void {
    this.workers[slot] = undefined;
  }

  async stopAccepting(): Promise<void> {
    this.accepting = false;
    this.table.releaseAll();
  }

  async close(): Promise<void> {
    await this.stopAccepting();
    for (const p of this.pending.splice(0)) p.socket.destroy();
    for (const h of this.held.splice(0)) h.socket.destroy();
  }

  /** Per connection: one map lookup for its listener's state, then assign. */
  private accepted(socket: net.Socket, key: number): void {
    const entry = this.table.get(key);
    if (entry?.state === 'live') this.assign(socket, entry.config.name);
    else if (entry?.state === 'pending' && this.held.length < MAX_PENDING) this.held.push({ socket, key });
    else {
      this.dropped++;
      socket.destroy();
    }
  }

  /** Per connection: pick a worker with two Atomics loads per worker, transfer, done. */
  private assign(socket: net.Socket, listenerName: string): void {
    const slot = this.pick();
    if (slot < 0) {
      if (this.accepting && this.pending.length < MAX_PENDING) this.pending.push({ socket, listenerName });
      else {
        this.dropped++;
        socket.destroy();
      }
      return;
    }
    const { counters } = this.options;
    counters.assigned(slot);
    const msg: ConnectionAssigned = { kind: 'acceptor.connection-assigned', listenerName, socket };
    try {
      this.workers[slot]!.postMessage(msg, [socket as never]);
    } catch (err) {
      // The worker exited between pick() and here; the socket is still ours: try another one.
      counters.unassigned(slot);
      this.workers[slot] = undefined;
      this.options.onError(listenerName, err as Error);
      this.assign(socket, listenerName);
    }
  }

  /**
   * Least open connections among ready workers whose heartbeat is fresh; if
   * every ready worker is late (a loaded machine), the least loaded of them
   * anyway, rather than holding sockets until a respawn. -1 if none is ready.
   */
  private pick(): number {
    const { counters, staleHeartbeatMs } = this.options;
    const n = this.workers.length;
    const now = monotonicMs();
    let best = -1;
    let bestOpen = Infinity;
    let late = -1;
    let lateOpen = Infinity;
    for (let k = 0; k < n; k++) {
      const slot = (this.cursor + k) % n;
      if (this.workers[slot] === undefined || counters.state(slot) !== WORKER_STATE.ready) continue;
      const open = counters.open(slot);
      if (counters.heartbeatAgeMs(slot, now) > staleHeartbeatMs) {
        if (open < lateOpen) {
          late = slot;
          lateOpen = open;
        }
      } else if (open < bestOpen) {
        best = slot;
        bestOpen = open;
      }
    }
    if (best < 0) best = late;
    if (best >= 0) this.cursor = (best + 1) % n;
    return best;
  }
}

export class HandoffWorkerAcceptor implements WorkerAcceptor {
  readonly countedByMain = true;
  private onSocket: OnSocket | undefined;
  private readonly onMessage = (msg: { kind?: string }): void => {
    if (msg.kind !== 'acceptor.connection-assigned') return;
    const { socket, listenerName } = msg as ConnectionAssigned;
    // Sent before the main thread saw our drain: refuse it rather than leak it.
    if (this.onSocket) this.onSocket(socket, listenerName);
    else socket.destroy();
  };

  async prepare(plans: readonly WorkerListenerPlan[]): Promise<void> {
    for (const plan of plans) if (plan.kind !== 'handoff') throw new Error(`handoff acceptor got a '${plan.kind}' plan`);
  }

  async start(onSocket: OnSocket): Promise<void> {
    if (!parentPort) throw new Error('handoff acceptor runs in a worker thread');
    this.onSocket = onSocket;
    parentPort.on('message', this.onMessage);
    // Listener changes are the main thread's alone here: it accepts and tags each socket with its listener.
    serveListenerUpdates(async () => {});
  }

  async stopAccepting(): Promise<void> {
    this.onSocket = undefined;
  }
}
