import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheActor } from '../../../actors/cache/cache-actor.js';
import type { CacheReply, LookupResult, StoredResponse } from '../../../actors/cache/cache-protocol.js';

const LIMITS = { maxBytes: 1 << 20, maxObjectBytes: 1 << 16 };

function entry(now: number): StoredResponse {
  return { status: 200, headers: ['ETag', '"a"'], body: new Uint8Array([1, 2, 3]), storedAtMs: now, initialAgeMs: 0, freshnessMs: 1000, varyNames: [], varyValues: [], sharedAuthorized: false };
}

function lookup(actor: CacheActor, id: number, fill = true): Promise<LookupResult> {
  return new Promise((resolve) => actor.receive({ kind: 'cache.lookup', id, store: 's', limits: LIMITS, key: 'k', requestHeaders: [], fill }, (r: CacheReply) => {
    if (r.kind === 'cache-client.lookup-reply') resolve(r.result);
  }));
}

test('concurrent misses of one key: the first fills, the others wait and get the stored entry', async () => {
  let now = 1000;
  const actor = new CacheActor(() => now);
  const first = await lookup(actor, 1);
  assert.equal(first.k, 'miss');
  assert.ok(first.token > 0);
  const waiting = [lookup(actor, 2), lookup(actor, 3)];
  actor.receive({ kind: 'cache.store', store: 's', key: 'k', token: first.token, entry: entry(now) }, () => {});
  for (const r of await Promise.all(waiting)) assert.deepEqual([r.k, r.k === 'hit' && r.fresh], ['hit', true]);
  assert.equal(actor.stats().coalesced, 2);
});

test('an abandoned fill releases every waiter as a miss without the lock', async () => {
  const actor = new CacheActor();
  const first = await lookup(actor, 1);
  const waiting = lookup(actor, 2);
  actor.receive({ kind: 'cache.abandon', store: 's', key: 'k', token: first.token }, () => {});
  assert.deepEqual(await waiting, { k: 'miss', token: 0 });
});

test('a stale entry is returned with the fill lock for revalidation', async () => {
  let now = 1000;
  const actor = new CacheActor(() => now);
  const first = await lookup(actor, 1);
  actor.receive({ kind: 'cache.store', store: 's', key: 'k', token: first.token, entry: entry(now) }, () => {});
  now += 5000;
  const r = await lookup(actor, 2);
  assert.equal(r.k, 'hit');
  assert.ok(r.k === 'hit' && !r.fresh && r.token > 0);
});
