// zproxy with one middleware on its only route, for the middleware cost
// table (docs/PERFORMANCE.md, between the middleware markers). Each config
// is plain `zproxy`'s plus that middleware, and the client sends what the
// middleware needs to let the request through, so the difference from plain
// zproxy is the middleware's cost on its allowed path.

import { join } from 'node:path';

export type MiddlewareSubjectName = 'zproxy-apikey' | 'zproxy-ratelimit' | 'zproxy-cors' | 'zproxy-cache' | 'zproxy-gzip' | 'zproxy-plugin';
export const MIDDLEWARE_SUBJECT_NAMES: readonly MiddlewareSubjectName[] = [
  'zproxy-apikey', 'zproxy-ratelimit', 'zproxy-cors', 'zproxy-cache', 'zproxy-gzip', 'zproxy-plugin',
];

export interface MiddlewareVariant {
  label: string;
  /** The `middleware` map of the config; its one entry goes on the route. */
  middleware(repoRoot: string): Record<string, Record<string, unknown>>;
  /** Extra request headers ("Name: value") the client sends, load and readiness probe alike. */
  requestHeaders: readonly string[];
}

const BENCH_KEY = 'bench-key-0123456789abcdef';

export const MIDDLEWARE_VARIANTS: Record<MiddlewareSubjectName, MiddlewareVariant> = {
  'zproxy-apikey': {
    label: 'zproxy + api-key (one key, sent in x-api-key)',
    middleware: () => ({ auth: { type: 'api-key', keys: [{ name: 'bench', key: BENCH_KEY }] } }),
    requestHeaders: [`x-api-key: ${BENCH_KEY}`],
  },
  'zproxy-ratelimit': {
    // Never empties: what is measured is the bucket check, not rejections.
    label: 'zproxy + rate-limit (key ip, rate and burst 1e9: never rejects)',
    middleware: () => ({ limit: { type: 'rate-limit', rate: 1_000_000_000, burst: 1_000_000_000, key: 'ip' } }),
    requestHeaders: [],
  },
  'zproxy-cors': {
    label: 'zproxy + cors (simple GET from an allowed Origin)',
    middleware: () => ({ cors: { type: 'cors', origins: ['https://app.example.com'] } }),
    requestHeaders: ['Origin: https://app.example.com'],
  },
  'zproxy-cache': {
    // The nginx origin sends no Cache-Control or Expires, so freshness comes
    // from defaultTtlMs; one hour outlives any run, so every request after
    // the readiness probe's miss is a hit.
    label: 'zproxy + cache (hits: defaultTtlMs 1 h, origin sends no Cache-Control)',
    middleware: () => ({ cache: { type: 'cache', defaultTtlMs: 3_600_000 } }),
    requestHeaders: [],
  },
  'zproxy-gzip': {
    // The origins serve bodies as application/octet-stream (nginx default_type,
    // no file extension), which is not in the default types.
    label: 'zproxy + compression (gzip, types application/octet-stream)',
    middleware: () => ({ gzip: { type: 'compression', algorithms: ['gzip'], types: ['application/octet-stream'] } }),
    requestHeaders: ['Accept-Encoding: gzip'],
  },
  'zproxy-plugin': {
    label: 'zproxy + plugin (conf/examples/plugins/require-header.mjs, in-thread)',
    middleware: (repoRoot) => ({
      tenant: { type: 'plugin', module: join(repoRoot, 'conf', 'examples', 'plugins', 'require-header.mjs'), options: { header: 'x-tenant' } },
    }),
    requestHeaders: ['x-tenant: bench'],
  },
};
