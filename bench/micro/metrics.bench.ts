/**
 * Metrics cost on the request path: recording one finished exchange into
 * the worker's shared-memory slot (requests counter by route/method/status,
 * latency and upstream histograms, bytes), and for scale, one scrape of the
 * main thread (summing two slots and writing the Prometheus text).
 */
import { Bench } from 'tinybench';
import { MetricsWriter, SharedMetricsTable } from '../../src/kernel/shared-metrics.js';
import { HttpMetricsRecorder } from '../../actors/metrics/http-metrics-recorder.js';
import type { AccessRecord } from '../../actors/session-http1/access-record.js';
import { PrometheusText } from '../../actors/metrics/prometheus-text.js';
import { familyByName } from '../../actors/metrics/metric-families.js';

export interface MetricsBenchRow { name: string; opsPerSec: number; nsPerOp: number }

const RECORD: AccessRecord = {
  time: Date.now(), requestId: '1abc-2f', clientAddress: '127.0.0.1', clientPort: 53422, method: 'GET', uri: '/api/users/42?x=1',
  protocol: 'HTTP/1.1', status: 200, bytesSent: 512, bytesReceived: 320, requestTimeMs: 0.84, upstreamAddress: '127.0.0.1:8081',
  upstreamConnectMs: 0, upstreamResponseMs: 0.5, route: 'api', tlsSni: '', headers: ['Host', 'example.com'], locals: undefined,
};
const RECORD_404: AccessRecord = { ...RECORD, status: 404, route: '-', upstreamAddress: '-', upstreamResponseMs: -1, requestTimeMs: 0.05 };

export async function runMetricsBench(timeMs = 500): Promise<MetricsBenchRow[]> {
  const table = new SharedMetricsTable();
  const recorders = [0, 1].map((slot) => new HttpMetricsRecorder(new MetricsWriter(table.slotBuffer(slot)), new Map([['api', 'backend']])));
  const rec = recorders[0]!;
  for (const r of recorders) { r.record(RECORD); r.record(RECORD_404); }
  const t0 = performance.now();
  const bench = new Bench({ time: timeMs });
  bench
    .add('record one exchange (request path)', () => { rec.record(RECORD); })
    .add('record one exchange, route miss 404 (request path)', () => { rec.record(RECORD_404); })
    // What turning metrics on costs a request when the access log is off: the session builds the record too.
    .add('build the AccessRecord + record it (request path)', () => {
      rec.record({ ...RECORD, time: Date.now(), requestTimeMs: performance.now() - t0 });
    })
    .add('sum 2 worker slots + write Prometheus text (scrape)', () => {
      const out = new PrometheusText();
      for (const s of table.read()) {
        const f = familyByName(s.name)!;
        if (s.kind === 'histogram') out.histogram(f, s.labels, s.bounds!, s.counts!, s.sum!);
        else out.sample(f, s.labels, s.value);
      }
      out.toString();
    });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { throughput?: { mean: number }; hz?: number };
    const hz = r.throughput?.mean ?? r.hz ?? 0;
    return { name: t.name, opsPerSec: Math.round(hz), nsPerOp: Math.round((1e9 / hz) * 10) / 10 };
  });
}
