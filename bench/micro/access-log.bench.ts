/**
 * Access-log cost on the request path: building an AccessEntry and writing
 * it into the worker's ring (what a request pays), and formatting a line
 * (what the logger thread pays, off the request path).
 */
import { Bench } from 'tinybench';
import { SpscRing } from '../../src/kernel/ring.js';
import { AccessLogProducer } from '../../actors/logger/access-log-producer.js';
import { compileAccessFormat } from '../../actors/logger/access-log-format.js';
import type { AccessRecord } from '../../actors/session-http1/access-record.js';
import type { AccessEntry } from '../../actors/logger/access-entry.js';

export interface AccessLogBenchRow { name: string; opsPerSec: number; nsPerOp: number }

const FORMAT = '$client_addr - [$time_iso8601] "$request_method $request_uri $protocol" $status $bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $request_id';

const RECORD: AccessRecord = {
  time: Date.now(), requestId: '1abc-2f', clientAddress: '127.0.0.1', clientPort: 53422, method: 'GET', uri: '/api/users/42?x=1',
  protocol: 'HTTP/1.1', status: 200, bytesSent: 512, bytesReceived: 320, requestTimeMs: 0.84, upstreamAddress: '127.0.0.1:8081',
  upstreamConnectMs: 0, upstreamResponseMs: 0.5, route: 'api', tlsSni: '',
  headers: ['Host', 'example.com', 'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', 'Accept', '*/*', 'Referer', 'https://example.com/'],
  locals: undefined,
};

export async function runAccessLogBench(timeMs = 500): Promise<AccessLogBenchRow[]> {
  const ring = SpscRing.create(1 << 22);
  const producer = new AccessLogProducer(ring.buffer, FORMAT, 0, []);
  const format = compileAccessFormat(FORMAT, false);
  const json = compileAccessFormat(FORMAT, true);
  const entry: AccessEntry = { ...RECORD, workerId: 0, headerValues: ['https://example.com/', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36'] };
  const bench = new Bench({ time: timeMs });
  bench
    .add('access entry -> ring (request path)', () => {
      producer.write(RECORD);
      ring.drainRaw(() => {}); // keep the ring from filling; the logger thread does this in production
    })
    .add('format one line, nginx style (logger thread)', () => { format(entry); })
    .add('format one line, JSON (logger thread)', () => { json(entry); });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { throughput?: { mean: number }; latency?: { mean: number }; hz?: number; mean?: number };
    const hz = r.throughput?.mean ?? r.hz ?? 0;
    return { name: t.name, opsPerSec: Math.round(hz), nsPerOp: Math.round((1e9 / hz) * 10) / 10 };
  });
}
