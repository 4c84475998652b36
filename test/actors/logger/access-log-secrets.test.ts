import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpscRing } from '../../../src/kernel/ring.js';
import { AccessLogProducer } from '../../../actors/logger/access-log-producer.js';
import { entryFromWire, type AccessEntryWire } from '../../../actors/logger/access-entry.js';
import { compileAccessFormat } from '../../../actors/logger/access-log-format.js';
import { accessRecord } from './access-record-fixture.js';

function lines(ring: SpscRing, format: string): string[] {
  const out: string[] = [];
  const fmt = compileAccessFormat(format, false);
  ring.drain((v) => { out.push(fmt(entryFromWire(v as AccessEntryWire)).trimEnd()); });
  return out;
}

test('api-key query parameters are redacted in $request_uri, and $api_key_name logs the name', () => {
  const ring = SpscRing.create(64 * 1024);
  const format = '$request_uri $api_key_name';
  const producer = new AccessLogProducer(ring.buffer, format, 0, ['x-api-key'], ['key']);
  producer.write(accessRecord({ uri: '/a?key=k-123&x=1', locals: { apiKeyName: 'ci' } }));
  producer.write(accessRecord({ uri: '/b' }));
  assert.deepEqual(lines(ring, format), ['/a?key=[redacted]&x=1 ci', '/b -']);
});

test('setSecrets() (a reload adding an api-key middleware) redacts the new header and parameter from the next record on', () => {
  const ring = SpscRing.create(64 * 1024);
  const format = '$request_uri $http_x_token';
  const producer = new AccessLogProducer(ring.buffer, format, 0, [], []);
  const record = accessRecord({ uri: '/a?tok=k-9', headers: ['X-Token', 'k-9'] });
  producer.write(record);
  producer.setSecrets(['X-Token'], ['tok']);
  producer.write(record);
  assert.deepEqual(lines(ring, format), ['/a?tok=k-9 k-9', '/a?tok=[redacted] [redacted]']);
});
