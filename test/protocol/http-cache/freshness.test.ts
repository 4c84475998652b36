import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientConditionalMatches, currentAgeMs, decideStore, initialAgeMs, parseCacheControl, parseVary, refreshHeaders,
  requestCacheControl, varyValues, type StoreDecisionInput,
} from '../../../src/protocol/http-cache/freshness.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const HTTP_NOW = new Date(NOW).toUTCString();

function input(responseHeaders: string[], extra: Partial<StoreDecisionInput> = {}): StoreDecisionInput {
  return { method: 'GET', status: 200, requestHeaders: [], responseHeaders, defaultTtlMs: 0, requestTimeMs: NOW, responseTimeMs: NOW, ...extra };
}

describe('parseCacheControl', () => {
  test('reads max-age, s-maxage and the boolean directives, case-insensitively', () => {
    const d = parseCacheControl('Public, MAX-AGE=60, s-maxage="120", no-cache, must-revalidate');
    assert.deepEqual(d, { maxAgeSec: 60, sMaxAgeSec: 120, noStore: false, noCache: true, private: false, public: true, mustRevalidate: true });
  });
  test('an invalid delta-seconds counts as 0 (stale)', () => {
    assert.equal(parseCacheControl('max-age=abc').maxAgeSec, 0);
  });
});

describe('decideStore', () => {
  test('stores with s-maxage over max-age over Expires', () => {
    const a = decideStore(input(['Cache-Control', 'max-age=10, s-maxage=20', 'Expires', new Date(NOW + 30_000).toUTCString(), 'Date', HTTP_NOW]));
    assert.ok(a.store && a.freshnessMs === 20_000);
    const b = decideStore(input(['Cache-Control', 'max-age=10', 'Expires', new Date(NOW + 30_000).toUTCString(), 'Date', HTTP_NOW]));
    assert.ok(b.store && b.freshnessMs === 10_000);
    const c = decideStore(input(['Expires', new Date(NOW + 30_000).toUTCString(), 'Date', HTTP_NOW]));
    assert.ok(c.store && c.freshnessMs === 30_000);
  });
  test('refuses no-store, private, Vary: * and a response without freshness when defaultTtlMs is 0', () => {
    assert.deepEqual(decideStore(input(['Cache-Control', 'no-store, max-age=60'])), { store: false, reason: 'no-store' });
    assert.deepEqual(decideStore(input(['Cache-Control', 'private, max-age=60'])), { store: false, reason: 'private' });
    assert.deepEqual(decideStore(input(['Cache-Control', 'max-age=60', 'Vary', 'Accept, *'])), { store: false, reason: 'vary *' });
    assert.deepEqual(decideStore(input([])), { store: false, reason: 'no freshness' });
  });
  test('applies defaultTtlMs to a response without explicit freshness', () => {
    const d = decideStore(input([], { defaultTtlMs: 5000 }));
    assert.ok(d.store && d.freshnessMs === 5000);
  });
  test('refuses a request with Authorization unless the response is public or has s-maxage', () => {
    const auth = ['Authorization', 'Bearer x'];
    assert.equal(decideStore(input(['Cache-Control', 'max-age=60'], { requestHeaders: auth })).store, false);
    const pub = decideStore(input(['Cache-Control', 'public, max-age=60'], { requestHeaders: auth }));
    assert.ok(pub.store && pub.sharedAuthorized);
  });
  test('refuses uncacheable statuses and non-GET methods', () => {
    assert.equal(decideStore(input(['Cache-Control', 'max-age=60'], { status: 302 })).store, false);
    assert.equal(decideStore(input(['Cache-Control', 'max-age=60'], { status: 206 })).store, false);
    assert.equal(decideStore(input(['Cache-Control', 'max-age=60'], { method: 'POST' })).store, false);
    assert.equal(decideStore(input(['Cache-Control', 'max-age=60'], { status: 404 })).store, true);
  });
  test('no-cache stores with zero freshness only when there is a validator', () => {
    const d = decideStore(input(['Cache-Control', 'no-cache', 'ETag', '"a"']));
    assert.ok(d.store && d.freshnessMs === 0);
    assert.equal(decideStore(input(['Cache-Control', 'no-cache'])).store, false);
  });
  test('a request no-store is honoured', () => {
    assert.deepEqual(decideStore(input(['Cache-Control', 'max-age=60'], { requestHeaders: ['Cache-Control', 'no-store'] })), { store: false, reason: 'request no-store' });
  });
});

describe('age', () => {
  test('corrected initial age is the larger of the apparent age and Age plus the response delay', () => {
    assert.equal(initialAgeMs(['Date', new Date(NOW - 10_000).toUTCString()], NOW - 100, NOW), 10_000);
    assert.equal(initialAgeMs(['Age', '30'], NOW - 100, NOW), 30_100);
    assert.equal(currentAgeMs(5000, NOW, NOW + 2000), 7000);
  });
});

describe('request Cache-Control', () => {
  test('no-cache, max-age=0 and Pragma: no-cache (without Cache-Control) ask for revalidation', () => {
    assert.equal(requestCacheControl(['Cache-Control', 'no-cache']).revalidate, true);
    assert.equal(requestCacheControl(['Cache-Control', 'max-age=0']).revalidate, true);
    assert.equal(requestCacheControl(['Pragma', 'no-cache']).revalidate, true);
    assert.equal(requestCacheControl(['Pragma', 'no-cache', 'Cache-Control', 'max-age=5']).revalidate, false);
  });
});

describe('Vary', () => {
  test('names are lower-cased, sorted and deduplicated; * stands alone', () => {
    assert.deepEqual(parseVary('Accept-Language, accept-encoding, Accept-Language'), ['accept-encoding', 'accept-language']);
    assert.equal(parseVary('*'), '*');
  });
  test('values are normalized around commas and an absent field differs from an empty one', () => {
    assert.deepEqual(varyValues(['Accept-Language', 'en ,  fr'], ['accept-language']), ['en,fr']);
    assert.notDeepEqual(varyValues([], ['accept-language']), varyValues(['Accept-Language', ''], ['accept-language']));
  });
});

describe('conditionals', () => {
  test('If-None-Match uses weak comparison and takes precedence over If-Modified-Since', () => {
    const stored = ['ETag', '"v1"', 'Last-Modified', new Date(NOW - 60_000).toUTCString()];
    assert.equal(clientConditionalMatches(['If-None-Match', 'W/"v1"'], stored), true);
    assert.equal(clientConditionalMatches(['If-None-Match', '"v2"', 'If-Modified-Since', HTTP_NOW], stored), false);
    assert.equal(clientConditionalMatches(['If-Modified-Since', HTTP_NOW], stored), true);
    assert.equal(clientConditionalMatches(['If-Modified-Since', new Date(NOW - 120_000).toUTCString()], stored), false);
  });
  test('a 304 refreshes stored fields but never the framing or encoding ones', () => {
    const out = refreshHeaders(['Content-Type', 'text/plain', 'ETag', '"a"', 'Cache-Control', 'max-age=1', 'Content-Encoding', 'gzip'],
      ['Cache-Control', 'max-age=99', 'Content-Length', '0', 'Content-Encoding', 'identity']);
    assert.deepEqual(out, ['Content-Type', 'text/plain', 'ETag', '"a"', 'Content-Encoding', 'gzip', 'Cache-Control', 'max-age=99']);
  });
});
