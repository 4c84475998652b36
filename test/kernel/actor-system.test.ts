import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';

type CounterMsg =
  | { readonly kind: 'counter.add'; readonly n: number }
  | { readonly kind: 'counter.get' }
  | { readonly kind: 'counter.crash' }
  | { readonly kind: 'counter.ignore' };

class Counter implements Actor<CounterMsg> {
  total = 0;
  seen: number[] = [];
  terminated: Array<ErrorRecord | undefined> = [];
  receive(msg: CounterMsg, ctx: ActorContext): void {
    switch (msg.kind) {
      case 'counter.add': this.total += msg.n; this.seen.push(msg.n); return;
      case 'counter.get': ctx.reply(this.total); return;
      case 'counter.crash': throw new Error('boom');
      case 'counter.ignore': return;
    }
  }
  terminate(reason: ErrorRecord | undefined): void { this.terminated.push(reason); }
}

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

describe('ActorSystem', () => {
  test('delivers local messages in send order in one batched drain', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    const c = new Counter();
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 1000 }, children: [{ name: 'c', restart: 'permanent', start: () => c }] });
    for (let i = 0; i < 10_000; i++) assert.equal(sys.send('c', { kind: 'counter.add', n: i }), true);
    assert.equal(c.seen.length, 0, 'nothing runs synchronously inside send');
    await tick();
    assert.equal(c.seen.length, 4096, 'one drain handles at most 4096 messages, then yields to I/O');
    for (let i = 0; i < 5 && c.seen.length < 10_000; i++) await tick();
    assert.equal(c.seen.length, 10_000);
    assert.deepEqual(c.seen.slice(0, 5), [0, 1, 2, 3, 4]);
    assert.equal(c.seen[9_999], 9_999);
  });

  test('ask resolves with the reply', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 1000 }, children: [{ name: 'c', restart: 'permanent', start: () => new Counter() }] });
    sys.send('c', { kind: 'counter.add', n: 5 });
    assert.equal(await sys.ask<number>('c', { kind: 'counter.get' }, 1000), 5);
  });

  test('ask fails with kernel.ask-timeout when no reply comes in time', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 1000 }, children: [{ name: 'c', restart: 'permanent', start: () => new Counter() }] });
    const t0 = Date.now();
    await assert.rejects(sys.ask('c', { kind: 'counter.ignore' }, 50), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'kernel.ask-timeout');
      assert.match(err.message, /ask to 'c' \(counter.ignore\) timed out after 50 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 < 500);
    assert.equal(sys.stats().askTimeouts, 1);
  });

  test('send to an unknown name is a dead letter and returns false', () => {
    const sys = new ActorSystem({ threadId: 1 });
    assert.equal(sys.send('nobody', { kind: 'x' }), false);
    assert.equal(sys.stats().deadLetters, 1);
  });

  test('ask to an unknown name fails at once with kernel.dead-letter', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    await assert.rejects(sys.ask('nobody', { kind: 'x' }, 1000), { code: 'kernel.dead-letter' });
  });

  test('remote names go through the link and replies come back through deliver', async () => {
    const a = new ActorSystem({ threadId: 1 });
    const b = new ActorSystem({ threadId: 2 });
    b.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 1000 }, children: [{ name: 'c', restart: 'permanent', start: () => new Counter() }] });
    a.setRemoteName('c', 2);
    a.connect(2, (env) => { queueMicrotask(() => b.deliver(structuredClone(env))); return true; });
    b.connect(1, (env) => { queueMicrotask(() => a.deliver(structuredClone(env))); return true; });
    a.send('c', { kind: 'counter.add', n: 7 });
    assert.equal(await a.ask<number>('c', { kind: 'counter.get' }, 1000), 7);
  });

  test('a full link is backpressure: send returns false and ask fails with kernel.backpressure', async () => {
    const a = new ActorSystem({ threadId: 1 });
    a.setRemoteName('c', 2);
    a.connect(2, () => false);
    assert.equal(a.send('c', { kind: 'counter.add', n: 1 }), false);
    assert.equal(a.stats().remoteBackpressure, 1);
    await assert.rejects(a.ask('c', { kind: 'counter.get' }, 1000), { code: 'kernel.backpressure' });
  });
});
