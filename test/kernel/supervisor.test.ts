import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem } from '../../src/kernel/actor-system.js';
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { SupervisorEvent } from '../../src/kernel/supervisor.js';

type Msg = { readonly kind: 'w.crash' } | { readonly kind: 'w.ping' } | { readonly kind: 'w.hold' };

let instances = 0;
class Worker implements Actor<Msg> {
  readonly id = ++instances;
  terminated: Array<ErrorRecord | undefined> = [];
  receive(msg: Msg, ctx: ActorContext): void {
    if (msg.kind === 'w.crash') throw new Error(`crash in ${this.id}`);
    if (msg.kind === 'w.ping') ctx.reply(this.id);
  }
  terminate(reason: ErrorRecord | undefined): void { this.terminated.push(reason); }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('supervision', () => {
  test('one-for-one restarts only the crashed actor and calls its terminate with the error', async () => {
    const made: Worker[] = [];
    const start = (): Worker => { const w = new Worker(); made.push(w); return w; };
    const events: SupervisorEvent[] = [];
    const sys = new ActorSystem({ threadId: 1, onSupervisorEvent: (e) => events.push(e) });
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 10_000 }, children: [
      { name: 'a', restart: 'permanent', start }, { name: 'b', restart: 'permanent', start },
    ] });
    const [a0, b0] = made;
    const bId = await sys.ask<number>('b', { kind: 'w.ping' }, 1000);
    sys.send('a', { kind: 'w.crash' });
    await tick();
    assert.equal(a0!.terminated.length, 1);
    assert.equal(a0!.terminated[0]!.message, 'crash in ' + a0!.id);
    assert.notEqual(await sys.ask<number>('a', { kind: 'w.ping' }, 1000), a0!.id, 'a is a fresh instance');
    assert.equal(await sys.ask<number>('b', { kind: 'w.ping' }, 1000), bId, 'b untouched');
    assert.equal(b0!.terminated.length, 0);
    assert.deepEqual(events.map((e) => e.kind), ['supervisor.child-restarted']);
  });

  test('an ask that crashes its actor fails with kernel.actor-crashed (in-flight work fails cleanly)', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 10_000 }, children: [{ name: 'a', restart: 'permanent', start: () => new Worker() }] });
    await assert.rejects(sys.ask('a', { kind: 'w.crash' }, 1000), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'kernel.actor-crashed');
      assert.match(err.message, /actor 'a' crashed: crash in/);
      return true;
    });
  });

  test('one-for-all restarts every sibling', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'root', strategy: 'one-for-all', intensity: { maxRestarts: 3, withinMs: 10_000 }, children: [
      { name: 'a', restart: 'permanent', start: () => new Worker() }, { name: 'b', restart: 'permanent', start: () => new Worker() },
    ] });
    const b1 = await sys.ask<number>('b', { kind: 'w.ping' }, 1000);
    sys.send('a', { kind: 'w.crash' });
    await tick();
    assert.notEqual(await sys.ask<number>('b', { kind: 'w.ping' }, 1000), b1);
  });

  test('a temporary child is not restarted and its name is gone', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 3, withinMs: 10_000 }, children: [{ name: 't', restart: 'temporary', start: () => new Worker() }] });
    sys.send('t', { kind: 'w.crash' });
    await tick();
    assert.equal(sys.has('t'), false);
    await assert.rejects(sys.ask('t', { kind: 'w.ping' }, 200), { code: 'kernel.dead-letter' });
  });

  test('past the restart intensity the subtree escalates to its parent, and the root to the host', async () => {
    const escalations: Array<{ error: ErrorRecord; supervisor: string }> = [];
    const events: SupervisorEvent[] = [];
    const sys = new ActorSystem({ threadId: 1, onEscalate: (error, supervisor) => escalations.push({ error, supervisor }), onSupervisorEvent: (e) => events.push(e) });
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 1, withinMs: 10_000 }, children: [
      { name: 'inner', strategy: 'one-for-one', intensity: { maxRestarts: 2, withinMs: 10_000 }, children: [{ name: 'a', restart: 'permanent', start: () => new Worker() }] },
    ] });
    // inner allows 2 restarts; the 3rd crash escalates to root (root restarts inner once: budget 1);
    // after that inner's fresh budget allows 2 more; the next escalation exceeds root's budget.
    for (let i = 0; i < 3; i++) { sys.send('a', { kind: 'w.crash' }); await tick(); }
    assert.equal(escalations.length, 0);
    assert.ok(events.some((e) => e.kind === 'supervisor.escalated' && e.supervisor === 'inner'));
    assert.equal(await sys.ask<number>('a', { kind: 'w.ping' }, 1000) > 0, true, 'root restarted the inner subtree');
    for (let i = 0; i < 3; i++) { sys.send('a', { kind: 'w.crash' }); await tick(); }
    assert.equal(escalations.length, 1);
    assert.equal(escalations[0]!.supervisor, 'root');
    assert.match(escalations[0]!.error.message, /crash in/);
  });

  test('restarts outside the intensity window do not count', async () => {
    let now = 0;
    const escalations: string[] = [];
    const sys = new ActorSystem({ threadId: 1, onEscalate: (_e, s) => escalations.push(s) });
    (sys as unknown as { now: () => number }).now = () => now;
    sys.startTree({ name: 'root', strategy: 'one-for-one', intensity: { maxRestarts: 2, withinMs: 1000 }, children: [{ name: 'a', restart: 'permanent', start: () => new Worker() }] });
    for (let i = 0; i < 6; i++) { now += 600; sys.send('a', { kind: 'w.crash' }); await tick(); }
    assert.deepEqual(escalations, []);
  });
});
