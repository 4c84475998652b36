import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpscRing } from '../../src/kernel/ring.js';
import { ChannelReceiver, ChannelSender } from '../../src/kernel/ring-channel.js';
import type { ChannelWorkerData, ChannelWorkerReply } from './fixtures/channel-worker.js';

const workerUrl = new URL('./fixtures/channel-worker.js', import.meta.url);

async function startWorker(data: ChannelWorkerData): Promise<Worker> {
  const worker = new Worker(workerUrl, { workerData: data });
  assert.deepEqual(await nextReply(worker), { kind: 'ready' });
  return worker;
}

async function nextReply(worker: Worker): Promise<ChannelWorkerReply> {
  const [message] = await once(worker, 'message') as [ChannelWorkerReply];
  return message;
}

/** Sender and receiver on one thread over one ring: enough to observe scheduling. */
function createChannelPair(capacityBytes: number, batchSize?: number): { sender: ChannelSender; receiver: ChannelReceiver } {
  const ring = SpscRing.create(capacityBytes);
  return {
    sender: new ChannelSender(ring),
    receiver: new ChannelReceiver(SpscRing.attach(ring.buffer), { batchSize, keepAlive: false }),
  };
}

describe('RingChannel across worker threads', () => {
  test('delivers 200,000 messages in order to a worker and back while small rings force the overflow path', { timeout: 30_000 }, async () => {
    const messages = 200_000;
    const toWorker = SpscRing.create(4096);
    const fromWorker = SpscRing.create(4096);
    const worker = await startWorker({ mode: 'echo', input: toWorker.buffer, output: fromWorker.buffer });
    const sender = new ChannelSender(toWorker);
    const receiver = new ChannelReceiver(fromWorker);
    try {
      let received = 0;
      let firstMismatch: string | undefined;
      const done = new Promise<void>((resolve) => {
        receiver.start((value) => {
          const message = value as { kind: string; seq: number; text: string; flag: boolean };
          if (firstMismatch === undefined && (message.kind !== 'test.echo' || message.seq !== received
            || message.text !== 'm'.repeat(received % 97) || message.flag !== (received % 2 === 0))) {
            firstMismatch = `message ${received}: ${JSON.stringify(message).slice(0, 120)}`;
          }
          if (++received === messages) resolve();
        });
      });
      let refusals = 0;
      for (let seq = 0; seq < messages; seq++) {
        const message = { kind: 'test.echo', seq, text: 'm'.repeat(seq % 97), flag: seq % 2 === 0 };
        while (!sender.send(message)) {
          refusals++;
          await sender.whenFlushed();
        }
      }
      await done;
      assert.equal(firstMismatch, undefined);
      assert.equal(received, messages);
      const sent = sender.stats();
      assert.equal(sent.sent, messages);
      assert.equal(sent.refused, refusals);
      assert.equal(sent.overflowQueued, 0);
      assert.equal(sent.overflowPeak, 4096, 'the sender outran the 4 KiB ring and filled its overflow queue');
      assert.equal(sent.written, messages);
      assert.equal(sent.drops, 0);
      const got = receiver.stats();
      assert.equal(got.delivered, messages);
      assert.equal(got.read, messages);
    } finally {
      receiver.stop();
      await worker.terminate();
    }
  });

  test('send returns false once the overflow queue is at its bound, and every accepted message arrives once the receiver starts', { timeout: 20_000 }, async () => {
    const ring = SpscRing.create(1024);
    const worker = await startWorker({ mode: 'collect-on-go', input: ring.buffer });
    try {
      const sender = new ChannelSender(ring, { overflowLimit: 100 });
      let seq = 0;
      while (sender.send({ seq, pad: 'p'.repeat(40) })) seq++;
      const inRing = sender.stats().written;
      assert.ok(inRing > 10, `only ${inRing} records fit the ring`);
      assert.equal(seq, inRing + 100);
      assert.equal(sender.send({ seq, pad: 'refused again' }), false);
      assert.deepEqual(sender.stats(), {
        capacityBytes: 1024, usedBytes: sender.stats().usedBytes, written: inRing, read: 0, backpressure: 1, drops: 0,
        sent: inRing + 100, overflowQueued: 100, overflowPeak: 100, refused: 2,
      });
      assert.equal(sender.pending, 100);

      const collected = nextReply(worker);
      worker.postMessage('go');
      await sender.whenFlushed();
      assert.equal(sender.send({ end: true }), true);
      assert.deepEqual(await collected, { kind: 'collected', count: inRing + 100, outOfOrder: 0 });
      const stats = sender.stats();
      assert.equal(stats.written, inRing + 101);
      assert.equal(stats.drops, 0);
      assert.equal(stats.overflowQueued, 0);
    } finally {
      await worker.terminate();
    }
  });

  test('keeps its thread alive while started and lets the thread exit once stopped', { timeout: 20_000 }, async () => {
    const ring = SpscRing.create(1024);
    const worker = await startWorker({ mode: 'stop-on-request', input: ring.buffer });
    let exited = false;
    const exit = once(worker, 'exit').then(([code]) => { exited = true; return code as number; });
    try {
      await sleep(200);
      assert.equal(exited, false, 'a started receiver must hold its thread open');
      const sender = new ChannelSender(ring);
      assert.equal(sender.send({ hello: 1 }), true);
      assert.equal(sender.send({ stop: true }), true);
      assert.deepEqual(await nextReply(worker), { kind: 'stopped', delivered: 2 });
      assert.equal(await exit, 0);
    } finally {
      await worker.terminate();
    }
  });
});

