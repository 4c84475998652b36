import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker, threadId } from 'node:worker_threads';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import { createRingPair, linkSystems, type LinkTransport } from '../../src/kernel/thread-link.js';

const FIXTURE = new URL('./fixtures/link-echo-thread.js', import.meta.url);

async function startPeer(kind: 'ring' | 'port'): Promise<{ system: ActorSystem; worker: Worker; close: () => Promise<void> }> {
  const system = new ActorSystem({ threadId });
  let own: LinkTransport;
  let peer: LinkTransport;
  const transferList = [];
  if (kind === 'ring') {
    const { aToB, bToA } = createRingPair();
    own = { kind: 'ring', toPeer: aToB, fromPeer: bToA };
    peer = { kind: 'ring', toPeer: bToA, fromPeer: aToB };
  } else {
    const { port1, port2 } = new MessageChannel();
    own = { kind: 'port', port: port1 };
    peer = { kind: 'port', port: port2 };
    transferList.push(port2);
  }
  const worker = new Worker(FIXTURE, { workerData: { parentThreadId: threadId, transport: peer }, transferList });
  await new Promise((r) => worker.once('online', r));
  system.setRemoteName('echo', worker.threadId);
  const link = linkSystems(system, worker.threadId, own);
  return { system, worker, close: async () => { link.close(); system.shutdown(); await worker.terminate(); } };
}

for (const kind of ['ring', 'port'] as const) {
  describe(`thread link over ${kind === 'ring' ? 'SharedArrayBuffer rings' : 'postMessage'}`, () => {
    test('asks reach an actor on another thread and replies come back in order', async () => {
      const peer = await startPeer(kind);
      try {
        const replies = await Promise.all(Array.from({ length: 2000 }, (_, n) => peer.system.ask<{ text: string; n: number; thread: number }>('echo', { kind: 'echo.say', text: `m${n}`, n }, 5000)));
        for (let n = 0; n < replies.length; n++) {
          assert.equal(replies[n]!.text, `M${n}`);
          assert.equal(replies[n]!.n, n + 1);
          assert.equal(replies[n]!.thread, peer.worker.threadId);
        }
        assert.equal(peer.system.stats().remoteSent, 2000);
      } finally {
        await peer.close();
      }
    });

    test('an ask to a name missing on the peer fails with kernel.dead-letter from the peer', async () => {
      const peer = await startPeer(kind);
      try {
        peer.system.setRemoteName('ghost', peer.worker.threadId);
        await assert.rejects(peer.system.ask('ghost', { kind: 'ghost.x' }, 5000), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'kernel.dead-letter');
          assert.match(err.message, /no actor 'ghost' on thread/);
          return true;
        });
      } finally {
        await peer.close();
      }
    });
  });
}
