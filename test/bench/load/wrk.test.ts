import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseWrkBytes, parseWrkMetric, parseWrkOutput, parseWrkTimeUs, postBodyLua, runWrk, wrkArgs, wrkErrorTotal, writePostScript,
  WrkOutputError,
} from '../../../bench/load/wrk.js';
import { findBinary } from '../../../bench/load/binaries.js';

// Captured from wrk 4.1.0 (Debian) on this machine against nginx 1.22.1.
const KEEP_ALIVE_SMALL = `Running 2s test @ http://127.0.0.1:18081/small
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   598.85us  168.48us   1.59ms   75.05%
    Req/Sec    80.55k     1.38k   82.54k    66.67%
  Latency Distribution
     50%  647.00us
     75%  666.00us
     90%  744.00us
     99%    0.97ms
  168175 requests in 2.10s, 54.21MB read
Requests/sec:  80059.12
Transfer/sec:     25.81MB
`;

const ONE_MIB = `Running 2s test @ http://127.0.0.1:18081/1m
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.17ms    1.55ms  13.29ms   76.56%
    Req/Sec     2.37k   246.28     2.63k    55.00%
  Latency Distribution
     50%    3.15ms
     75%    3.73ms
     90%    4.70ms
     99%    9.08ms
  4755 requests in 2.01s, 4.64GB read
Requests/sec:   2367.54
Transfer/sec:      2.31GB
`;

const NOT_FOUND = `Running 1s test @ http://127.0.0.1:18081/missing
  1 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   246.85us   41.09us 767.00us   85.62%
    Req/Sec    80.16k   686.87    80.87k    72.73%
  Latency Distribution
     50%  252.00us
     75%  254.00us
     90%  259.00us
     99%  356.00us
  87534 requests in 1.10s, 25.71MB read
  Non-2xx or 3xx responses: 87534
Requests/sec:  79600.32
Transfer/sec:     23.38MB
`;

// A Node server answering after 1.2 s and destroying every 7th socket; wrk
// prints second-unit percentiles with a trailing space ("1.20s ").
const SLOW_WITH_RESETS = `Running 3s test @ http://127.0.0.1:18082/
  1 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21s     3.97ms   1.21s    58.62%
    Req/Sec    11.00      1.41    12.00    100.00%
  Latency Distribution
     50%    1.20s 
     75%    1.21s 
     90%    1.21s 
     99%    1.21s 
  29 requests in 3.01s, 3.51KB read
  Socket errors: connect 0, read 8, write 0, timeout 0
Requests/sec:      9.64
Transfer/sec:      1.17KB
`;

const REFUSED = 'unable to connect to 127.0.0.1:18099 Connection refused\n';

describe('wrk unit parsing', () => {
  test('reads times in us, ms, s and m as microseconds', () => {
    assert.equal(parseWrkTimeUs('647.00us'), 647);
    assert.equal(parseWrkTimeUs('0.97ms'), 970);
    assert.equal(parseWrkTimeUs('1.20s'), 1_200_000);
    assert.equal(parseWrkTimeUs('0.50m'), 30_000_000);
    assert.ok(Number.isNaN(parseWrkTimeUs('1.2parsecs')));
  });

  test('reads k and M count suffixes in powers of 1000', () => {
    assert.equal(parseWrkMetric('80.55k'), 80_550);
    assert.equal(parseWrkMetric('246.28'), 246.28);
    assert.equal(parseWrkMetric('1.50M'), 1_500_000);
  });

  test('reads K, M and G byte suffixes in powers of 1024', () => {
    assert.equal(parseWrkBytes('3.51KB'), 3594.24);
    assert.equal(parseWrkBytes('54.21MB'), 56843304.96);
    assert.equal(parseWrkBytes('4.64GB'), 4982162063.36);
    assert.equal(parseWrkBytes('512.00B'), 512);
    assert.ok(Number.isNaN(parseWrkBytes('12.00M')));
  });
});

