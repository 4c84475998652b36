/**
 * Cross-thread transport: the SharedArrayBuffer ring (src/kernel/ring.ts) and
 * the channel over it (ring-channel.ts), against postMessage and comlink with
 * the same payloads.
 *  (a) ring write+read of a small record on one thread;
 *  (b) ring throughput to a worker (records/s, 100 B and 4 KiB), channel
 *      throughput (msgpackr objects) and postMessage throughput;
 *  (c) round trips (ping-pong; p50/p99 in microseconds): raw ring, channel
 *      (msgpackr objects), postMessage (same bytes / same object), comlink.
 * Run alone: `node dist/bench/micro/kernel-transport.bench.js` (prints a markdown table).
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Bench, type FnReturnedObject, type Task } from 'tinybench';
import { SpscRing } from '../../src/kernel/ring.js';
import { ChannelReceiver, ChannelSender } from '../../src/kernel/ring-channel.js';
import { loadComlink } from './fixtures/comlink-loader.js';
import type { TransportWorkerData } from './fixtures/transport-worker.js';

export interface TransportBenchRow {
  name: string;
  opsPerSec: number;
  p50Us?: number;
  p99Us?: number;
  notes?: string;
}

export interface TransportBenchOptions {
  /** Measured time per task in ms (tinybench `time`); default 1000. */
  readonly timeMs?: number;
}

const workerUrl = new URL('./fixtures/transport-worker.js', import.meta.url);
const SMALL_BYTES = 100;
const LARGE_BYTES = 4096;
// A write+read takes ~100 ns, near the timer's resolution: time batches and report the mean.
const CALLS_PER_SAMPLE = 1000;
// Records per throughput sample: enough to go around the ring many times per sample.
const THROUGHPUT_RECORDS = { [SMALL_BYTES]: 20_000, [LARGE_BYTES]: 4_000 } as const;
const THROUGHPUT_RING_BYTES = 256 * 1024;
const PING_RING_BYTES = 64 * 1024;

type WaitAsync = (array: Int32Array, index: number, value: number) =>
  { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

async function spawn(data: TransportWorkerData): Promise<Worker> {
  const worker = new Worker(workerUrl, { workerData: data });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return worker;
}

function payloadOf(bytes: number): Uint8Array {
  const payload = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = (i * 131) & 0xff;
  return payload;
}

function pingObject(seq: number): { kind: string; seq: number; body: Uint8Array } {
  return { kind: 'bench.ping', seq, body: payloadOf(SMALL_BYTES) };
}

/** A message listener that resolves the promise of the round trip in flight. */
function replies(worker: Worker): () => Promise<unknown> {
  let settle: ((value: unknown) => void) | undefined;
  worker.on('message', (value: unknown) => {
    const done = settle;
    settle = undefined;
    done?.(value);
  });
  return () => new Promise((resolve) => { settle = resolve; });
}

function row(task: Task, notes: string, latency: boolean): TransportBenchRow {
  const result = task.result;
  if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
    throw new Error(`benchmark '${task.name}' ended ${result.state}${result.state === 'errored' ? `: ${result.error.message}` : ''}`);
  }
  const out: TransportBenchRow = { name: task.name, opsPerSec: Math.round(1000 / result.latency.mean), notes };
  if (latency) {
    out.p50Us = Math.round(result.latency.p50 * 10_000) / 10;
    out.p99Us = Math.round(result.latency.p99 * 10_000) / 10;
  }
  return out;
}

function addSameThread(bench: Bench): void {
  const ring = SpscRing.create(PING_RING_BYTES);
  const payload = payloadOf(SMALL_BYTES);
  let checksum = 0;
  const consume = (view: Uint8Array): void => { checksum ^= view[0]; };
  bench.add('ring write+read, 100 B, same thread', (): FnReturnedObject => {
    const start = performance.now();
    for (let i = 0; i < CALLS_PER_SAMPLE; i++) {
      ring.tryWrite(payload);
      ring.drainRaw(consume, 1);
    }
    const elapsed = performance.now() - start;
    return { overriddenDuration: elapsed / CALLS_PER_SAMPLE, overriddenIterationCost: elapsed };
  }, { async: false });
}