describe('RingChannel on one thread', () => {
  test('yields to the event loop between batches instead of delivering a flood in one turn', async () => {
    const { sender, receiver } = createChannelPair(64 * 1024, 256);
    for (let n = 0; n < 1000; n++) assert.equal(sender.send(n), true);
    let delivered = 0;
    const finished = new Promise<void>((resolve) => {
      receiver.start(() => { if (++delivered === 1000) resolve(); });
    });
    // One sample per event-loop turn while the flood is delivered.
    const samples: number[] = [];
    const sample = (): void => {
      samples.push(delivered);
      if (delivered < 1000) setImmediate(sample);
    };
    setImmediate(sample);
    await finished;
    receiver.stop();
    const between = samples.filter((n) => n > 0 && n < 1000);
    assert.ok(between.length >= 3, `no turn ran between batches: ${samples.join(',')}`);
    assert.deepEqual(between.filter((n) => n % 256 !== 0), [], `batches of 256 expected: ${samples.join(',')}`);
    assert.deepEqual(receiver.stats().batches, 4);
  });

  test('stop() halts delivery after the current message and start() resumes with the next one', async () => {
    const { sender, receiver } = createChannelPair(1024);
    for (let n = 0; n < 10; n++) assert.equal(sender.send({ n }), true);
    const seen: number[] = [];
    receiver.start((value) => {
      seen.push((value as { n: number }).n);
      if (seen.length === 3) receiver.stop();
    });
    await sleep(20);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(receiver.running, false);
    assert.equal(receiver.stats().read, 3);
    const rest = new Promise<void>((resolve) => {
      receiver.start((value) => {
        seen.push((value as { n: number }).n);
        if (seen.length === 10) resolve();
      });
    });
    await rest;
    receiver.stop();
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('a receiver asleep on an empty ring wakes for a later send', async () => {
    const { sender, receiver } = createChannelPair(1024);
    const seen: unknown[] = [];
    receiver.start((value) => { seen.push(value); });
    await sleep(20);
    assert.deepEqual(receiver.stats().waits, 1);
    const arrived = new Promise<void>((resolve) => setImmediate(function check() {
      if (seen.length === 2) resolve(); else setImmediate(check);
    }));
    assert.equal(sender.send('late'), true);
    assert.equal(sender.send({ also: null }), true);
    await arrived;
    receiver.stop();
    assert.deepEqual(seen, ['late', { also: null }]);
  });

  test('hands handler errors to onError and goes on delivering', async () => {
    const ring = SpscRing.create(1024);
    const sender = new ChannelSender(ring);
    const errors: unknown[] = [];
    const receiver = new ChannelReceiver(ring, { keepAlive: false, onError: (error) => errors.push(error) });
    for (let n = 1; n <= 5; n++) sender.send(n);
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      receiver.start((value) => {
        seen.push(value as number);
        if (value === 5) resolve();
        if (value === 3) throw new Error('handler failed on 3');
      });
    });
    receiver.stop();
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, 'handler failed on 3');
  });

  test('refuses a value whose encoding can never fit the ring, queueing nothing', () => {
    const ring = SpscRing.create(256);
    const sender = new ChannelSender(ring);
    assert.throws(() => sender.send({ big: 'x'.repeat(300) }), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'ring.record-too-large');
      return true;
    });
    while (sender.send('fill')) { /* fill the ring, then the overflow queue */ }
    const pending = sender.pending;
    assert.equal(pending, 4096);
    assert.throws(() => sender.send({ big: 'x'.repeat(300) }), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'ring.record-too-large');
      return true;
    });
    assert.equal(sender.pending, pending);
  });
});
