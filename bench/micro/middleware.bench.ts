/**
 * Per-request cost of the edge middlewares' checks, without sockets: the
 * shared-memory rate-limit take (one CAS on a SharedArrayBuffer word), the
 * whole rate-limit onRequest (key + take + locals), the api-key check
 * (SHA-256 of the presented key + constant-time compare with each known key),
 * and a CORS actual-request check.
 */
import { Bench } from 'tinybench';
import { SharedBuckets, newVerdict } from '../../actors/middleware/rate-limit/shared-buckets.js';
import { RateLimitMiddleware } from '../../actors/middleware/rate-limit/rate-limit.js';
import { ApiKeyMiddleware } from '../../actors/middleware/api-key.js';
import { CorsMiddleware } from '../../actors/middleware/cors.js';
import type { RequestContext } from '../../actors/middleware/request-context.js';

export interface MiddlewareBenchRow { name: string; opsPerSec: number; nsPerOp: number }

function ctx(headers: string[]): RequestContext {
  return { requestId: 'r', method: 'GET', path: '/api/users/42', headers, host: 'example.com', clientAddress: '10.1.2.3', clientPort: 5000, tls: false, routeName: 'api', params: {}, locals: {} };
}

export async function runMiddlewareBench(timeMs = 500): Promise<MiddlewareBenchRow[]> {
  const buckets = SharedBuckets.create();
  const verdict = newVerdict();
  // A limit never reached: every take is an allowed CAS update, the common case.
  const limiter = new RateLimitMiddleware('per-ip', { type: 'rate-limit', name: 'per-ip', rate: 1e9, burst: 1e9, key: 'ip', backend: 'local' }, buckets, undefined);
  const keys = Array.from({ length: 10 }, (_, i) => ({ name: `client-${i}`, key: `k-${i}-${'x'.repeat(32)}` }));
  const apiKey = new ApiKeyMiddleware('auth', { type: 'api-key', name: 'auth', keys, header: 'x-api-key' });
  const cors = new CorsMiddleware('cors', { type: 'cors', name: 'cors', origins: ['https://app.example.com', 'https://*.example.org'], originRegex: [], methods: ['GET'], headers: [], exposeHeaders: [], credentials: false, maxAgeSeconds: 600 });
  let ip = 0;
  const bench = new Bench({ time: timeMs });
  bench
    .add('rate-limit: shared bucket take, one hot key', () => { buckets.take('per-ip\u000010.1.2.3', 1, 1e15, verdict); })
    .add('rate-limit: shared bucket take, 10k rotating keys', () => { buckets.take(`per-ip\u000010.0.${(ip = (ip + 1) % 10000) >> 8}.${ip & 255}`, 1, 1e15, verdict); })
    .add('rate-limit: onRequest (key ip)', () => { limiter.onRequest(ctx(['host', 'example.com'])); })
    .add('api-key: onRequest, valid key (10 keys)', () => { apiKey.onRequest(ctx(['host', 'example.com', 'x-api-key', keys[7]!.key])); })
    .add('api-key: onRequest, wrong key (10 keys)', () => { apiKey.onRequest(ctx(['host', 'example.com', 'x-api-key', 'nope'])); })
    .add('cors: onRequest + onResponseHead, allowed origin', () => {
      const c = ctx(['host', 'example.com', 'origin', 'https://eu.example.org']);
      cors.onRequest(c);
      cors.onResponseHead(c, { status: 200, headers: ['content-type', 'text/plain'] });
    });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { throughput?: { mean: number }; hz?: number };
    const hz = r.throughput?.mean ?? r.hz ?? 0;
    return { name: t.name, opsPerSec: Math.round(hz), nsPerOp: Math.round((1e9 / hz) * 10) / 10 };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runMiddlewareBench()) process.stdout.write(`${r.name}: ${r.opsPerSec.toLocaleString('en-US')} ops/s, ${r.nsPerOp} ns/op\n`);
}
