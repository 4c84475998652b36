/**
 * Connects this thread's ActorSystem to a peer thread's, so names in the
 * directory that live there are reachable with send/ask. Two transports,
 * chosen per link (a research axis, see docs/research/concurrency.md):
 *   ring  a pair of SPSC SharedArrayBuffer rings (msgpackr records,
 *         Atomics.waitAsync wake-up), one per direction;
 *   port  MessagePort.postMessage (structured clone, libuv async wake-up).
 */
import type { MessagePort } from 'node:worker_threads';
import type { ActorSystem } from './actor-system.js';
import type { Envelope } from './message.js';
import { SpscRing } from './ring.js';
import { ChannelReceiver, ChannelSender } from './ring-channel.js';

export type LinkTransport =
  | { readonly kind: 'ring'; readonly toPeer: SharedArrayBuffer; readonly fromPeer: SharedArrayBuffer }
  | { readonly kind: 'port'; readonly port: MessagePort };

export interface ThreadLink {
  close(): void;
  stats(): Record<string, number>;
}

/** Ring size per direction: request heads and replies are small; 1 MiB absorbs bursts. */
export const LINK_RING_BYTES = 1 << 20;

/** Creates the two rings of a ring link; give the peer the same pair swapped. */
export function createRingPair(): { aToB: SharedArrayBuffer; bToA: SharedArrayBuffer } {
  return { aToB: SpscRing.create(LINK_RING_BYTES).buffer, bToA: SpscRing.create(LINK_RING_BYTES).buffer };
}

export function linkSystems(system: ActorSystem, peerThreadId: number, transport: LinkTransport): ThreadLink {
  if (transport.kind === 'ring') {
    const sender = new ChannelSender(SpscRing.attach(transport.toPeer));
    const receiver = new ChannelReceiver(SpscRing.attach(transport.fromPeer), { keepAlive: false });
    system.connect(peerThreadId, (env) => sender.send(env));
    receiver.start((value) => system.deliver(value as Envelope));
    return {
      close: () => receiver.stop(),
      stats: () => {
        const s = sender.stats();
        const r = receiver.stats();
        return { sent: s.sent, backpressure: s.backpressure, overflowQueued: s.overflowQueued, delivered: r.delivered, fillBytes: s.usedBytes };
      },
    };
  }
  const port = transport.port;
  let sent = 0;
  let delivered = 0;
  system.connect(peerThreadId, (env) => {
    port.postMessage(env);
    sent++;
    return true;
  });
  port.on('message', (env: Envelope) => {
    delivered++;
    system.deliver(env);
  });
  port.unref();
  return {
    close: () => port.close(),
    stats: () => ({ sent, delivered }),
  };
}
