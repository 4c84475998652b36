import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { filterHopByHop, isHopByHop } from '../../../src/protocol/http1/hop-by-hop.js';

describe('isHopByHop', () => {
  test('is true for the RFC 9110 7.6.1 and RFC 2616 13.5.1 hop-by-hop fields', () => {
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']) {
      assert.equal(isHopByHop(name), true, name);
    }
  });

  test('is false for end-to-end fields, framing Content-Length included', () => {
    for (const name of ['content-length', 'host', 'trailers', 'tk', 'authorization', 'upgrade-insecure-requests', 'x-connection']) {
      assert.equal(isHopByHop(name), false, name);
    }
  });
});

describe('filterHopByHop', () => {
  const headers = [
    'Host', 'a.example',
    'Connection', 'keep-alive, X-Debug',
    'Keep-Alive', 'timeout=5',
    'X-Debug', '1',
    'Accept', '*/*',
    'TE', 'trailers',
    'Transfer-Encoding', 'chunked',
    'Proxy-Authorization', 'Basic eA==',
    'UPGRADE', 'websocket',
    'x-debug', '2',
    'Trailer', 'X-Sum',
    'Proxy-Connection', 'keep-alive',
    'Proxy-Authenticate', 'Basic',
    'Cookie', 'a=b',
  ];

  test('drops hop-by-hop fields in any case and the fields Connection names, keeping order', () => {
    const framing: string[] = [];
    assert.deepEqual(filterHopByHop(headers, ['keep-alive', 'x-debug'], framing), [
      'Host', 'a.example',
      'Accept', '*/*',
      'Cookie', 'a=b',
    ]);
    assert.deepEqual(framing, ['Transfer-Encoding', 'chunked']);
  });

  test('sets Content-Length and Transfer-Encoding apart as framing instead of dropping them', () => {
    const framing: string[] = [];
    const out = filterHopByHop(['content-length', '12', 'X', 'y', 'transfer-encoding', 'chunked'], [], framing);
    assert.deepEqual(out, ['X', 'y']);
    assert.deepEqual(framing, ['content-length', '12', 'transfer-encoding', 'chunked']);
    assert.deepEqual(filterHopByHop(['Content-Length', '12', 'X', 'y'], []), ['X', 'y']);
  });

  test('ignores Connection tokens naming Host (a client must not strip routing)', () => {
    assert.deepEqual(filterHopByHop(['Host', 'a', 'X', 'y'], ['host', 'x']), ['Host', 'a']);
  });

  test('does not fold ^ onto ~ when matching Connection tokens', () => {
    assert.deepEqual(filterHopByHop(['X^', '1', 'X~', '2'], ['x~']), ['X^', '1']);
  });

  test('returns a new array and leaves its input unchanged', () => {
    const input = ['Connection', 'close', 'A', 'b'];
    const copy = [...input];
    const out = filterHopByHop(input, ['close']);
    assert.notEqual(out, input);
    assert.deepEqual(input, copy);
    assert.deepEqual(out, ['A', 'b']);
  });
});
