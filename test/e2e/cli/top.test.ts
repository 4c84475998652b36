import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { baseConfig, Origin, request, startCli, ZPROXY_BIN, type CliProxy } from '../../actors/metrics/fixtures/zproxy-cli.js';

/**
 * `zproxy top` against the real CLI with two workers and a known load:
 * the plain snapshot (--once, and stdout not a terminal) shows its
 * numbers, and the interactive view is driven in a real terminal (tmux,
 * 80x24): keys switch views and sort, q quits.
 */
const run = promisify(execFile);

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe('zproxy top', () => {
  let proxy: CliProxy;
  let origin: Origin;

  before(async () => {
    origin = await new Origin().listen();
    proxy = await startCli(baseConfig({
      upstreams: { app: { hosts: [`127.0.0.1:${origin.port}`], healthCheck: { intervalMs: 1000, timeoutMs: 1000, path: '/health' } } },
      routes: [{ name: 'api', path: '/api/*', upstream: 'app' }],
    }));
    // The known load: 30 OK and 6 upstream errors on route api, 4 requests no route matches.
    for (let i = 0; i < 30; i++) assert.equal((await request(proxy.port, '/api/ok')).status, 200);
    origin.status = 500;
    for (let i = 0; i < 6; i++) assert.equal((await request(proxy.port, '/api/err')).status, 500);
    origin.status = 200;
    for (let i = 0; i < 4; i++) assert.equal((await request(proxy.port, '/missing')).status, 404);
  });

  after(async () => {
    await proxy?.stop();
    await origin?.kill();
  });

  for (const args of [['--once'], []]) {
    test(`${args.length ? '--once' : 'with stdout not a terminal'} prints a plain snapshot with the numbers of the load`, async () => {
      const { stdout } = await run(process.execPath, [ZPROXY_BIN, 'top', '--admin', proxy.admin, ...args], { timeout: 10_000 });
      const lines = stdout.split('\n');
      assert.match(lines[0]!, /^zproxy top {2}up \d+m\d\ds {2}gen 1 {2}\w+ {2}2 workers {2}rss [\d.]+M$/);
      assert.match(stdout, /^requests 40 {2}4xx 4 {2}5xx 6 {2}restarts 0 {2}reloads 0$/m);
      assert.match(stdout, /^api +app +[\d.]+ +36 +0 +6 +[\d.]+ +[\d.]+$/m);
      assert.match(stdout, /^- +- +[\d.]+ +4 +4 +0 /m);
      assert.match(stdout, /^ {2}0 ready +- +0 /m);
      assert.match(stdout, /^ {2}1 ready +- +0 /m);
      assert.match(stdout, new RegExp(`^ {2}127\\.0\\.0\\.1:${origin.port} +up +active +0 {2}probe ok 200$`, 'm'));
      assert.match(stdout, /^app +healthy 1\/1 {2}rps [\d.]+ {2}reuse \d+% {2}p99 [\d.]+ms {2}connect fails 0$/m);
      assert.match(stdout, /worker-started +worker 0 started in \d+ ms/);
      for (const l of lines) assert.ok(l.length <= 80, `wider than 80: ${l}`);
    });
  }

  test('exits 1 with a message when no zproxy answers', async () => {
    // Not spawnSync: this process serves the origin, whose health probes must keep being answered.
    const r = await run(process.execPath, [ZPROXY_BIN, 'top', '--once', '--admin', 'http://127.0.0.1:9'], { encoding: 'utf8', timeout: 10_000 }).then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^zproxy: cannot read the stats stream of http:\/\/127\.0\.0\.1:9: cannot reach http:\/\/127\.0\.0\.1:9: ECONNREFUSED\n$/);
  });

  test('runs interactively in an 80x24 terminal: live rates, view and sort keys, q quits', { skip: hasTmux ? false : 'tmux is not installed (.ci/run installs it)' }, async () => {
    const socket = `zproxy-top-${process.pid}`;
    // Asynchronous: this process also runs the origin, whose health probes must not stall behind a blocking spawn.
    const tmux = async (...a: string[]): Promise<string> => (await run('tmux', ['-L', socket, ...a], { encoding: 'utf8' })).stdout;
    const screen = async (): Promise<string[]> => (await tmux('capture-pane', '-p', '-t', 'top')).split('\n');
    const until = async (what: string, check: (s: string[]) => boolean): Promise<string[]> => {
      for (let i = 0; i < 60; i++) {
        const s = await screen();
        if (check(s)) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`screen never showed ${what}:\n${(await screen()).join('\n')}`);
    };
    const alive = async (): Promise<boolean> => tmux('has-session', '-t', 'top').then(() => true, () => false);
    let loading = true;
    const loadStatuses = new Map<number, number>();
    const load = (async () => {
      while (loading) {
        const { status } = await request(proxy.port, '/api/live');
        loadStatuses.set(status, (loadStatuses.get(status) ?? 0) + 1);
      }
    })();
    try {
      await tmux('new-session', '-d', '-s', 'top', '-x', '80', '-y', '24', `${process.execPath} ${ZPROXY_BIN} top --admin ${proxy.admin}`);
      let s = await until('a non-zero request rate', (x) => /^rps [1-9]/.test(x[1] ?? ''));
      assert.match(s[0]!, /^zproxy top {2}up /);
      assert.match(s[3]!, /^\[1 workers\] {2}2 routes {3}3 upstreams {3}4 events {4}sort: worker/);
      assert.match(s[4]!, /^ WK STATE +CORE NODE +CPU% +CONNS +RPS +P99ms +LOOPms +MBOX +RING +RST$/);
      assert.match(s[5]!, /^ {2}0 ready /);
      assert.match(s[6]!, /^ {2}1 ready /);
      assert.ok(s.includes('LATEST EVENTS'));
      assert.equal(s[23], 'q quit  1-4/tab view  s sort');
      for (const l of s) assert.ok(l.length <= 80);

      await tmux('send-keys', '-t', 'top', '2');
      s = await until('the routes view', (x) => /\[2 routes\]/.test(x[3] ?? ''));
      assert.match(s[4]!, /^ROUTE +UPSTREAM +RPS +REQUESTS +4XX +5XX +P50ms +P99ms$/);
      assert.ok(s.some((l) => /^api +app +[\d.]+ +\d+ +0 +6 /.test(l)), s.join('\n'));
      await tmux('send-keys', '-t', 'top', 's');
      await until('the routes sorted by rps', (x) => /sort: rps$/.test(x[3] ?? ''));

      await tmux('send-keys', '-t', 'top', '3');
      s = await until('the upstreams view', (x) => /\[3 upstreams\]/.test(x[3] ?? ''));
      assert.ok(s.some((l) => new RegExp(`^ {2}127\\.0\\.0\\.1:${origin.port} +up +active`).test(l)), s.join('\n'));

      await tmux('send-keys', '-t', 'top', 'Tab');
      await until('the events view', (x) => /\[4 events\]/.test(x[3] ?? ''));

      await tmux('send-keys', '-t', 'top', 'q');
      for (let i = 0; i < 30 && await alive(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await alive(), false, 'top exited on q and its session closed');
      assert.deepEqual([...loadStatuses.keys()], [200], 'the live load saw only 200s');
    } finally {
      loading = false;
      await load;
      await tmux('kill-server').catch(() => '');
    }
  });
});
