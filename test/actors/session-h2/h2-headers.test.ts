/**
 * Header translation between HTTP/2 streams and HTTP/1.1 upstreams, bytes
 * and objects only: pseudo-headers, cookies, connection-specific fields, Via.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkedTrailerSection, requestFieldsFromH2, responseHeadersForH2, trailersForH2 } from '../../../actors/session-h2/h2-headers.js';

test(':authority becomes Host first, pseudo-headers are dropped, split cookies are joined with "; "', () => {
  const { fields, authority } = requestFieldsFromH2([':method', 'GET', ':path', '/x', ':scheme', 'https', ':authority', 'api.test', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2']);
  assert.equal(authority, 'api.test');
  assert.deepEqual(fields, ['host', 'api.test', 'accept', '*/*', 'cookie', 'a=1; b=2']);
});

test('a Host field stands in for a missing :authority, and framing or connection fields never pass', () => {
  const { fields, authority } = requestFieldsFromH2([':method', 'POST', ':path', '/', 'host', 'h.test', 'transfer-encoding', 'chunked', 'connection', 'close', 'x-a', '1']);
  assert.equal(authority, 'h.test');
  assert.deepEqual(fields, ['host', 'h.test', 'x-a', '1']);
});

test('bytes counts the request header block as HTTP/1.1 lines, :authority as Host, pseudo-headers not at all', () => {
  const { bytes } = requestFieldsFromH2([':method', 'GET', ':path', '/x', ':authority', 'api.test', 'accept', '*/*', 'x-big', 'a'.repeat(1000)]);
  // "host: api.test\r\n" 16 + "accept: */*\r\n" 13 + "x-big: " + 1000 + "\r\n" 1009
  assert.equal(bytes, 16 + 13 + 1009);
});

test('response fields HTTP/2 forbids are dropped, including those Connection names; Via and the request id are added', () => {
  const h = responseHeadersForH2(200, ['Connection', 'x-hop', 'Keep-Alive', 'timeout=5', 'X-Hop', 'secret', 'Content-Length', '5', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Via', '1.1 origin'], ['x-hop'], true, 'req-1');
  assert.deepEqual(h, { ':status': 200, 'content-length': '5', 'set-cookie': ['a=1', 'b=2'], via: '1.1 origin, 2.0 zproxy', 'x-request-id': 'req-1' });
});

test('Content-Length is dropped when the body is re-framed (chunked or close-delimited upstream)', () => {
  const h = responseHeadersForH2(200, ['content-length', '10', 'transfer-encoding', 'chunked', 'trailer', 'x-sum'], [], false, 'r');
  assert.equal(h['content-length'], undefined);
  assert.equal(h['transfer-encoding'], undefined);
  assert.equal(h.trailer, undefined);
});

test('trailers keep their fields minus forbidden ones; request trailers become a chunked trailer section', () => {
  assert.deepEqual(trailersForH2(['X-Sum', 'abc', 'Connection', 'close', 'x-sum', 'def']), { 'x-sum': ['abc', 'def'] });
  assert.equal(chunkedTrailerSection({ 'x-sum': '42', 'x-list': ['a', 'b'], ':status': '200', connection: 'close' }), '0\r\nx-sum: 42\r\nx-list: a\r\nx-list: b\r\n\r\n');
  assert.equal(chunkedTrailerSection({}), '0\r\n\r\n');
});
