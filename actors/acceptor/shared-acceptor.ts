import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { DEFAULT_BACKLOG, type RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, MainAcceptor, OnSocket, WorkerAcceptor, WorkerListenerPlan } from './acceptor-strategy.js';
import { resolveBindAddress } from './bind-address.js';
import { bindListening, boundPort, dupListening, type RawListenHandle } from './fd-broker.js';

/**
 * 'shared' strategy (works on every Node we support): one listening socket
 * per listener, one accept queue, every worker accepting from its own dup of
 * the fd. The main thread holds the original fd without polling it, so the
 * port and its queued connections outlive any worker: a dying worker closes
 * only its dup, and connections waiting in the queue go to the others.
 * Worker threads cannot simply wrap the main thread's fd: the fd table is
 * per process, and the first worker to die would close it for everyone.
 */

interface HeldListener {
  readonly bound: BoundListener;
  readonly handle: RawListenHandle;
}

export class SharedMainAcceptor implements MainAcceptor {
  readonly kind = 'shared' as const;
  private held: HeldListener[] = [];

  async open(listeners: readonly RuntimeListenerConfig[]): Promise<readonly BoundListener[]> {
    try {
      for (let index = 0; index < listeners.length; index++) {
        const l = listeners[index]!;
        const addr = await resolveBindAddress(l.address);
        const handle = await bindListening({ index, name: l.name, address: l.address, port: l.port }, addr, l.backlog ?? DEFAULT_BACKLOG);
        this.held.push({ handle, bound: { name: l.name, address: addr.ip, port: boundPort(handle), family: addr.family } });
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return this.held.map((h) => h.bound);
  }

  workerPlans(): WorkerListenerPlan[] {
    return this.held.map(({ bound, handle }) => ({ kind: 'shared', ...bound, fd: handle.fd }));
  }

  workerReady(_slot: number, _worker: Worker): void {
    // Workers accept by themselves.
  }

  workerGone(_slot: number): void {
    // The dead worker's dup closed with it; the queue stays with the others.
  }

  async stopAccepting(): Promise<void> {
    // Workers close their dups. The original stays open until close(): the
    // kernel may still queue handshakes that nobody accepts; stop() resets them.
  }

  async close(): Promise<void> {
    for (const h of this.held.splice(0)) h.handle.close();
  }
}

export class SharedWorkerAcceptor implements WorkerAcceptor {
  readonly countedByMain = false;
  private readonly servers: net.Server[] = [];
  private dups: Array<{ readonly name: string; readonly handle: RawListenHandle }> = [];

  constructor(private readonly onError: (listenerName: string, err: Error) => void) {}

  async prepare(plans: readonly WorkerListenerPlan[]): Promise<void> {
    const dups = await Promise.all(plans.map(async (plan) => {
      if (plan.kind !== 'shared') throw new Error(`shared acceptor got a '${plan.kind}' plan`);
      return { name: plan.name, handle: await dupListening(plan.fd) };
    }));
    this.dups = dups;
  }

  async start(onSocket: OnSocket): Promise<void> {
    for (const { name, handle } of this.dups.splice(0)) {
      const server = net.createServer((socket) => onSocket(socket, name));
      // After listening, 'error' is an accept failure (EMFILE...): the listener keeps going.
      server.on('error', (err) => this.onError(name, err));
      await new Promise<void>((resolve) => server.listen(handle as unknown as net.ListenOptions, resolve));
      this.servers.push(server);
    }
  }

  async stopAccepting(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
  }
}
