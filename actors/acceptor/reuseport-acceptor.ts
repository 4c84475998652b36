import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { ZproxyError } from '../../src/kernel/errors.js';
import { DEFAULT_BACKLOG, type RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, IndexedListener, ListenerView, MainAcceptor, OnSocket, WorkerAcceptor, WorkerListenerPlan } from './acceptor-strategy.js';
import { bindFailure, resolveBindAddress } from './bind-address.js';
import { boundPort, reserveReusePort, type RawListenHandle } from './fd-broker.js';
import { indexed, ListenerTable } from './listener-table.js';
import { serveListenerUpdates } from './listener-updates.js';

/**
 * 'reuseport' strategy (Node >= 22.12, Linux): every worker listens on its
 * own SO_REUSEPORT socket and the kernel hashes each new connection to one
 * of them. The main thread binds the port first with a bound but NOT
 * listening reuseport socket: it takes no connections (a listening one
 * would, and nobody would accept them), turns port 0 into a real port that
 * every worker joins, and keeps the port number ours for respawns.
 * Known costs, measured on Linux with Node 24:
 * - connections already queued on a worker's own socket when it dies are
 *   reset (15 of 50 in a test that killed a worker blocked for 400 ms); new
 *   ones go to the live sockets at once. 'shared' and 'handoff' lose none.
 * - a bound, non-listening socket does not keep other binders out: if every
 *   worker is down at once, another process (SO_REUSEADDR, as Node sets) can
 *   listen on the port, and our respawns then fail with EADDRINUSE. While
 *   one worker listens, the port is safe.
 * - another process of the same user that also sets SO_REUSEPORT can join
 *   the port silently; SO_REUSEPORT does not refuse it.
 */

export class ReusePortMainAcceptor implements MainAcceptor {
  readonly kind = 'reuseport' as const;
  private readonly table = new ListenerTable<RawListenHandle>(
    async ({ index, config: l }) => {
      const addr = await resolveBindAddress(l.address);
      const handle = reserveReusePort({ index, name: l.name, address: l.address, port: l.port }, addr);
      return { handle, bound: { name: l.name, address: addr.ip, port: boundPort(handle), family: addr.family } };
    },
    (handle) => handle.close(),
  );

  async open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]> {
    return (await this.table.bind(indexed(listeners), 'live')).map((e) => e.bound);
  }

  workerPlans(): WorkerListenerPlan[] {
    return this.table.live().map((e) => ({ kind: 'reuseport', key: e.key, ...e.bound, backlog: e.config.backlog ?? DEFAULT_BACKLOG }));
  }

  listenerViews(): readonly ListenerView[] {
    return this.table.views();
  }

  async add(listeners: readonly IndexedListener[]): Promise<readonly ListenerView[]> {
    // Reserved, not listening: the new port refuses connections until the workers listen (after the commit).
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
    // The kernel routes to the worker's socket as soon as it listens.
  }

  workerGone(_slot: number): void {
    // The kernel drops the dead socket from the reuseport group.
  }

  async stopAccepting(): Promise<void> {
    // Workers close their sockets; ours do not listen, so new connections are refused.
  }

  async close(): Promise<void> {
    this.table.releaseAll();
  }
}

export class ReusePortWorkerAcceptor implements WorkerAcceptor {
  readonly countedByMain = false;
  private readonly servers = new Map<number, net.Server>();
  private plans: readonly WorkerListenerPlan[] = [];
  private onSocket: OnSocket | undefined;

  constructor(private readonly onError: (listenerName: string, err: Error) => void) {}

  async prepare(plans: readonly WorkerListenerPlan[]): Promise<void> {
    this.plans = plans;
  }

  async start(onSocket: OnSocket): Promise<void> {
    this.onSocket = onSocket;
    for (let index = 0; index < this.plans.length; index++) await this.listen(this.plans[index]!, index, onSocket);
    serveListenerUpdates((add, remove) => this.update(add, remove));
  }

  async stopAccepting(): Promise<void> {
    this.onSocket = undefined;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
  }

  /** A reload's listener change: close the removed sockets, join the reuseport groups of the added ones. */
  private async update(add: readonly WorkerListenerPlan[], remove: readonly number[]): Promise<void> {
    for (const key of remove) {
      this.servers.get(key)?.close();
      this.servers.delete(key);
    }
    const onSocket = this.onSocket;
    if (add.length > 0 && !onSocket) throw new ZproxyError({ code: 'acceptor.stopped', message: 'this worker is draining: it accepts on no new listener', source: 'acceptor' });
    // Their index in the config is not known here; the main thread's bind already vetted the address.
    for (const plan of add) await this.listen(plan, -1, onSocket!);
  }

  private async listen(plan: WorkerListenerPlan, index: number, onSocket: OnSocket): Promise<void> {
    if (plan.kind !== 'reuseport') throw new Error(`reuseport acceptor got a '${plan.kind}' plan`);
    const name = plan.name;
    const server = net.createServer((socket) => onSocket(socket, name));
    await new Promise<void>((resolve, reject) => {
      const onListenError = (err: NodeJS.ErrnoException): void => {
        reject(err.code ? bindFailure({ index, name, address: plan.address, port: plan.port }, err.code, err.syscall ?? 'listen')
          : new ZproxyError({ code: 'acceptor.bind-failed', message: err.message, source: 'acceptor' }));
      };
      server.once('error', onListenError);
      // reusePort is in Node >= 22.12's ListenOptions; @types/node 20 does not know it yet.
      server.listen({ host: plan.address, port: plan.port, backlog: plan.backlog, reusePort: true } as net.ListenOptions, () => {
        server.off('error', onListenError);
        resolve();
      });
    });
    server.on('error', (err) => this.onError(name, err));
    this.servers.set(plan.key, server);
  }
}
