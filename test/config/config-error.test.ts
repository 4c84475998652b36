import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childPointer, ConfigError, pointerSegments } from '../../src/config/config-error.js';
import { closestMatch, didYouMean, editDistance } from '../../src/config/did-you-mean.js';

test('formats one line per issue with the source, pointer and hint', () => {
  const error = new ConfigError('config.invalid', 'conf/x.json', [
    { path: '/upstreams/api/strategy', message: '"round-robbin" is not one of round-robin, first, least-connections, host, sni', hint: 'did you mean "round-robin"?' },
    { path: '/listeners/0/port', message: 'must be an integer from 0 to 65535, got 70000' },
    { path: '', message: 'invalid JSON at line 1, column 1: unexpected end of input, expected a value' },
  ]);
  assert.deepEqual(error.format(), [
    'conf/x.json: /upstreams/api/strategy: "round-robbin" is not one of round-robin, first, least-connections, host, sni (did you mean "round-robin"?)',
    'conf/x.json: /listeners/0/port: must be an integer from 0 to 65535, got 70000',
    'conf/x.json: invalid JSON at line 1, column 1: unexpected end of input, expected a value',
  ]);
  assert.equal(error.message, error.format().join('\n'));
  assert.equal(error.code, 'config.invalid');
  assert.equal(error.name, 'ConfigError');
  assert.ok(error instanceof Error);
});

test('survives a thread boundary as a plain record', () => {
  const error = new ConfigError('config.reference', 'a.json', [{ path: '/routes/0/upstream', message: 'upstream "x" is not defined in /upstreams' }]);
  const record = structuredClone(error.toRecord());
  assert.deepEqual(record, {
    code: 'config.reference',
    source: 'a.json',
    message: 'a.json: /routes/0/upstream: upstream "x" is not defined in /upstreams',
    issues: [{ path: '/routes/0/upstream', message: 'upstream "x" is not defined in /upstreams' }],
  });
});

test('escapes and unescapes JSON pointer segments (RFC 6901)', () => {
  assert.equal(childPointer('/middleware', 'a/b~c'), '/middleware/a~1b~0c');
  assert.equal(childPointer('', 3), '/3');
  assert.deepEqual(pointerSegments('/middleware/a~1b~0c/0'), ['middleware', 'a/b~c', '0']);
  assert.deepEqual(pointerSegments(''), []);
});

test('measures Levenshtein distance', () => {
  assert.equal(editDistance('timeout', 'timeouts'), 1);
  assert.equal(editDistance('round-robbin', 'round-robin'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('same', 'same'), 0);
});

test('suggests only near misses within distance 2', () => {
  assert.equal(didYouMean('timeout', ['timeouts', 'tls', 'pool']), 'did you mean "timeouts"?');
  assert.equal(didYouMean('Strategy', ['strategy']), 'did you mean "strategy"?');
  assert.equal(closestMatch('leastconnections', ['round-robin', 'least-connections']), 'least-connections');
  assert.equal(closestMatch('banana', ['round-robin', 'first']), undefined);
  // Two edits turn "ip" into "on": a different word, not a typo.
  assert.equal(closestMatch('on', ['ip']), undefined);
  assert.equal(closestMatch('h3', ['http1', 'h2', 'h2c']), 'h2');
});
