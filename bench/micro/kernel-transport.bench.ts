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
import { Bench, type Fn, type FnReturnedObject, type Task } from 'tinybench';
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
  /** Measured time per task in ms, split over the rounds; default 1500. */
  readonly timeMs?: number;
  /**
   * Rounds: every task runs once per round, and each row reports the task's
   * median round (by ops/s). Round trips between threads depend on how soon
   * the OS runs the woken thread, which drifts with machine load; interleaving
   * the tasks keeps that drift from favouring whichever ran in a quiet moment.
   * Default 3.
   */
  readonly rounds?: number;
}

/** One benchmark: tinybench task function plus how to report it. */
interface TaskSpec {
  readonly name: string;
  readonly fn: Fn;
  readonly async: boolean;
  readonly notes: string;
  /** Report p50/p99 (one sample = one operation); otherwise samples are batch means. */
  readonly latency: boolean;
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

function row(task: Task, spec: TaskSpec): TransportBenchRow {
  const result = task.result;
  if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
    throw new Error(`benchmark '${task.name}' ended ${result.state}${result.state === 'errored' ? `: ${result.error.message}` : ''}`);
  }
  const out: TransportBenchRow = { name: task.name, opsPerSec: Math.round(1000 / result.latency.mean), notes: spec.notes };
  if (spec.latency) {
    out.p50Us = Math.round(result.latency.p50 * 10_000) / 10;
    out.p99Us = Math.round(result.latency.p99 * 10_000) / 10;
  }
  return out;
}

/** Shared resources of one run, released at its end. */
interface Run {
  readonly workers: Worker[];
  readonly cleanups: Array<() => void>;
}

function sameThreadTasks(): TaskSpec[] {
  const ring = SpscRing.create(PING_RING_BYTES);
  const payload = payloadOf(SMALL_BYTES);
  let checksum = 0;
  const consume = (view: Uint8Array): void => { checksum ^= view[0]; };
  return [{
    name: 'ring write+read, 100 B, same thread',
    notes: 'write and read back one record per op, 64 KiB ring',
    latency: false,
    async: false,
    fn: (): FnReturnedObject => {
      const start = performance.now();
      for (let i = 0; i < CALLS_PER_SAMPLE; i++) {
        ring.tryWrite(payload);
        ring.drainRaw(consume, 1);
      }
      const elapsed = performance.now() - start;
      // checksum stays observable so the reads cannot be optimized away.
      return { overriddenDuration: elapsed / CALLS_PER_SAMPLE + checksum * 0, overriddenIterationCost: elapsed };
    },
  }];
}

/** Resolves once counter[index] reaches target; the worker notifies index after storing. */
async function counterReaches(counter: Int32Array, index: number, target: number): Promise<void> {
  for (let seen = Atomics.load(counter, index); seen < target; seen = Atomics.load(counter, index)) {
    const wait = waitAsync(counter, index, seen);
    if (wait.async) await wait.value;
  }
}

async function ringThroughputTask(run: Run, recordBytes: 100 | 4096): Promise<TaskSpec> {
  const ring = SpscRing.create(THROUGHPUT_RING_BYTES);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  run.workers.push(await spawn({ mode: 'ring-count', input: ring.buffer, counter: counter.buffer as SharedArrayBuffer }));
  const payload = payloadOf(recordBytes);
  const perSample = THROUGHPUT_RECORDS[recordBytes];
  let sent = 0;
  return {
    name: `ring throughput to a worker, ${recordBytes === SMALL_BYTES ? '100 B' : '4 KiB'} records`,
    notes: `records/s; ${THROUGHPUT_RING_BYTES / 1024} KiB ring, producer sleeps in waitForSpace when full`,
    latency: false,
    async: true,
    fn: async (): Promise<FnReturnedObject> => {
      const start = performance.now();
      const target = sent + perSample;
      while (sent < target) {
        if (ring.tryWrite(payload)) sent++;
        else await ring.waitForSpace(recordBytes);
      }
      await counterReaches(counter, 0, target);
      const elapsed = performance.now() - start;
      return { overriddenDuration: elapsed / perSample, overriddenIterationCost: elapsed };
    },
  };
}

async function channelThroughputTask(run: Run): Promise<TaskSpec> {
  const ring = SpscRing.create(THROUGHPUT_RING_BYTES);
  const counter = new Int32Array(new SharedArrayBuffer(12));
  run.workers.push(await spawn({ mode: 'channel-count', input: ring.buffer, counter: counter.buffer as SharedArrayBuffer }));
  const sender = new ChannelSender(ring);
  const perSample = THROUGHPUT_RECORDS[SMALL_BYTES];
  const message = pingObject(0);
  let sent = 0;
  return {
    name: 'channel throughput to a worker, object with 100 B body',
    notes: `messages/s; msgpackr, ${THROUGHPUT_RING_BYTES / 1024} KiB ring + overflow queue, receiver batches of 256`,
    latency: false,
    async: true,
    fn: async (): Promise<FnReturnedObject> => {
      const start = performance.now();
      const target = sent + perSample;
      Atomics.store(counter, 1, target);
      while (sent < target) {
        message.seq = sent;
        if (sender.send(message)) sent++;
        else await sender.whenFlushed();
      }
      await counterReaches(counter, 2, target);
      const elapsed = performance.now() - start;
      return { overriddenDuration: elapsed / perSample, overriddenIterationCost: elapsed };
    },
  };
}

