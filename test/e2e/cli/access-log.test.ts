import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startCli, tempDir, waitFor, writeJson } from './cli-process.js';
import { adminStats, cliConfig, freePorts, startOrigin } from './cli-config.js';
import { keepAliveLoad } from './client-load.js';

const FORMAT = '$request_method $request_uri $status $bytes_sent $http_user_agent $request_id $upstream_addr $route $worker_id $http_authorization';
const SECRET = 's3cr3t-token-never-logged';

/** One request on its own connection (Connection: close); returns every byte the proxy sent. */
function rawExchange(port: number, head: string, body = ''): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Not end(): the proxy takes a client's FIN as an abort; Connection: close makes it close after the response.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head + body));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no complete answer to ${head.split('\r\n')[0]} within 5 s`)));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

interface Sent { readonly uri: string; readonly ua: string; readonly bytes: number; readonly method: string }

/** Three requests, one with an Authorization header; returns what the log must say about each. */
async function sendThree(port: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  const one = async (method: string, uri: string, ua: string, extra: string, body = ''): Promise<void> => {
    const response = await rawExchange(port, `${method} ${uri} HTTP/1.1\r\nHost: logs.test\r\nUser-Agent: ${ua}\r\n${extra}Connection: close\r\n\r\n`, body);
    assert.match(response.toString('latin1'), /^HTTP\/1\.1 200 /);
    sent.push({ uri, ua, bytes: response.length, method });
  };
  await one('GET', '/a?x=1', 'ua-1', `Authorization: Bearer ${SECRET}\r\n`);
  await one('GET', '/b', 'ua-2', '');
  await one('POST', '/c', 'ua-3', 'Content-Length: 5\r\n', 'hello');
  return sent;
}

/** $request_id is `<worker id base 36><4 chars>-<counter base 36>`. */
const REQUEST_ID = /^([0-9a-z])[0-9a-z]{4}-[0-9a-z]+$/;

