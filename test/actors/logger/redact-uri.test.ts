import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactQueryParams } from '../../../actors/logger/redact-uri.js';

test('redacts the value of credential query parameters and nothing else', () => {
  const names = new Set(['api_key']);
  assert.equal(redactQueryParams('/a?x=1&api_key=s3cret&y=2', names), '/a?x=1&api_key=[redacted]&y=2');
  assert.equal(redactQueryParams('/a?api%5Fkey=s3cret', names), '/a?api%5Fkey=[redacted]');
  assert.equal(redactQueryParams('/a?api_key', names), '/a?api_key=[redacted]');
  assert.equal(redactQueryParams('/a?api_keys=1', names), '/a?api_keys=1');
  assert.equal(redactQueryParams('/a', names), '/a');
  assert.equal(redactQueryParams('/a?api_key=s', new Set()), '/a?api_key=s');
});