async function ringThroughput(bench: Bench, recordBytes: 100 | 4096, workers: Worker[]): Promise<void> {
  const ring = SpscRing.create(THROUGHPUT_RING_BYTES);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  workers.push(await spawn({ mode: 'ring-count', input: ring.buffer, counter: counter.buffer as SharedArrayBuffer }));
  const payload = payloadOf(recordBytes);
  const perSample = THROUGHPUT_RECORDS[recordBytes];
  let sent = 0;
  bench.add(`ring throughput to a worker, ${recordBytes === SMALL_BYTES ? '100 B' : '4 KiB'} records`, async (): Promise<FnReturnedObject> => {
    const start = performance.now();
    const target = sent + perSample;
    while (sent < target) {
      if (ring.tryWrite(payload)) sent++;
      else await ring.waitForSpace(recordBytes);
    }
    for (let seen = Atomics.load(counter, 0); seen < target; seen = Atomics.load(counter, 0)) {
      const wait = waitAsync(counter, 0, seen);
      if (wait.async) await wait.value;
    }
    const elapsed = performance.now() - start;
    return { overriddenDuration: elapsed / perSample, overriddenIterationCost: elapsed };
  }, { async: true });
}

async function channelThroughput(bench: Bench, workers: Worker[]): Promise<void> {
  const ring = SpscRing.create(THROUGHPUT_RING_BYTES);
  const counter = new Int32Array(new SharedArrayBuffer(12));
  workers.push(await spawn({ mode: 'channel-count', input: ring.buffer, counter: counter.buffer as SharedArrayBuffer }));
  const sender = new ChannelSender(ring);
  const perSample = THROUGHPUT_RECORDS[SMALL_BYTES];
  const message = pingObject(0);
  let sent = 0;
  bench.add('channel throughput to a worker, object with 100 B body', async (): Promise<FnReturnedObject> => {
    const start = performance.now();
    const target = sent + perSample;
    Atomics.store(counter, 1, target);
    while (sent < target) {
      message.seq = sent;
      if (sender.send(message)) sent++;
      else await sender.whenFlushed();
    }
    for (let done = Atomics.load(counter, 2); done < target; done = Atomics.load(counter, 2)) {
      const wait = waitAsync(counter, 2, done);
      if (wait.async) await wait.value;
    }
    const elapsed = performance.now() - start;
    return { overriddenDuration: elapsed / perSample, overriddenIterationCost: elapsed };
  }, { async: true });
}

async function postThroughput(bench: Bench, workers: Worker[]): Promise<void> {
  const perSample = THROUGHPUT_RECORDS[SMALL_BYTES];
  const worker = await spawn({ mode: 'post-count', every: perSample });
  workers.push(worker);
  const next = replies(worker);
  const payload = payloadOf(SMALL_BYTES);
  bench.add('postMessage throughput to a worker, 100 B Uint8Array', async (): Promise<FnReturnedObject> => {
    const start = performance.now();
    const done = next();
    for (let i = 0; i < perSample; i++) worker.postMessage(payload);
    await done;
    const elapsed = performance.now() - start;
    return { overriddenDuration: elapsed / perSample, overriddenIterationCost: elapsed };
  }, { async: true });
}

