import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminGet, baseConfig, Origin, request, scrape, startCli, waitFor, type CliProxy } from './fixtures/zproxy-cli.js';
import { sampleValue, sumSamples, type ParsedFamily } from './fixtures/prometheus-parser.js';

/**
 * The real CLI with two workers: a known load, then /metrics must parse as
 * strict Prometheus text and count exactly what was sent, summed over the
 * workers' shared memory.
 */
describe('GET /metrics on the admin listener', () => {
  let proxy: CliProxy;
  let origin: Origin;
  let logDir: string;

  before(async () => {
    origin = await new Origin().listen();
    logDir = mkdtempSync(join(tmpdir(), 'zproxy-metrics-log-'));
    proxy = await startCli(baseConfig({
      upstreams: { app: { hosts: [`127.0.0.1:${origin.port}`] } },
      routes: [
        { name: 'api', path: '/api/*', upstream: 'app' },
        { name: 'static', path: '/static/*', upstream: 'app' },
      ],
      logging: { level: 'warn', access: { enabled: true, path: join(logDir, 'access.log') } },
    }));
  });

  after(async () => {
    await proxy?.stop();
    await origin?.kill();
    rmSync(logDir, { recursive: true, force: true });
  });

  test('parses as valid Prometheus exposition and counts every request by route, method class and status class', async () => {
    const sent: Array<[string, string, number]> = [];
    const send = async (method: string, path: string, times: number, status: number, body?: string): Promise<void> => {
      for (let i = 0; i < times; i++) {
        const r = await request(proxy.port, path, { method, body, headers: body ? { 'content-type': 'text/plain' } : {} });
        assert.equal(r.status, status, `${method} ${path}`);
        sent.push([method, path, r.status]);
      }
    };
    await send('GET', '/api/users', 12, 200);
    await send('POST', '/api/users', 5, 200, 'hello');
    await send('DELETE', '/api/users/1', 2, 200);
    await send('PATCH', '/api/users/1', 1, 200, '{}');
    await send('HEAD', '/static/logo.png', 4, 200);
    await send('GET', '/nowhere', 2, 404);
    origin.status = 503;
    await send('GET', '/api/broken', 3, 503);
    origin.status = 200;

    let m: Map<string, ParsedFamily> = new Map();
    // Upstream pool counters are sampled by each worker once a second.
    await waitFor('upstream request counters', async () => {
      m = await scrape(proxy.admin);
      return sumSamples(m, 'zproxy_upstream_requests_total', { upstream: 'app' }) === 27 && sampleValue(m, 'zproxy_connections_active', { protocol: 'http1' }) === 0;
    }, 4000);

    const req = (route: string, method: string, status: string): number | undefined => sampleValue(m, 'zproxy_http_requests_total', { route, method, status });
    assert.equal(req('api', 'GET', '2xx'), 12);
    assert.equal(req('api', 'POST', '2xx'), 5);
    assert.equal(req('api', 'DELETE', '2xx'), 2);
    assert.equal(req('api', 'OTHER', '2xx'), 1);
    assert.equal(req('api', 'GET', '5xx'), 3);
    assert.equal(req('static', 'HEAD', '2xx'), 4);
    assert.equal(req('-', 'GET', '4xx'), 2);
    assert.equal(sumSamples(m, 'zproxy_http_requests_total'), sent.length);
    assert.equal(m.get('zproxy_http_requests_total')!.type, 'counter');

    assert.equal(m.get('zproxy_http_request_duration_seconds')!.type, 'histogram');
    assert.equal(sampleValue(m, 'zproxy_http_request_duration_seconds_count', { route: 'api' }), 23);
    assert.equal(sampleValue(m, 'zproxy_http_request_duration_seconds_count', { route: 'static' }), 4);
    assert.equal(sampleValue(m, 'zproxy_http_request_duration_seconds_bucket', { route: 'api', le: '+Inf' }), 23);
    assert.ok(sampleValue(m, 'zproxy_http_request_duration_seconds_sum', { route: 'api' })! > 0);
    assert.equal(sampleValue(m, 'zproxy_upstream_response_seconds_count', { upstream: 'app' }), 27);

    assert.equal(sampleValue(m, 'zproxy_connections_total', { protocol: 'http1' }), sent.length, 'one connection per request (agent: false)');
    assert.ok(sampleValue(m, 'zproxy_http_received_bytes_total', { protocol: 'http1' })! > 0);
    assert.ok(sampleValue(m, 'zproxy_http_sent_bytes_total', { protocol: 'http1' })! > 0);
    assert.equal(origin.traffic(), 27);
  });

  test('reports workers, actors, rings, upstream hosts, supervisor and process', async () => {
    const m = await scrape(proxy.admin);
    const info = m.get('zproxy_worker_info')!.samples;
    assert.deepEqual(info.map((s) => [s.labels.worker, s.labels.state, s.labels.cpu]), [['0', 'ready', 'none'], ['1', 'ready', 'none']]);
    for (const w of ['0', '1']) {
      assert.equal(sampleValue(m, 'zproxy_worker_restarts_total', { worker: w }), 0);
      assert.equal(sampleValue(m, 'zproxy_actor_mailbox_depth', { worker: w, actor: 'session' }), 0);
      assert.equal(sampleValue(m, 'zproxy_actor_restarts_total', { worker: w, actor: 'session' }), 0);
      const elu = sampleValue(m, 'zproxy_worker_event_loop_utilization', { worker: w })!;
      assert.ok(elu >= 0 && elu <= 1, `utilization ${elu}`);
      assert.ok(sampleValue(m, 'zproxy_worker_event_loop_delay_p99_seconds', { worker: w })! >= 0);
      assert.equal(sampleValue(m, 'zproxy_ring_capacity_bytes', { ring: `access-log/${w}` })! > 0, true);
      assert.equal(sampleValue(m, 'zproxy_ring_drops_total', { ring: `access-log/${w}` }), 0);
    }
    const hasCpu = typeof (process as { threadCpuUsage?: unknown }).threadCpuUsage === 'function';
    assert.equal(m.has('zproxy_worker_cpu_seconds_total'), hasCpu, 'CPU time only where process.threadCpuUsage exists');
    const host = { upstream: 'app', host: `127.0.0.1:${origin.port}` };
    assert.equal(sampleValue(m, 'zproxy_upstream_host_healthy', host), 1);
    assert.equal(sampleValue(m, 'zproxy_upstream_host_ejected', host), 0);
    assert.equal(sampleValue(m, 'zproxy_upstream_host_active_connections', host), 0);
    assert.equal(sampleValue(m, 'zproxy_supervisor_worker_restarts_total'), 0);
    assert.equal(sampleValue(m, 'zproxy_config_reloads_total'), 0);
    assert.equal(sampleValue(m, 'zproxy_config_generation'), 1);
    assert.ok(sampleValue(m, 'zproxy_process_resident_memory_bytes')! > 10 * 1024 * 1024);
    assert.equal(sampleValue(m, 'zproxy_metrics_series_dropped_total'), 0);
  });

  test('answers with the Prometheus text content type, and /readyz says ready', async () => {
    const r = await adminGet(proxy.admin, '/metrics');
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const ready = await adminGet(proxy.admin, '/readyz');
    assert.deepEqual([ready.status, ready.body], [200, 'ready\n']);
  });
});
