import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { ZproxyError } from '../../src/kernel/errors.js';
import { DEFAULT_BACKLOG, type RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, IndexedListener, ListenerView, MainAcceptor, OnSocket, WorkerAcceptor, WorkerListenerPlan } from './acceptor-strategy.js';
import { resolveBindAddress } from './bind-address.js';
import { bindListening, boundPort, dupListening, type RawListenHandle } from './fd-broker.js';
import { indexed, ListenerTable, type ListenerEntry } from './listener-table.js';
import { serveListenerUpdates } from './listener-updates.js';

/**
 * 'shared' strategy (works on every Node we support): one listening socket
 * per listener, one accept queue, every worker accepting from its own dup of
 * the fd. The main thread holds the original fd without polling it, so the
 * port and its queued connections outlive any worker: a dying worker closes
 * only its dup, and connections waiting in the queue go to the others.
 * Worker threads cannot simply wrap the main thread's fd: the fd table is
 * per process, and the first worker to die would close it for everyone.
 * The socket closes (and the port refuses) once the main thread and every
 * worker closed their fds: at drain, or when a reload removes the listener.
 */

export class SharedMainAcceptor implements MainAcceptor {
  readonly kind = 'shared' as const;
  private readonly table = new ListenerTable<RawListenHandle>(
    async ({ index, config: l }) => {
      const addr = await resolveBindAddress(l.address);
      const handle = await bindListening({ index, name: l.name, address: l.address, port: l.port }, addr, l.backlog ?? DEFAULT_BACKLOG);
      return { handle, bound: { name: l.name, address: addr.ip, port: boundPort(handle), family: addr.family } };
    },
    (handle) => handle.close(),
  );

  async open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]> {
    return (await this.table.bind(indexed(listeners), 'live')).map((e) => e.bound);
  }

  workerPlans(): WorkerListenerPlan[] {
    return this.table.live().map(plan);
  }

  listenerViews(): readonly ListenerView[] {
    return this.table.views();
  }

  async add(listeners: readonly IndexedListener[]): Promise<readonly ListenerView[]> {
    // Listening from here on: the kernel queues connections until workers accept them (after the commit).
    return this.table.bind(listeners, 'pending');
  }

  activate(keys: readonly number[]): void {
    this.table.setState(keys, 'live');
  }

  stopListening(keys: readonly number[]): void {
    this.table.setState(keys, 'stopped');
  }

  release(keys: readonly number[]): void {
    this.table.release(keys);
  }

  workerReady(_slot: number, _worker: Worker): void {
    // Workers accept by themselves.
  }

  workerGone(_slot: number): void {
    // The dead worker's dup closed with it; the queue stays with the others.
  }

  async stopAccepting(): Promise<void> {
    // Our fds go now; each socket closes when the workers close their dups
    // (their drain, right after this), so new connections are refused.
    this.table.releaseAll();
  }

  async close(): Promise<void> {
    this.table.releaseAll();
  }
}

function plan(e: ListenerEntry<RawListenHandle>): WorkerListenerPlan {
  return { kind: 'shared', key: e.key, ...e.bound, fd: e.handle.fd };
}

interface Dup {
  readonly key: number;
  readonly name: string;
  readonly handle: RawListenHandle;
}

async function dupPlan(plan: WorkerListenerPlan): Promise<Dup> {
  if (plan.kind !== 'shared') throw new Error(`shared acceptor got a '${plan.kind}' plan`);
  return { key: plan.key, name: plan.name, handle: await dupListening(plan.fd) };
}

export class SharedWorkerAcceptor implements WorkerAcceptor {
  readonly countedByMain = false;
  private readonly servers = new Map<number, net.Server>();
  private dups: Dup[] = [];
  private onSocket: OnSocket | undefined;

  constructor(private readonly onError: (listenerName: string, err: Error) => void) {}

  async prepare(plans: readonly WorkerListenerPlan[]): Promise<void> {
    this.dups = await Promise.all(plans.map(dupPlan));
  }

  async start(onSocket: OnSocket): Promise<void> {
    this.onSocket = onSocket;
    for (const dup of this.dups.splice(0)) await this.listen(dup, onSocket);
    serveListenerUpdates((add, remove) => this.update(add, remove));
  }

  async stopAccepting(): Promise<void> {
    this.onSocket = undefined;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
  }

  /** A reload's listener change: close the removed dups, dup and accept on the added fds. */
  private async update(add: readonly WorkerListenerPlan[], remove: readonly number[]): Promise<void> {
    for (const key of remove) {
      this.servers.get(key)?.close();
      this.servers.delete(key);
    }
    if (add.length === 0) return;
    const dups = await Promise.all(add.map(dupPlan));
    const onSocket = this.onSocket;
    if (!onSocket) {
      for (const d of dups) d.handle.close();
      throw new ZproxyError({ code: 'acceptor.stopped', message: 'this worker is draining: it accepts on no new listener', source: 'acceptor' });
    }
    for (const dup of dups) await this.listen(dup, onSocket);
  }

  private async listen({ key, name, handle }: Dup, onSocket: OnSocket): Promise<void> {
    const server = net.createServer((socket) => onSocket(socket, name));
    // After listening, 'error' is an accept failure (EMFILE...): the listener keeps going.
    server.on('error', (err) => this.onError(name, err));
    await new Promise<void>((resolve) => server.listen(handle as unknown as net.ListenOptions, resolve));
    this.servers.set(key, server);
  }
}