async function postThroughputTask(run: Run): Promise<TaskSpec> {
  const perSample = THROUGHPUT_RECORDS[SMALL_BYTES];
  const worker = await spawn({ mode: 'post-count', every: perSample });
  run.workers.push(worker);
  const next = replies(worker);
  const payload = payloadOf(SMALL_BYTES);
  return {
    name: 'postMessage throughput to a worker, 100 B Uint8Array',
    notes: 'messages/s; structured clone',
    latency: false,
    async: true,
    fn: async (): Promise<FnReturnedObject> => {
      const start = performance.now();
      const done = next();
      for (let i = 0; i < perSample; i++) worker.postMessage(payload);
      await done;
      const elapsed = performance.now() - start;
      return { overriddenDuration: elapsed / perSample, overriddenIterationCost: elapsed };
    },
  };
}

async function roundTripTasks(run: Run): Promise<TaskSpec[]> {
  const payload = payloadOf(SMALL_BYTES);
  const message = pingObject(0);
  let seq = 0;

  const toEcho = SpscRing.create(PING_RING_BYTES);
  const fromEcho = SpscRing.create(PING_RING_BYTES);
  run.workers.push(await spawn({ mode: 'ring-echo', input: toEcho.buffer, output: fromEcho.buffer }));
  const drop = (): void => {};

  const toChannel = SpscRing.create(PING_RING_BYTES);
  const fromChannel = SpscRing.create(PING_RING_BYTES);
  run.workers.push(await spawn({ mode: 'channel-echo', input: toChannel.buffer, output: fromChannel.buffer }));
  const sender = new ChannelSender(toChannel);
  const receiver = new ChannelReceiver(fromChannel, { keepAlive: false });
  let settle: (() => void) | undefined;
  receiver.start(() => { const done = settle; settle = undefined; done?.(); });
  run.cleanups.push(() => receiver.stop());

  const postWorker = await spawn({ mode: 'post-echo' });
  run.workers.push(postWorker);
  const postReply = replies(postWorker);

  const { comlink, nodeEndpoint } = await loadComlink();
  const comlinkWorker = await spawn({ mode: 'comlink' });
  run.workers.push(comlinkWorker);
  const remote = comlink.wrap<{ echo(value: unknown): unknown }>(nodeEndpoint(comlinkWorker));
  run.cleanups.push(() => remote[comlink.releaseProxy]());

  return [
    {
      name: 'ring round trip, 100 B',
      notes: 'raw bytes; both sides sleep in Atomics.waitAsync',
      latency: true,
      async: true,
      fn: async () => {
        toEcho.tryWrite(payload);
        while (fromEcho.drainRaw(drop, 1) === 0) await fromEcho.waitForData();
      },
    },
    {
      name: 'channel round trip, object with 100 B body',
      notes: 'msgpackr; ChannelSender/Receiver both ways (batch + setImmediate)',
      latency: true,
      async: true,
      fn: async () => {
        const reply = new Promise<void>((resolve) => { settle = resolve; });
        message.seq = seq++;
        sender.send(message);
        await reply;
      },
    },
    {
      name: 'postMessage round trip, 100 B Uint8Array',
      notes: 'structured clone',
      latency: true,
      async: true,
      fn: async () => {
        const reply = postReply();
        postWorker.postMessage(payload);
        await reply;
      },
    },
    {
      name: 'postMessage round trip, object with 100 B body',
      notes: 'structured clone',
      latency: true,
      async: true,
      fn: async () => {
        const reply = postReply();
        message.seq = seq++;
        postWorker.postMessage(message);
        await reply;
      },
    },
    {
      name: 'comlink call round trip, 100 B Uint8Array',
      notes: 'comlink 4.4 over its node adapter',
      latency: true,
      async: true,
      fn: async () => {
        await remote.echo(payload);
      },
    },
  ];
}

function median(rows: TransportBenchRow[]): TransportBenchRow {
  const sorted = [...rows].sort((a, b) => a.opsPerSec - b.opsPerSec);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function runKernelTransportBench(options: TransportBenchOptions = {}): Promise<TransportBenchRow[]> {
  const rounds = options.rounds ?? 3;
  const time = (options.timeMs ?? 1500) / rounds;
  const run: Run = { workers: [], cleanups: [] };
  try {
    const specs: TaskSpec[] = [
      ...sameThreadTasks(),
      await ringThroughputTask(run, SMALL_BYTES),
      await ringThroughputTask(run, LARGE_BYTES),
      await channelThroughputTask(run),
      await postThroughputTask(run),
      ...await roundTripTasks(run),
    ];
    const results: TransportBenchRow[][] = specs.map(() => []);
    for (let round = 0; round < rounds; round++) {
      // iterations: tinybench's default minimum of 64 samples would stretch the throughput
      // tasks (tens of ms per sample) far past `time`; 8 samples still give a stable mean.
      const bench = new Bench({
        name: `kernel transport, round ${round + 1}`, time, iterations: 8, warmupTime: Math.min(100, time), warmupIterations: 2,
      });
      for (const spec of specs) bench.add(spec.name, spec.fn, { async: spec.async });
      await bench.run();
      bench.tasks.forEach((task, i) => results[i].push(row(task, specs[i])));
    }
    return results.map(median);
  } finally {
    for (const cleanup of run.cleanups) cleanup();
    await Promise.all(run.workers.map((worker) => worker.terminate()));
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
