/**
 * Worker side of the `pipelined` / `postmessage` placements: spawns this
 * worker's router thread, links the two actor systems (rings or
 * postMessage) and offers match() for sessions. Each match is one ask:
 * request fields out, a compact RouterReply back.
 */
import { MessageChannel, Worker, threadId } from 'node:worker_threads';
import type { ActorSystem } from '../../src/kernel/actor-system.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import { createRingPair, linkSystems, type ThreadLink } from '../../src/kernel/thread-link.js';
import type { RouteSpec, RouterMessage, RouterReply } from './router-actor.js';

export type RemotePlacement = 'pipelined' | 'postmessage';

/** A route match should take microseconds; this bounds a router thread that stopped answering. */
const MATCH_TIMEOUT_MS = 2000;

export class RemoteRouter {
  private constructor(private readonly system: ActorSystem, private readonly worker: Worker, private readonly link: ThreadLink) {}

  static async start(system: ActorSystem, placement: RemotePlacement): Promise<RemoteRouter> {
    let transport: { own: Parameters<typeof linkSystems>[2]; peer: unknown; transferList: Array<import('node:worker_threads').MessagePort> };
    if (placement === 'pipelined') {
      const { aToB, bToA } = createRingPair();
      transport = { own: { kind: 'ring', toPeer: aToB, fromPeer: bToA }, peer: { kind: 'ring', toPeer: bToA, fromPeer: aToB }, transferList: [] };
    } else {
      const { port1, port2 } = new MessageChannel();
      transport = { own: { kind: 'port', port: port1 }, peer: { kind: 'port', port: port2 }, transferList: [port2] };
    }
    const worker = new Worker(new URL('./router-thread-main.js', import.meta.url), {
      name: 'zproxy-router',
      workerData: { workerThreadId: threadId, transport: transport.peer },
      transferList: transport.transferList,
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    worker.unref();
    system.setRemoteName('router', worker.threadId);
    const link = linkSystems(system, worker.threadId, transport.own);
    return new RemoteRouter(system, worker, link);
  }

  load(generation: number, routes: readonly RouteSpec[]): void {
    this.system.send<RouterMessage>('router', { kind: 'router.load-routes', generation, routes });
  }

  match(generation: number, host: string | undefined, method: string, path: string, cb: (err: ErrorRecord | undefined, reply: RouterReply | undefined) => void): void {
    this.system.askCb<RouterMessage>('router', { kind: 'router.match', generation, host, method, path }, MATCH_TIMEOUT_MS, cb as (e: ErrorRecord | undefined, v: unknown) => void);
  }

  stats(): Record<string, number> {
    return this.link.stats();
  }

  async stop(): Promise<void> {
    this.link.close();
    await this.worker.terminate();
  }
}
