import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAccessFormat, headerSetId, headersNeeded } from '../../../actors/logger/access-log-format.js';
import type { AccessEntry } from '../../../actors/logger/access-entry.js';

const ENTRY: AccessEntry = {
  time: Date.UTC(2025, 0, 31, 12, 0, 0, 250), workerId: 1, requestId: '1ab2-7', clientAddress: '127.0.0.1', clientPort: 50123,
  method: 'POST', uri: '/api?x=1', protocol: 'HTTP/1.1', status: 201, bytesSent: 512, bytesReceived: 97, requestTimeMs: 12.4,
  upstreamAddress: '127.0.0.1:8081', upstreamConnectMs: -1, upstreamResponseMs: 11.2, route: 'api', tlsSni: '',
  headerValues: ['curl/8.5', undefined],
};

describe('access log format', () => {
  test('an nginx-style format becomes the exact line, with "-" for what is missing', () => {
    const format = '$client_addr:$client_port [$time_iso8601] "$request_method $request_uri $protocol" $status $bytes_sent $bytes_received rt=$request_time uct=$upstream_connect_time urt=$upstream_response_time $upstream_addr $route w$worker_id $request_id "$http_user_agent" "$http_referer" sni=$tls_sni';
    assert.deepEqual(headersNeeded(format), ['user-agent', 'referer']);
    assert.equal(compileAccessFormat(format, false)(ENTRY),
      '127.0.0.1:50123 [2025-01-31T12:00:00.250Z] "POST /api?x=1 HTTP/1.1" 201 512 97 rt=0.012 uct=- urt=0.011 127.0.0.1:8081 api w1 1ab2-7 "curl/8.5" "-" sni=-\n');
  });

  test('JSON mode writes one object per line with every variable the format names, numbers as numbers', () => {
    const line = compileAccessFormat('$request_method $status $bytes_sent $client_port $http_user_agent $http_referer $worker_id', true)(ENTRY);
    assert.equal(line.endsWith('\n'), true);
    assert.deepEqual(JSON.parse(line), { request_method: 'POST', status: 201, bytes_sent: 512, client_port: 50123, http_user_agent: 'curl/8.5', http_referer: '-', worker_id: '1' });
  });

  test('entries carrying another header list (a worker on the format before a reload) are read by name, not by position', () => {
    // The entry holds [referer, user-agent] as an older format captured them; the current format wants [user-agent, x-trace].
    const older: AccessEntry = { ...ENTRY, headerValues: ['https://r.example/', 'curl/8.5'] };
    const line = compileAccessFormat('$http_user_agent|$http_x_trace|$http_referer', false, ['referer', 'user-agent'])(older);
    assert.equal(line, 'curl/8.5|-|https://r.example/\n');
  });

  test('headerSetId is 0 for no headers and tells header lists apart, order included', () => {
    assert.equal(headerSetId([]), 0);
    const a = headerSetId(['user-agent', 'referer']);
    assert.equal(a, headerSetId(['user-agent', 'referer']));
    assert.notEqual(a, headerSetId(['referer', 'user-agent']));
    assert.notEqual(a, 0);
  });
});
