import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruStore, entrySizeBytes } from '../../../actors/cache/lru-store.js';
import type { StoredResponse } from '../../../actors/cache/cache-protocol.js';

function entry(bodyBytes: number, vary: { names: string[]; values: string[] } = { names: [], values: [] }): StoredResponse {
  return { status: 200, headers: [], body: new Uint8Array(bodyBytes), storedAtMs: 0, initialAgeMs: 0, freshnessMs: 1000, varyNames: vary.names, varyValues: vary.values, sharedAuthorized: false };
}

test('evicts the least recently used entry when the byte bound is passed', () => {
  const size = entrySizeBytes(entry(1000));
  const store = new LruStore(size * 2, 10_000);
  store.put('a', entry(1000));
  store.put('b', entry(1000));
  assert.ok(store.find('a', [])); // a is now the most recently used
  store.put('c', entry(1000));
  assert.ok(store.find('a', []));
  assert.equal(store.find('b', []), undefined);
  assert.ok(store.find('c', []));
  assert.equal(store.evictions, 1);
  assert.ok(store.bytes <= size * 2);
});

test('refuses a body over maxObjectBytes', () => {
  const store = new LruStore(1 << 20, 100);
  assert.equal(store.put('a', entry(101)), false);
  assert.equal(store.size, 0);
});

test('keeps one variant per Vary value under one key and purges them together', () => {
  const store = new LruStore(1 << 20, 1 << 20);
  store.put('k', entry(1, { names: ['accept-language'], values: ['en'] }));
  store.put('k', entry(2, { names: ['accept-language'], values: ['fr'] }));
  assert.equal(store.find('k', ['Accept-Language', 'fr'])!.body.byteLength, 2);
  assert.equal(store.find('k', ['Accept-Language', 'en'])!.body.byteLength, 1);
  assert.equal(store.find('k', ['Accept-Language', 'de']), undefined);
  assert.equal(store.purgeKey('k'), 2);
  assert.equal(store.bytes, 0);
});

test('purges by prefix', () => {
  const store = new LruStore(1 << 20, 1 << 20);
  store.put('h/img/1', entry(1));
  store.put('h/img/2', entry(1));
  store.put('h/css/1', entry(1));
  assert.equal(store.purgePrefix('h/img/'), 2);
  assert.ok(store.find('h/css/1', []));
});
