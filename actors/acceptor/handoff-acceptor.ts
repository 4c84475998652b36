import net from 'node:net';
import { parentPort, type Worker } from 'node:worker_threads';
import { monotonicMs, SharedCounters, WORKER_STATE } from '../supervisor/shared-counters.js';
import { DEFAULT_BACKLOG, type RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, ConnectionAssigned, MainAcceptor, OnSocket, WorkerAcceptor, WorkerListenerPlan } from './acceptor-strategy.js';
import { bindFailure, resolveBindAddress } from './bind-address.js';

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
  private readonly servers: Array<{ readonly server: net.Server; readonly name: string }> = [];
  private readonly workers: Array<Worker | undefined> = [];
  private readonly pending: Pending[] = [];
  /** Where the next least-loaded search starts, so ties rotate instead of always picking worker 0. */
  private cursor = 0;
  private accepting = true;
  /** Connections dropped because no worker could take them (queue full, or stopping). */
  dropped = 0;

  constructor(private readonly options: HandoffOptions) {}

  async open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]> {
    const bound: BoundListener[] = [];
    try {
      for (let index = 0; index < listeners.length; index++) {
        const l = listeners[index]!;
        const addr = await resolveBindAddress(l.address);
        const name = l.name;
        const server = net.createServer({ pauseOnConnect: true }, (socket) => this.assign(socket, name));
        await new Promise<void>((resolve, reject) => {
          const onListenError = (err: NodeJS.ErrnoException): void => reject(bindFailure({ index, name, address: l.address, port: l.port }, err.code ?? err.message, err.syscall ?? 'listen'));
          server.once('error', onListenError);
          server.listen({ host: addr.ip, port: l.port, backlog: l.backlog ?? DEFAULT_BACKLOG }, () => {
            server.off('error', onListenError);
            resolve();
          });
        });
        server.on('error', (err) => this.options.onError(name, err));
        this.servers.push({ server, name });
        bound.push({ name, address: addr.ip, port: (server.address() as net.AddressInfo).port, family: addr.family });
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return bound;
  }

  workerPlans(): WorkerListenerPlan[] {
    return this.servers.map(({ server, name }) => {
      const a = server.address() as net.AddressInfo;
      return { kind: 'handoff', name, address: a.address, port: a.port, family: a.family === 'IPv6' ? 6 : 4 };
    });
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
    // Not waiting for close()'s callback: it waits for connections, and those belong to the workers.
    for (const { server } of this.servers.splice(0)) server.close();
  }

  async close(): Promise<void> {
    if (this.servers.length > 0) await this.stopAccepting();
    for (const p of this.pending.splice(0)) p.socket.destroy();
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
  }

  async stopAccepting(): Promise<void> {
    this.onSocket = undefined;
  }
}
