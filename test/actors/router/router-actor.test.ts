import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ActorSystem } from '../../../src/kernel/actor-system.js';
import { RouterActor, type RouterReply } from '../../../actors/router/router-actor.js';
import { RemoteRouter } from '../../../actors/router/remote-router.js';
import { threadId } from 'node:worker_threads';

const ROUTES = [
  { host: undefined, path: '/api/users/:id', methods: ['GET'] },
  { host: ['example.com'], path: '/static/*', methods: undefined },
];

describe('router actor', () => {
  test('answers matches with the route index, params and wildcard, 404 and 405', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'r', strategy: 'one-for-one', intensity: { maxRestarts: 1, withinMs: 1000 }, children: [{ name: 'router', restart: 'permanent', start: () => new RouterActor() }] });
    sys.send('router', { kind: 'router.load-routes', generation: 3, routes: ROUTES });
    assert.deepEqual(await sys.ask<RouterReply>('router', { kind: 'router.match', generation: 3, host: 'a', method: 'GET', path: '/api/users/42' }, 1000), { k: 'm', g: 3, i: 0, p: { id: '42' }, w: undefined });
    assert.deepEqual(await sys.ask<RouterReply>('router', { kind: 'router.match', generation: 3, host: 'example.com', method: 'GET', path: '/static/a/b.css' }, 1000), { k: 'm', g: 3, i: 1, p: Object.assign(Object.create(null), {}), w: 'a/b.css' });
    assert.deepEqual(await sys.ask<RouterReply>('router', { kind: 'router.match', generation: 3, host: 'a', method: 'GET', path: '/nope' }, 1000), { k: 'nf', g: 3 });
    assert.deepEqual(await sys.ask<RouterReply>('router', { kind: 'router.match', generation: 3, host: 'a', method: 'POST', path: '/api/users/1' }, 1000), { k: 'na', g: 3, allow: ['GET', 'HEAD'] });
  });

  test('a match for another config generation is answered stale, never with a wrong index', async () => {
    const sys = new ActorSystem({ threadId: 1 });
    sys.startTree({ name: 'r', strategy: 'one-for-one', intensity: { maxRestarts: 1, withinMs: 1000 }, children: [{ name: 'router', restart: 'permanent', start: () => new RouterActor() }] });
    sys.send('router', { kind: 'router.load-routes', generation: 3, routes: ROUTES });
    assert.deepEqual(await sys.ask<RouterReply>('router', { kind: 'router.match', generation: 4, host: 'a', method: 'GET', path: '/api/users/42' }, 1000), { k: 'stale', g: 3 });
  });

  for (const placement of ['pipelined', 'postmessage'] as const) {
    test(`runs on its own thread with the ${placement} placement`, async () => {
      const sys = new ActorSystem({ threadId });
      const remote = await RemoteRouter.start(sys, placement);
      try {
        remote.load(1, ROUTES);
        const reply = await new Promise<RouterReply | undefined>((resolve, reject) => remote.match(1, 'x', 'GET', '/api/users/7', (err, r) => (err ? reject(new Error(err.message)) : resolve(r))));
        assert.deepEqual(reply, { k: 'm', g: 1, i: 0, p: { id: '7' }, w: undefined });
        assert.equal(remote.stats().sent, 2);
      } finally {
        await remote.stop();
        sys.shutdown();
      }
    });
  }
});
