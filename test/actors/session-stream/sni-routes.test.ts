/** Picking a passthrough group by server name: exact, longest wildcard, default. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SniRoutes } from '../../../actors/session-stream/sni-routes.js';

const routes = new SniRoutes({ 'a.example.com': 'exact', '*.example.com': 'wide', '*.api.example.com': 'narrow', 'B.Example.COM': 'upper' }, 'fallback');

test('an exact name beats any wildcard', () => {
  assert.equal(routes.pick('a.example.com'), 'exact');
});

test('the longest matching wildcard suffix wins', () => {
  assert.equal(routes.pick('v1.api.example.com'), 'narrow');
  assert.equal(routes.pick('x.example.com'), 'wide');
  assert.equal(routes.pick('deep.x.example.com'), 'wide');
});

test('a wildcard needs at least one label in place of *', () => {
  assert.equal(routes.pick('example.com'), 'fallback');
  assert.equal(routes.pick('api.example.com'), 'wide');
});

test('configured names compare lowercase, and a trailing dot is ignored', () => {
  assert.equal(routes.pick('b.example.com'), 'upper');
  assert.equal(routes.pick('a.example.com.'), 'exact');
});

test('no server name or no match gives the default, or undefined without one', () => {
  assert.equal(routes.pick(undefined), 'fallback');
  assert.equal(routes.pick('other.test'), 'fallback');
  const strict = new SniRoutes({ 'a.test': 'a' }, undefined);
  assert.equal(strict.pick('b.test'), undefined);
  assert.equal(strict.pick(undefined), undefined);
});
