/**
 * Entry point of the cache thread: hosts the CacheActor. Listens to the main
 * thread (attach, purge, stats) on its parentPort, and to each HTTP worker on
 * that worker's pair of BroadcastChannels (cache-protocol.ts channelNames):
 * one listener per name makes them point-to-point links that need no port
 * handed through the worker pool's workerData.
 */
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { CacheActor } from './cache-actor.js';
import { channelNames, type CacheMessage, type CacheReply } from './cache-protocol.js';

const base = (workerData as { channelBase: string }).channelBase;
const actor = new CacheActor();
const attached = new Map<number, { toCache: BroadcastChannel; fromCache: BroadcastChannel }>();

function attach(workerId: number): void {
  if (attached.has(workerId)) return;
  const names = channelNames(base, workerId);
  const link = { toCache: new BroadcastChannel(names.toCache), fromCache: new BroadcastChannel(names.fromCache) };
  const reply = (r: CacheReply): void => link.fromCache.postMessage(r);
  link.toCache.onmessage = (ev) => {
    try {
      actor.receive((ev as MessageEvent).data as CacheMessage, reply);
    } catch (err) {
      // A malformed message is a bug in the sender: say so and keep serving the others.
      process.emitWarning(`cache thread: message from worker ${workerId} failed: ${err instanceof Error ? err.message : String(err)}`, { code: 'ZPROXY_CACHE' });
    }
  };
  attached.set(workerId, link);
}

const port = parentPort!;
port.on('message', (msg: CacheMessage) => {
  if (msg.kind === 'cache.attach') return attach(msg.workerId);
  actor.receive(msg, (r) => port.postMessage(r));
});
port.postMessage({ kind: 'cache-owner.ready' });