async function addRoundTrips(bench: Bench, workers: Worker[], cleanups: Array<() => void>): Promise<void> {
  const payload = payloadOf(SMALL_BYTES);

  const toEcho = SpscRing.create(PING_RING_BYTES);
  const fromEcho = SpscRing.create(PING_RING_BYTES);
  workers.push(await spawn({ mode: 'ring-echo', input: toEcho.buffer, output: fromEcho.buffer }));
  const drop = (): void => {};
  bench.add('ring round trip, 100 B', async () => {
    toEcho.tryWrite(payload);
    while (fromEcho.drainRaw(drop, 1) === 0) await fromEcho.waitForData();
  }, { async: true });

  const toChannel = SpscRing.create(PING_RING_BYTES);
  const fromChannel = SpscRing.create(PING_RING_BYTES);
  workers.push(await spawn({ mode: 'channel-echo', input: toChannel.buffer, output: fromChannel.buffer }));
  const sender = new ChannelSender(toChannel);
  const receiver = new ChannelReceiver(fromChannel, { keepAlive: false });
  let settle: (() => void) | undefined;
  receiver.start(() => { const done = settle; settle = undefined; done?.(); });
  cleanups.push(() => receiver.stop());
  let seq = 0;
  const message = pingObject(0);
  bench.add('channel round trip, object with 100 B body (msgpackr)', async () => {
    const reply = new Promise<void>((resolve) => { settle = resolve; });
    message.seq = seq++;
    sender.send(message);
    await reply;
  }, { async: true });

  const postWorker = await spawn({ mode: 'post-echo' });
  workers.push(postWorker);
  const postReply = replies(postWorker);
  bench.add('postMessage round trip, 100 B Uint8Array', async () => {
    const reply = postReply();
    postWorker.postMessage(payload);
    await reply;
  }, { async: true });
  bench.add('postMessage round trip, object with 100 B body', async () => {
    const reply = postReply();
    message.seq = seq++;
    postWorker.postMessage(message);
    await reply;
  }, { async: true });

  const { comlink, nodeEndpoint } = await loadComlink();
  const comlinkWorker = await spawn({ mode: 'comlink' });
  workers.push(comlinkWorker);
  const remote = comlink.wrap<{ echo(value: unknown): unknown }>(nodeEndpoint(comlinkWorker));
  bench.add('comlink call round trip, 100 B Uint8Array', async () => {
    await remote.echo(payload);
  }, { async: true });
  cleanups.push(() => remote[comlink.releaseProxy]());
}

export async function runKernelTransportBench(options: TransportBenchOptions = {}): Promise<TransportBenchRow[]> {
  const time = options.timeMs ?? 1000;
  const workers: Worker[] = [];
  const cleanups: Array<() => void> = [];
  try {
    const sameThread = new Bench({ name: 'ring, one thread', time, warmupTime: Math.min(250, time) });
    addSameThread(sameThread);
    const throughput = new Bench({ name: 'throughput', time, warmupTime: Math.min(250, time) });
    await ringThroughput(throughput, SMALL_BYTES, workers);
    await ringThroughput(throughput, LARGE_BYTES, workers);
    await channelThroughput(throughput, workers);
    await postThroughput(throughput, workers);
    const roundTrips = new Bench({ name: 'round trips', time, warmupTime: Math.min(250, time) });
    await addRoundTrips(roundTrips, workers, cleanups);

    await sameThread.run();
    await throughput.run();
    await roundTrips.run();
    return [
      row(sameThread.tasks[0], 'write and read back one record per op, 64 KiB ring', false),
      row(throughput.tasks[0], `records/s; ${THROUGHPUT_RING_BYTES / 1024} KiB ring, producer waits for space when full`, false),
      row(throughput.tasks[1], `records/s; ${THROUGHPUT_RING_BYTES / 1024} KiB ring`, false),
      row(throughput.tasks[2], 'messages/s; msgpackr, 4096-record overflow queue, receiver batches of 256', false),
      row(throughput.tasks[3], 'messages/s; structured clone', false),
      row(roundTrips.tasks[0], 'raw bytes; both sides sleep in Atomics.waitAsync', true),
      row(roundTrips.tasks[1], 'ChannelSender/Receiver both ways, batching + setImmediate', true),
      row(roundTrips.tasks[2], 'structured clone', true),
      row(roundTrips.tasks[3], 'structured clone', true),
      row(roundTrips.tasks[4], 'comlink 4.4 over node-adapter', true),
    ];
  } finally {
    for (const cleanup of cleanups) cleanup();
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function formatTable(rows: TransportBenchRow[]): string {
  const lines = [
    '| benchmark | ops/s | p50 (µs) | p99 (µs) | notes |',
    '|---|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.opsPerSec.toLocaleString('en-US')} | ${r.p50Us ?? ''} | ${r.p99Us ?? ''} | ${r.notes ?? ''} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runKernelTransportBench();
  console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}\n`);
  console.log(formatTable(rows));
}
