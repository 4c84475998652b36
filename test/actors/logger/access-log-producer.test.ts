import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpscRing } from '../../../src/kernel/ring.js';
import { AccessLogProducer } from '../../../actors/logger/access-log-producer.js';
import { headerSetId } from '../../../actors/logger/access-log-format.js';
import type { AccessEntryWire } from '../../../actors/logger/access-entry.js';
import { accessRecord } from './access-record-fixture.js';

function readAll(ring: SpscRing): AccessEntryWire[] {
  const out: AccessEntryWire[] = [];
  ring.drain((v) => { out.push(v as AccessEntryWire); });
  return out;
}

describe('access log producer', () => {
  test('copies the headers the format names and never the value of a credential header', () => {
    const ring = SpscRing.create(64 * 1024);
    const producer = new AccessLogProducer(ring.buffer, '$http_user_agent $http_authorization $http_cookie $http_x_api_key $http_proxy_authorization', 3, ['X-Api-Key']);
    producer.write(accessRecord());
    const [wire] = readAll(ring);
    assert.deepEqual(wire![17], ['curl/8.5', '[redacted]', '[redacted]', '[redacted]', undefined]);
    assert.equal(wire![1], 3);
    assert.equal(wire![18], headerSetId(['user-agent', 'authorization', 'cookie', 'x-api-key', 'proxy-authorization']));
    assert.equal(JSON.stringify(wire).includes('s3cr3t'), false);
    assert.equal(JSON.stringify(wire).includes('k-123'), false);
  });

  test('a credential header that was not sent is "-" (undefined), not "[redacted]"', () => {
    const ring = SpscRing.create(64 * 1024);
    const producer = new AccessLogProducer(ring.buffer, '$http_authorization $http_user_agent', 0, []);
    producer.write(accessRecord({ headers: ['User-Agent', 'curl/8.5'] }));
    assert.deepEqual(readAll(ring)[0]![17], [undefined, 'curl/8.5']);
  });

  test('configure() switches the captured headers from the next record on', () => {
    const ring = SpscRing.create(64 * 1024);
    const producer = new AccessLogProducer(ring.buffer, '$status', 0, []);
    producer.write(accessRecord());
    producer.configure('$http_host', []);
    producer.write(accessRecord());
    const [before, after] = readAll(ring);
    assert.deepEqual([before![17], before![18]], [[], 0]);
    assert.deepEqual([after![17], after![18]], [['example.com'], headerSetId(['host'])]);
  });

  test('a full ring drops the record and counts it instead of waiting', () => {
    const ring = SpscRing.create(64 * 1024);
    const producer = new AccessLogProducer(ring.buffer, '$status', 0, []);
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) producer.write(accessRecord());
    const elapsedMs = performance.now() - t0;
    const s = producer.stats();
    assert.ok(s.dropped > 0, `dropped ${s.dropped}`);
    assert.equal(s.written + s.dropped, 2000);
    assert.ok(elapsedMs < 1000, `2000 writes took ${elapsedMs} ms`);
  });
});