// Every test starts a real proxy; a hang must fail the test, not the run.
describe('access log through the real CLI', { timeout: 60_000 }, () => {
  test('lines match the format exactly, secrets never appear, and SIGUSR1 after a move (logrotate) starts a new file', async () => {
    const origin = await startOrigin('a');
    const [listenerPort, adminPort] = await freePorts(2);
    const dir = tempDir('access');
    const log = path.join(dir, 'access.log');
    const file = path.join(dir, 'zproxy.json');
    writeJson(file, cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: origin.port }, routes: [{ name: 'r1', path: '/*', upstream: 'a' }], access: { enabled: true, path: log, format: FORMAT } }));
    const proxy = await startCli(file);
    try {
      const sent = await sendThree(listenerPort!);
      await waitFor(() => readLines(log).length === 3, 5000, '3 access log lines');
      const lines = readLines(log).sort((x, y) => x.split(' ')[1]!.localeCompare(y.split(' ')[1]!));
      lines.forEach((line, i) => {
        const s = sent[i]!;
        const fields = line.split(' ');
        const [id, worker] = [fields[5]!, fields[8]!];
        assert.match(id, REQUEST_ID);
        assert.equal(REQUEST_ID.exec(id)![1], worker, 'the request id starts with the worker id');
        assert.ok(worker === '0' || worker === '1', line);
        const auth = s.uri === '/a?x=1' ? '[redacted]' : '-';
        assert.equal(line, `${s.method} ${s.uri} 200 ${s.bytes} ${s.ua} ${id} 127.0.0.1:${origin.port} r1 ${worker} ${auth}`);
      });

      fs.renameSync(log, `${log}.1`);
      process.kill(proxy.child.pid!, 'SIGUSR1');
      await waitFor(() => fs.existsSync(log), 5000, 'the reopened file at the original path');
      const [rotated] = await Promise.all([rawExchange(listenerPort!, 'GET /rotated HTTP/1.1\r\nHost: logs.test\r\nUser-Agent: ua-4\r\nConnection: close\r\n\r\n')]);
      await waitFor(() => readLines(log).length === 1, 5000, 'a line in the new file');
      assert.match(readLines(log)[0]!, new RegExp(`^GET /rotated 200 ${rotated!.length} ua-4 [0-9a-z-]+ 127\\.0\\.0\\.1:${origin.port} r1 [01] -$`));
      assert.equal(readLines(`${log}.1`).length, 3);
      for (const f of [log, `${log}.1`]) assert.equal(fs.readFileSync(f, 'utf8').includes(SECRET), false, `${f} shows the secret`);
      await waitFor(() => /log files reopened/.test(proxy.stderr()), 2000, 'the reopen in the proxy log');
    } finally {
      await proxy.kill();
      await origin.close();
    }
  });

  test('JSON mode writes one object per request with exactly the format\'s variables', async () => {
    const origin = await startOrigin('a');
    const [listenerPort, adminPort] = await freePorts(2);
    const dir = tempDir('access');
    const log = path.join(dir, 'access.jsonl');
    const file = path.join(dir, 'zproxy.json');
    writeJson(file, cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: origin.port }, routes: [{ name: 'r1', path: '/*', upstream: 'a' }], access: { enabled: true, path: log, format: FORMAT, json: true } }));
    const proxy = await startCli(file);
    try {
      const sent = await sendThree(listenerPort!);
      await waitFor(() => readLines(log).length === 3, 5000, '3 JSON lines');
      const entries = readLines(log).map((l) => JSON.parse(l) as Record<string, unknown>).sort((x, y) => String(x.request_uri).localeCompare(String(y.request_uri)));
      entries.forEach((e, i) => {
        const s = sent[i]!;
        assert.match(String(e.request_id), REQUEST_ID);
        assert.deepEqual(e, {
          request_method: s.method, request_uri: s.uri, status: 200, bytes_sent: s.bytes, http_user_agent: s.ua, request_id: e.request_id,
          upstream_addr: `127.0.0.1:${origin.port}`, route: 'r1', worker_id: REQUEST_ID.exec(String(e.request_id))![1], http_authorization: s.uri === '/a?x=1' ? '[redacted]' : '-',
        });
      });
      assert.equal(fs.readFileSync(log, 'utf8').includes(SECRET), false);
    } finally {
      await proxy.kill();
      await origin.close();
    }
  });

  test('a stalled sink (a FIFO nobody reads) does not stall requests: all succeed promptly, drops are counted in /stats', async (t) => {
    const origin = await startOrigin('a');
    const [listenerPort, adminPort] = await freePorts(2);
    const dir = tempDir('access');
    const fifo = path.join(dir, 'access.fifo');
    execFileSync('mkfifo', [fifo]);
    // A reader that never reads: the pipe (64 KiB) fills, then every write gets EAGAIN.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const file = path.join(dir, 'zproxy.json');
    writeJson(file, cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: origin.port }, routes: [{ name: 'r1', path: '/*', upstream: 'a' }], access: { enabled: true, path: fifo, format: FORMAT, ringBytes: 65536 } }));
    const proxy = await startCli(file);
    try {
      const pad = 'p'.repeat(200);
      const t0 = performance.now();
      const load = keepAliveLoad(listenerPort!, { concurrency: 8, maxRequests: 4000, path: (i) => `/stall/${i}?pad=${pad}` });
      await load.finished;
      const elapsedMs = performance.now() - t0;
      const slowestMs = Math.max(...load.responses.map((r) => r.doneAtMs - r.sentAtMs));
      const stats = await adminStats(adminPort!);
      t.diagnostic(`4000 requests in ${Math.round(elapsedMs)} ms, slowest ${Math.round(slowestMs)} ms; logger: ${JSON.stringify({ lines: stats.logger.lines, dropped: stats.logger.dropped, ringDrops: stats.logger.ringDrops, sinkBuffered: stats.logger.sink.bufferedBytes })}`);
      assert.deepEqual(load.failures, []);
      assert.equal(load.responses.filter((r) => r.status === 200).length, 4000);
      assert.ok(slowestMs < 2000, `slowest request ${slowestMs} ms`);
      assert.equal(stats.logger.sink.backedUp, true);
      assert.ok(stats.logger.dropped > 0, `dropped ${stats.logger.dropped}`);
      assert.equal(stats.logger.dropped, stats.logger.ringDrops + stats.logger.sinkDrops);
      const ringWrites = stats.logger.rings.reduce((a: number, r: { written: number; drops: number }) => a + r.written + r.drops, 0);
      assert.equal(ringWrites, 4000, 'every request was either queued for the log or counted as dropped');
    } finally {
      await proxy.kill();
      fs.closeSync(reader);
      await origin.close();
    }
  });
});
