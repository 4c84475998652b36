import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsWriter, SharedMetricsTable, type MetricSample } from '../../../src/kernel/shared-metrics.js';
import { HttpMetricsRecorder, methodClass, statusClass } from '../../../actors/metrics/http-metrics-recorder.js';
import type { AccessRecord } from '../../../actors/session-http1/access-record.js';

function exchange(over: Partial<AccessRecord>): AccessRecord {
  return {
    time: 0, requestId: 'r', clientAddress: '127.0.0.1', clientPort: 1, method: 'GET', uri: '/', protocol: 'HTTP/1.1', status: 200,
    bytesSent: 100, bytesReceived: 50, requestTimeMs: 0.3, upstreamAddress: '127.0.0.1:1', upstreamConnectMs: 0.1, upstreamResponseMs: 0.2,
    route: 'api', headers: [], tlsSni: '', locals: undefined, ...over,
  };
}

function find(samples: MetricSample[], name: string, labels: string): MetricSample | undefined {
  return samples.find((s) => s.name === name && s.labels === labels);
}

describe('HttpMetricsRecorder', () => {
  test('classifies methods and statuses into their Prometheus label classes', () => {
    assert.deepEqual(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'get', 'OPTIONS'].map(methodClass), [0, 1, 2, 3, 4, 5, 5, 5]);
    assert.deepEqual([100, 199, 200, 302, 404, 499, 500, 599, 0, 600, 99].map(statusClass), [0, 0, 1, 2, 3, 3, 4, 4, 5, 5, 5]);
  });

  test('counts each exchange by route, method class and status class, with latency and bytes', () => {
    const table = new SharedMetricsTable();
    const rec = new HttpMetricsRecorder(new MetricsWriter(table.slotBuffer(0)), new Map([['api', 'backend']]));
    for (let i = 0; i < 7; i++) rec.record(exchange({}));
    for (let i = 0; i < 3; i++) rec.record(exchange({ method: 'POST', status: 201, requestTimeMs: 30 }));
    rec.record(exchange({ method: 'PATCH', status: 502, upstreamResponseMs: -1, requestTimeMs: 2000 }));
    rec.record(exchange({ route: '-', status: 404, upstreamAddress: '-', upstreamResponseMs: -1 }));
    const s = table.read();
    assert.equal(find(s, 'zproxy_http_requests_total', 'route="api",method="GET",status="2xx"')!.value, 7);
    assert.equal(find(s, 'zproxy_http_requests_total', 'route="api",method="POST",status="2xx"')!.value, 3);
    assert.equal(find(s, 'zproxy_http_requests_total', 'route="api",method="OTHER",status="5xx"')!.value, 1);
    assert.equal(find(s, 'zproxy_http_requests_total', 'route="-",method="GET",status="4xx"')!.value, 1);
    const lat = find(s, 'zproxy_http_request_duration_seconds', 'route="api"')!;
    assert.equal(lat.value, 11);
    // 0.3 ms -> le 0.0005 (index 2); 30 ms -> le 0.05 (index 8); 2 s -> le 2.5 (index 13)
    assert.equal(lat.counts![2], 7);
    assert.equal(lat.counts![8], 3);
    assert.equal(lat.counts![13], 1);
    const up = find(s, 'zproxy_upstream_response_seconds', 'upstream="backend"')!;
    assert.equal(up.value, 10, 'exchanges without an upstream response are not in the upstream histogram');
    assert.equal(find(s, 'zproxy_http_received_bytes_total', 'protocol="http1"')!.value, 12 * 50);
    assert.equal(find(s, 'zproxy_http_sent_bytes_total', 'protocol="http1"')!.value, 12 * 100);
  });

  test('counts connections opened and still open, per protocol', () => {
    const table = new SharedMetricsTable();
    const rec = new HttpMetricsRecorder(new MetricsWriter(table.slotBuffer(0)), new Map());
    const closers = Array.from({ length: 5 }, () => rec.connectionOpened('http1'));
    closers[0]!();
    closers[1]!();
    rec.connectionOpened('h2');
    const closeStream = rec.connectionOpened('stream');
    closeStream();
    rec.record(exchange({ protocol: 'HTTP/2.0' }));
    const s = table.read();
    assert.equal(find(s, 'zproxy_connections_total', 'protocol="http1"')!.value, 5);
    assert.equal(find(s, 'zproxy_connections_active', 'protocol="http1"')!.value, 3);
    assert.equal(find(s, 'zproxy_connections_active', 'protocol="h2"')!.value, 1);
    assert.equal(find(s, 'zproxy_connections_total', 'protocol="stream"')!.value, 1);
    assert.equal(find(s, 'zproxy_connections_active', 'protocol="stream"')!.value, 0);
    assert.ok(find(s, 'zproxy_http_received_bytes_total', 'protocol="h2"')!.value > 0, 'an HTTP/2 exchange counts its bytes under h2');
  });

  test('escapes route names in labels and keeps counting the same series across setRoutes', () => {
    const table = new SharedMetricsTable();
    const rec = new HttpMetricsRecorder(new MetricsWriter(table.slotBuffer(0)), new Map());
    rec.record(exchange({ route: 'a"b\\c' }));
    rec.setRoutes(new Map());
    rec.record(exchange({ route: 'a"b\\c' }));
    assert.equal(find(table.read(), 'zproxy_http_requests_total', 'route="a\\"b\\\\c",method="GET",status="2xx"')!.value, 2);
  });
});
