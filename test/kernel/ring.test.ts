import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpscRing } from '../../src/kernel/ring.js';
import { checkRecord, recordSize } from './fixtures/checksummed-records.js';
import type { RingWorkerData, RingWorkerReply } from './fixtures/ring-worker.js';

const workerUrl = new URL('./fixtures/ring-worker.js', import.meta.url);

function startWorker(data: RingWorkerData): Worker {
  return new Worker(workerUrl, { workerData: data });
}

async function nextReply(worker: Worker): Promise<RingWorkerReply> {
  const [message] = await once(worker, 'message') as [RingWorkerReply];
  return message;
}

function expectCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.equal((error as { code?: unknown }).code, code);
    return true;
  };
}

describe('SpscRing across worker threads', () => {
  test('delivers 2,000,000 variable-size records (0..4096 bytes) in order with intact checksums through a 64 KiB ring', { timeout: 30_000 }, async () => {
    const records = 2_000_000;
    const capacity = 64 * 1024;
    // Start 1 MiB below 2^31 so the byte indices also cross the int32 sign flip.
    const ring = SpscRing.create(capacity, { startIndex: 0x7ff0_0000 });
    const startedAt = performance.now();
    const worker = startWorker({ mode: 'produce-checksummed', ring: ring.buffer, records });
    const produced = nextReply(worker);
    try {
      let seq = 0;
      let firstError: string | undefined;
      let payloadBytes = 0;
      const verify = (view: Uint8Array): boolean => {
        firstError = checkRecord(seq, view);
        payloadBytes += view.length;
        seq++;
        return firstError === undefined;
      };
      while (seq < records && firstError === undefined) {
        ring.drainRaw(verify);
        if (seq < records && firstError === undefined) await ring.waitForData();
      }
      const elapsedMs = performance.now() - startedAt;
      assert.equal(firstError, undefined);
      assert.equal(seq, records);
      assert.deepEqual(await produced, { kind: 'produced', records, backpressure: ring.stats().backpressure });
      const stats = ring.stats();
      assert.equal(stats.written, records);
      assert.equal(stats.read, records);
      assert.equal(stats.usedBytes, 0);
      assert.equal(stats.drops, 0);
      // Both extremes were sent, and the data went around the ring thousands of times.
      assert.equal(recordSize(1000), 0);
      assert.equal(recordSize(1001), 4096);
      assert.ok(payloadBytes / capacity > 5000, `only ${payloadBytes} payload bytes`);
      assert.ok(elapsedMs < 15_000, `took ${elapsedMs.toFixed(0)} ms`);
    } finally {
      await worker.terminate();
    }
  });

  test('refuses writes on a full ring, counts backpressure, and loses nothing once the consumer resumes', { timeout: 20_000 }, async () => {
    const records = 20_000;
    const recordBytes = 100;
    const ring = SpscRing.create(4096);
    const worker = startWorker({ mode: 'consume-in-order', ring: ring.buffer, records, recordBytes });
    try {
      const payload = new Uint8Array(recordBytes);
      const stamp = (seq: number): Uint8Array => {
        payload[0] = seq >>> 24; payload[1] = seq >>> 16; payload[2] = seq >>> 8; payload[3] = seq;
        return payload;
      };
      // 100-byte payload -> 104-byte record; 39 records use 4056 bytes, the 40th would need the
      // 40-byte tail skipped plus 104 bytes.
      let seq = 0;
      while (ring.tryWrite(stamp(seq))) seq++;
      assert.equal(seq, 39);
      assert.equal(ring.tryWrite(stamp(seq)), false);
      assert.deepEqual(ring.stats(), { capacityBytes: 4096, usedBytes: 4056, written: 39, read: 0, backpressure: 2, drops: 0 });

      worker.postMessage('go');
      while (seq < records) {
        if (ring.tryWrite(stamp(seq))) seq++;
        else await ring.waitForSpace(recordBytes);
      }
      assert.deepEqual(await nextReply(worker), { kind: 'consumed', records, outOfOrder: 0, badLength: 0 });
      const stats = ring.stats();
      assert.equal(stats.written, records);
      assert.equal(stats.read, records);
      assert.equal(stats.drops, 0);
      assert.ok(stats.backpressure >= 2);
    } finally {
      await worker.terminate();
    }
  });

  test('wakes an idle consumer sleeping in Atomics.waitAsync within 200 ms, using no CPU while idle', { timeout: 20_000 }, async () => {
    const ring = SpscRing.create(1024);
    const worker = startWorker({ mode: 'idle-wake', ring: ring.buffer });
    try {
      assert.deepEqual(await nextReply(worker), { kind: 'ready' });
      await sleep(50); // let the worker's start-up work finish before measuring
      const cpuBefore = process.cpuUsage();
      await sleep(500);
      const cpu = process.cpuUsage(cpuBefore);
      const payload = Buffer.alloc(11);
      payload.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
      payload.set([7, 8, 9], 8);
      const woke = nextReply(worker);
      assert.equal(ring.tryWrite(payload), true);
      const reply = await woke;
      assert.equal(reply.kind, 'woke');
      if (reply.kind !== 'woke') return;
      assert.deepEqual(reply.payload, [7, 8, 9]);
      assert.ok(reply.latencyMs >= 0 && reply.latencyMs < 200, `wake-up took ${reply.latencyMs} ms`);
      // A spinning consumer keeps its event loop busy (utilization near 1) and burns about
      // 500 ms of CPU in this window; a sleeping one stays near 0 on both counts.
      assert.ok(reply.idleMs >= 400, `worker idle only ${reply.idleMs} ms`);
      assert.ok(reply.utilization < 0.2, `worker event loop utilization ${reply.utilization}`);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      assert.ok(cpuMs < 100, `process used ${cpuMs} ms CPU in 500 ms idle`);
    } finally {
      await worker.terminate();
    }
  });

  test('loses no wake-up over 20,000 ping-pongs in which both sides sleep between records', { timeout: 20_000 }, async () => {
    const records = 20_000;
    const ping = SpscRing.create(1024);
    const pong = SpscRing.create(1024);
    const worker = startWorker({ mode: 'echo-raw', input: ping.buffer, output: pong.buffer, records });
    try {
      const payload = new Uint8Array(4);
      let mismatches = 0;
      for (let seq = 0; seq < records; seq++) {
        payload[0] = seq >>> 24; payload[1] = seq >>> 16; payload[2] = seq >>> 8; payload[3] = seq;
        assert.equal(ping.tryWrite(payload), true);
        // A lost wake-up on either side stalls here until the test times out.
        let echoed = pong.read();
        while (echoed === undefined) {
          await pong.waitForData();
          echoed = pong.read();
        }
        if (echoed.readUInt32BE(0) !== seq >>> 0) mismatches++;
      }
      assert.equal(mismatches, 0);
      assert.deepEqual(await nextReply(worker), { kind: 'echoed', records });
      assert.equal(pong.stats().read, records);
    } finally {
      await worker.terminate();
    }
  });

  test('round-trips msgpackr-encoded values (nested objects, binaries, strings, numbers, booleans, null) through a worker', { timeout: 20_000 }, async () => {
    const values: unknown[] = [
      { kind: 'router.match', id: 42, nested: { path: '/a/b', headers: [['host', 'example.test'], ['x', '']], deep: { deeper: { n: -1 } } } },
      Buffer.from('binary\x00\xff payload', 'latin1'),
      'plain ascii',
      'unicode: héllo wörld, 日本語, emoji 🚀, and a string longer than sixty-four bytes to take the long path',
      '',
      0, 1, -1, 127, 128, -32, -33, 65_535, 65_536, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, Number.MAX_SAFE_INTEGER, 1.5, -0.25, Math.PI,
      true, false, null,
      [], {}, [1, 'two', [3, [4]], { five: 5 }, null, true],
      { buffer: Buffer.from([1, 2, 3]), list: [Buffer.alloc(0), Buffer.alloc(300, 7)] },
    ];
    const input = SpscRing.create(64 * 1024);
    const output = SpscRing.create(64 * 1024);
    const extra = new Uint8Array([9, 8, 7]);
    const worker = startWorker({ mode: 'echo-decoded', input: input.buffer, output: output.buffer, records: values.length + 1 });
    try {
      for (const value of values) assert.equal(input.tryWriteEncoded(value), true);
      // A plain Uint8Array goes out as msgpack bin and comes back as a Buffer with the same bytes.
      assert.equal(input.tryWriteEncoded({ bytes: extra }), true);
      const received: unknown[] = [];
      while (received.length < values.length + 1) {
        output.drain((value) => { received.push(value); });
        if (received.length < values.length + 1) await output.waitForData();
      }
      assert.deepEqual(received.slice(0, values.length), values);
      assert.deepEqual(received[values.length], { bytes: Buffer.from([9, 8, 7]) });
      assert.deepEqual(await nextReply(worker), { kind: 'echoed', records: values.length + 1 });
    } finally {
      await worker.terminate();
    }
  });
});

