import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEncoding } from '../../../src/protocol/http-semantics/accept-encoding.js';

test('picks the server-preferred coding among equal q-values', () => {
  assert.equal(chooseEncoding('gzip, deflate, br', ['br', 'gzip']), 'br');
  assert.equal(chooseEncoding('gzip, deflate, br', ['gzip', 'br']), 'gzip');
});
test('a higher client q-value wins over the server order', () => {
  assert.equal(chooseEncoding('br;q=0.5, gzip;q=0.9', ['br', 'gzip']), 'gzip');
});
test('q=0 refuses a coding and * covers the unnamed ones', () => {
  assert.equal(chooseEncoding('br;q=0, gzip;q=0', ['br', 'gzip']), undefined);
  assert.equal(chooseEncoding('*;q=0.1, br;q=0', ['br', 'gzip']), 'gzip');
});
test('identity when the header is absent or names nothing offered', () => {
  assert.equal(chooseEncoding(undefined, ['br', 'gzip']), undefined);
  assert.equal(chooseEncoding('deflate, zstd', ['br', 'gzip']), undefined);
});