describe('parseWrkOutput', () => {
  test('reads totals, rate and microsecond/millisecond percentiles of a keep-alive run', () => {
    const r = parseWrkOutput(KEEP_ALIVE_SMALL);
    assert.equal(r.requests, 168175);
    assert.equal(r.durationS, 2.1);
    assert.equal(r.requestsPerS, 80059.12);
    assert.equal(r.bytesRead, 56843304.96);
    assert.equal(r.latency.avgUs, 598.85);
    assert.equal(r.latency.maxUs, 1590);
    assert.deepEqual([r.latency.p50Us, r.latency.p75Us, r.latency.p90Us, r.latency.p99Us], [647, 666, 744, 970]);
    assert.deepEqual(r.threadRequestsPerS, { avg: 80_550, stdev: 1380, max: 82_540 });
    assert.deepEqual(r.errors, { connect: 0, read: 0, write: 0, timeout: 0, non2xx3xx: 0 });
  });

  test('reads gigabyte transfers and a Req/Sec stdev without suffix', () => {
    const r = parseWrkOutput(ONE_MIB);
    assert.equal(r.requests, 4755);
    assert.equal(r.bytesRead, 4982162063.36);
    assert.equal(r.latency.p99Us, 9080);
    assert.deepEqual(r.threadRequestsPerS, { avg: 2370, stdev: 246.28, max: 2630 });
  });

  test('counts non-2xx/3xx responses as errors', () => {
    const r = parseWrkOutput(NOT_FOUND);
    assert.equal(r.errors.non2xx3xx, 87534);
    assert.equal(wrkErrorTotal(r.errors), 87534);
  });

  test('reads second-unit latencies with trailing spaces and socket errors', () => {
    const r = parseWrkOutput(SLOW_WITH_RESETS);
    assert.equal(r.requests, 29);
    assert.equal(r.requestsPerS, 9.64);
    assert.equal(r.latency.avgUs, 1_210_000);
    assert.equal(r.latency.stdevUs, 3970);
    assert.equal(r.latency.p50Us, 1_200_000);
    assert.equal(r.latency.p99Us, 1_210_000);
    assert.deepEqual(r.errors, { connect: 0, read: 8, write: 0, timeout: 0, non2xx3xx: 0 });
    assert.equal(wrkErrorTotal(r.errors), 8);
  });

  test('rejects output without a report, with a stable code and the text', () => {
    assert.throws(() => parseWrkOutput(REFUSED), (err: unknown) => {
      assert.ok(err instanceof WrkOutputError);
      assert.equal(err.code, 'LOAD_WRK_OUTPUT_UNPARSED');
      assert.match(err.message, /Connection refused/);
      return true;
    });
  });

  test('rejects a run made without --latency', () => {
    const withoutPercentiles = KEEP_ALIVE_SMALL.replace(/ {2}Latency Distribution[\s\S]*?0\.97ms\n/, '');
    assert.throws(() => parseWrkOutput(withoutPercentiles), /50% latency \(run with --latency\)/);
  });
});

describe('wrk invocation', () => {
  test('builds one-thread arguments with the POST script and extra headers', () => {
    const args = wrkArgs({
      url: 'http://127.0.0.1:8080/post', durationS: 5, connections: 50, cpus: '1', script: '/tmp/x/post.lua', headers: ['Connection: close'],
    });
    assert.deepEqual(args, ['-t1', '-c50', '-d5s', '--latency', '-s', '/tmp/x/post.lua', '-H', 'Connection: close', 'http://127.0.0.1:8080/post']);
  });

  test('writes a Lua script that posts a body of the asked size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wrk-test-'));
    try {
      const path = writePostScript(dir, 65536);
      assert.equal(readFileSync(path, 'utf8'), postBodyLua(65536));
      assert.match(postBodyLua(65536), /^wrk\.method = "POST"\nwrk\.body = string\.rep\("x", 65536\)\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('measures a real server on 127.0.0.1 and agrees with its request count', { skip: findBinary('wrk') === null ? 'wrk not installed' : false }, async () => {
    let served = 0;
    const server = createServer((_req, res) => {
      served++;
      res.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const r = await runWrk({ url: `http://127.0.0.1:${port}/`, durationS: 1, connections: 2, cpus: null });
      assert.ok(r.requests > 0);
      // wrk stops counting at -d; the server may have answered up to one more per connection.
      assert.ok(served >= r.requests && served <= r.requests + 2, `served ${served}, wrk counted ${r.requests}`);
      assert.equal(wrkErrorTotal(r.errors), 0);
      assert.ok(r.latency.p50Us > 0 && r.latency.p50Us <= r.latency.p99Us);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