describe('SpscRing on one thread', () => {
  test('refuses a record larger than the ring with a ring.record-too-large error instead of waiting', () => {
    const ring = SpscRing.create(1024);
    assert.equal(ring.maxPayloadBytes, 508);
    assert.throws(() => ring.tryWrite(new Uint8Array(1025)), (error: unknown) => {
      const e = error as { code: string; context: Record<string, number> };
      assert.equal(e.code, 'ring.record-too-large');
      assert.deepEqual(e.context, { payloadBytes: 1025, maxPayloadBytes: 508, capacityBytes: 1024 });
      return true;
    });
    assert.throws(() => ring.tryWrite(new Uint8Array(509)), expectCode('ring.record-too-large'));
    assert.throws(() => ring.tryWriteEncoded({ big: 'x'.repeat(2000) }), expectCode('ring.record-too-large'));
    assert.throws(() => ring.writeOrDrop(new Uint8Array(4096)), expectCode('ring.record-too-large'));
    assert.throws(() => ring.waitForSpace(509), expectCode('ring.record-too-large'));
    assert.deepEqual(ring.stats(), { capacityBytes: 1024, usedBytes: 0, written: 0, read: 0, backpressure: 0, drops: 0 });
    assert.equal(ring.tryWrite(new Uint8Array(508)), true);
  });

  test('accepts a maximum-size record on an empty ring at every write position', () => {
    for (let position = 0; position < 256; position += 4) {
      const ring = SpscRing.create(256, { startIndex: position });
      const max = new Uint8Array(ring.maxPayloadBytes).fill(0xab);
      assert.equal(ring.tryWrite(max), true, `refused at position ${position}`);
      const view = ring.read();
      assert.equal(view?.length, 124);
      assert.equal(view?.every((byte) => byte === 0xab), true);
      // A second one fits again once the first is given back, wherever the first ended.
      ring.release();
      assert.equal(ring.tryWrite(max), true, `second refused after position ${position}`);
      assert.equal(ring.read()?.length, 124);
      ring.release();
      assert.equal(ring.stats().usedBytes, 0);
    }
  });

  test('keeps order across the int32 sign flip and the 2^32 index wrap', () => {
    for (const startIndex of [0x7fff_ff00, -256]) {
      const ring = SpscRing.create(256, { startIndex });
      let written = 0;
      let read = 0;
      const sizes = [0, 1, 3, 4, 5, 60, 100, 124];
      for (let round = 0; round < 50; round++) {
        for (;;) {
          const size = sizes[written % sizes.length];
          const payload = new Uint8Array(size).fill(written & 0xff);
          if (!ring.tryWrite(payload)) break;
          written++;
        }
        ring.drainRaw((view) => {
          assert.equal(view.length, sizes[read % sizes.length]);
          assert.equal(view.every((byte) => byte === (read & 0xff)), true);
          read++;
        });
      }
      assert.equal(read, written);
      assert.ok(written > 100);
      assert.deepEqual(ring.stats(), { capacityBytes: 256, usedBytes: 0, written, read, backpressure: 50, drops: 0 });
    }
  });

  test('keeps a read() view intact until the next consumer call gives its space back', () => {
    const ring = SpscRing.create(256);
    assert.equal(ring.tryWrite(new Uint8Array(124).fill(1)), true);
    assert.equal(ring.tryWrite(new Uint8Array(120).fill(2)), true);
    const first = ring.read();
    assert.equal(first?.[0], 1);
    // The first record's 128 bytes are still held, so a 124-byte record cannot fit yet.
    assert.equal(ring.tryWrite(new Uint8Array(124).fill(3)), false);
    assert.equal(first?.every((byte) => byte === 1), true);
    const second = ring.read();
    assert.equal(second?.[0], 2);
    assert.equal(ring.tryWrite(new Uint8Array(124).fill(3)), true);
    assert.equal(second?.every((byte) => byte === 2), true);
    assert.equal(ring.read()?.[0], 3);
    assert.equal(ring.read(), undefined);
  });

  test('resolves waitForSpace only after the consumer frees space', async () => {
    const ring = SpscRing.create(256);
    assert.equal(ring.tryWrite(new Uint8Array(124)), true);
    assert.equal(ring.tryWrite(new Uint8Array(120)), true);
    let resolved = false;
    const space = ring.waitForSpace(100).then(() => { resolved = true; });
    await sleep(30);
    assert.equal(resolved, false);
    assert.equal(ring.read()?.length, 124);
    await sleep(30);
    assert.equal(resolved, false, 'a read() view still holds its space');
    ring.release();
    await space;
    assert.equal(ring.tryWrite(new Uint8Array(100)), true);
  });

  test('counts writeOrDrop failures as drops, not backpressure', () => {
    const ring = SpscRing.create(64);
    assert.equal(ring.writeOrDrop(new Uint8Array(28)), true);
    assert.equal(ring.writeOrDrop(new Uint8Array(28)), true);
    assert.equal(ring.writeOrDrop(new Uint8Array(1)), false);
    assert.equal(ring.tryWrite(new Uint8Array(1)), false);
    assert.deepEqual(ring.stats(), { capacityBytes: 64, usedBytes: 64, written: 2, read: 0, backpressure: 1, drops: 1 });
  });

  test('decodes binaries into copies that do not alias ring memory', () => {
    const ring = SpscRing.create(256);
    assert.equal(ring.tryWriteEncoded({ b: Buffer.alloc(16, 5) }), true);
    const value = ring.readDecoded() as { b: Buffer };
    for (let i = 0; i < 20; i++) {
      assert.equal(ring.tryWrite(new Uint8Array(100).fill(0xee)), true);
      ring.drainRaw(() => {});
    }
    assert.equal(value.b.buffer instanceof SharedArrayBuffer, false);
    assert.deepEqual(value.b, Buffer.alloc(16, 5));
    assert.equal(ring.readDecoded(), undefined);
  });

  test('rejects a capacity that is not a power of two and a buffer that is not a ring', () => {
    assert.throws(() => SpscRing.create(1000), expectCode('ring.bad-capacity'));
    assert.throws(() => SpscRing.create(32), expectCode('ring.bad-capacity'));
    assert.throws(() => SpscRing.create(256, { startIndex: 2 }), expectCode('ring.bad-start-index'));
    assert.throws(() => SpscRing.attach(new SharedArrayBuffer(4096)), expectCode('ring.bad-buffer'));
    const ring = SpscRing.create(128);
    const other = SpscRing.attach(ring.buffer);
    assert.equal(ring.tryWrite(new Uint8Array([1, 2, 3])), true);
    assert.deepEqual([...(other.read() ?? [])], [1, 2, 3]);
  });
});
