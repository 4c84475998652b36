/**
 * Local actor messaging cost: a send (enqueue + batched drain) and an ask
 * (send + reply callback) between two actors on one thread. This is the
 * price of keeping an actor boundary on the hot path with the `local`
 * placement; compare with the cross-thread rows of kernel-transport.
 */
import { Bench } from 'tinybench';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import type { Actor, ActorContext } from '../../src/kernel/actor.js';

export interface ActorBenchRow { name: string; opsPerSec: number; nsPerOp: number }

type Msg = { readonly kind: 'sink.add'; readonly n: number } | { readonly kind: 'sink.echo'; readonly n: number };

class Sink implements Actor<Msg> {
  total = 0;
  receive(msg: Msg, ctx: ActorContext): void {
    if (msg.kind === 'sink.add') this.total += msg.n;
    else ctx.reply(msg.n);
  }
}

/** Messages per sample: one drain handles a batch, as under load. */
const BATCH = 1000;

export async function runActorSystemBench(timeMs = 500): Promise<ActorBenchRow[]> {
  const sys = new ActorSystem({ threadId: 0 });
  const sink = new Sink();
  sys.startTree({ name: 'bench', strategy: 'one-for-one', intensity: { maxRestarts: 1, withinMs: 1000 }, children: [{ name: 'sink', restart: 'permanent', start: () => sink }] });
  const add: Msg = { kind: 'sink.add', n: 1 };
  const bench = new Bench({ time: timeMs });
  bench
    .add(`local send + drain (batches of ${BATCH})`, async () => {
      for (let i = 0; i < BATCH; i++) sys.send('sink', add);
      await new Promise<void>((r) => queueMicrotask(r));
    })
    .add(`local ask round trip, callback (batches of ${BATCH})`, async () => {
      let left = BATCH;
      await new Promise<void>((resolve) => {
        const cb = (): void => { if (--left === 0) resolve(); };
        for (let i = 0; i < BATCH; i++) sys.askCb('sink', { kind: 'sink.echo', n: i }, 1000, cb);
      });
    });
  await bench.run();
  sys.shutdown();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { mean: number } };
    const nsPerOp = ((r.latency?.mean ?? 0) * 1e6) / BATCH;
    return { name: t.name, opsPerSec: Math.round(1e9 / nsPerOp), nsPerOp: Math.round(nsPerOp * 10) / 10 };
  });
}

if (process.argv[1]?.endsWith('actor-system.bench.js')) {
  for (const r of await runActorSystemBench()) process.stdout.write(`${r.name}: ${r.nsPerOp} ns/op (${r.opsPerSec} ops/s)\n`);
}
