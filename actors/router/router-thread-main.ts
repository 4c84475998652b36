/**
 * Entry of a router thread (placements `pipelined` and `postmessage`): one
 * actor system hosting the router actor, linked to the worker that spawned
 * it. The worker sends route matches; replies go back the same link.
 */
import { threadId, workerData } from 'node:worker_threads';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import { linkSystems, type LinkTransport } from '../../src/kernel/thread-link.js';
import { RouterActor } from './router-actor.js';

interface RouterThreadData {
  readonly workerThreadId: number;
  readonly transport: LinkTransport;
}

const data = workerData as RouterThreadData;
const system = new ActorSystem({
  threadId,
  onEscalate: (error) => {
    process.stderr.write(`zproxy: router thread gave up: ${error.message}\n`);
    process.exit(70);
  },
});
system.startTree({
  name: 'router-thread',
  strategy: 'one-for-one',
  intensity: { maxRestarts: 5, withinMs: 10_000 },
  children: [{ name: 'router', restart: 'permanent', start: () => new RouterActor() }],
});
linkSystems(system, data.workerThreadId, data.transport);
// A router thread lives as long as its worker: keep the loop open.
setInterval(() => {}, 1 << 30);
