import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { ZproxyError } from '../../src/kernel/errors.js';
import { DEFAULT_BACKLOG, type RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, MainAcceptor, OnSocket, WorkerAcceptor, WorkerListenerPlan } from './acceptor-strategy.js';
import { bindFailure, resolveBindAddress } from './bind-address.js';
import { boundPort, reserveReusePort, type RawListenHandle } from './fd-broker.js';

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
  private readonly reserved: RawListenHandle[] = [];
  private plans: WorkerListenerPlan[] = [];

  async open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]> {
    const bound: BoundListener[] = [];
    try {
      for (let index = 0; index < listeners.length; index++) {
        const l = listeners[index]!;
        const addr = await resolveBindAddress(l.address);
        const handle = reserveReusePort({ index, name: l.name, address: l.address, port: l.port }, addr);
        this.reserved.push(handle);
        const b: BoundListener = { name: l.name, address: addr.ip, port: boundPort(handle), family: addr.family };
        bound.push(b);
        this.plans.push({ kind: 'reuseport', ...b, backlog: l.backlog ?? DEFAULT_BACKLOG });
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return bound;
  }

  workerPlans(): WorkerListenerPlan[] {
    return this.plans;
  }

  workerReady(_slot: number, _worker: Worker): void {
    // The kernel routes to the worker's socket as soon as it listens.
  }

  workerGone(_slot: number): void {
    // The kernel drops the dead socket from the reuseport group.
  }

  async stopAccepting(): Promise<void> {
    // Workers close their sockets; ours does not listen, so new connections are refused.
  }

  async close(): Promise<void> {
    for (const h of this.reserved.splice(0)) h.close();
    this.plans = [];
  }
}

export class ReusePortWorkerAcceptor implements WorkerAcceptor {
  readonly countedByMain = false;
  private readonly servers: net.Server[] = [];
  private plans: readonly WorkerListenerPlan[] = [];

  constructor(private readonly onError: (listenerName: string, err: Error) => void) {}

  async prepare(plans: readonly WorkerListenerPlan[]): Promise<void> {
    this.plans = plans;
  }

  async start(onSocket: OnSocket): Promise<void> {
    const plans = this.plans;
    for (let index = 0; index < plans.length; index++) {
      const plan = plans[index]!;
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
      this.servers.push(server);
    }
  }

  async stopAccepting(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
  }
}
