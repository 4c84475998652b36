import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LoggerThread } from '../../../actors/logger/logger-thread.js';
import { AccessLogProducer } from '../../../actors/logger/access-log-producer.js';
import type { LoggingConfig } from '../../../src/config/types.js';
import { accessRecord } from './access-record-fixture.js';

const FORMAT = '$request_method $request_uri $status w$worker_id $request_id';

function logging(file: string, extra: Partial<LoggingConfig['access']> = {}): LoggingConfig {
  return { level: 'info', app: { path: '/dev/stderr' }, access: { enabled: true, path: file, format: FORMAT, json: false, ringBytes: 65536, ...extra } };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'zproxy-logger-'));
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

describe('logger thread', () => {
  test('writes one formatted line per record from every worker ring, in each ring\'s order', async () => {
    const dir = tmp();
    const file = path.join(dir, 'access.log');
    const logger = await LoggerThread.start(logging(file));
    try {
      const p0 = new AccessLogProducer(logger.ringFor(0), FORMAT, 0, []);
      const p1 = new AccessLogProducer(logger.ringFor(1), FORMAT, 1, []);
      for (let i = 0; i < 3; i++) {
        p0.write(accessRecord({ uri: `/a${i}`, requestId: `0x-${i}` }));
        p1.write(accessRecord({ uri: `/b${i}`, requestId: `1x-${i}`, status: 404 }));
      }
      await until(() => readLines(file).length === 6, 3000, '6 lines');
      const lines = readLines(file);
      assert.deepEqual(lines.filter((l) => l.includes(' w0 ')), ['GET /a0 200 w0 0x-0', 'GET /a1 200 w0 0x-1', 'GET /a2 200 w0 0x-2']);
      assert.deepEqual(lines.filter((l) => l.includes(' w1 ')), ['GET /b0 404 w1 1x-0', 'GET /b1 404 w1 1x-1', 'GET /b2 404 w1 1x-2']);
      const stats = await logger.stats();
      assert.deepEqual([stats.lines, stats.dropped, stats.sink?.open], [6, 0, true]);
    } finally {
      await logger.stop();
    }
  });

  test('reopen (SIGUSR1 after logrotate moved the file) sends new lines to a new file at the same path', async () => {
    const dir = tmp();
    const file = path.join(dir, 'access.log');
    const logger = await LoggerThread.start(logging(file));
    try {
      const p = new AccessLogProducer(logger.ringFor(0), FORMAT, 0, []);
      p.write(accessRecord({ uri: '/before' }));
      await until(() => readLines(file).length === 1, 3000, 'first line');
      fs.renameSync(file, `${file}.1`);
      p.write(accessRecord({ uri: '/moved' }));
      await until(() => readLines(`${file}.1`).length === 2, 3000, 'second line in the moved file');
      logger.reopen();
      await until(() => fs.existsSync(file), 3000, 'the new file');
      p.write(accessRecord({ uri: '/after' }));
      await until(() => readLines(file).length === 1, 3000, 'a line in the new file');
      assert.deepEqual(readLines(`${file}.1`), ['GET /before 200 w0 1ab2-7', 'GET /moved 200 w0 1ab2-7']);
      assert.deepEqual(readLines(file), ['GET /after 200 w0 1ab2-7']);
    } finally {
      await logger.stop();
    }
  });

  test('a reload that moves the access log writes the old file out and continues in the new one', async () => {
    const dir = tmp();
    const first = path.join(dir, 'first.log');
    const second = path.join(dir, 'sub', 'second.log');
    const logger = await LoggerThread.start(logging(first));
    try {
      const p = new AccessLogProducer(logger.ringFor(0), FORMAT, 0, []);
      p.write(accessRecord({ uri: '/one' }));
      await until(() => readLines(first).length === 1, 3000, 'a line in the first file');
      logger.configure(logging(second));
      await logger.stats(); // the configure message is handled before the next record
      p.write(accessRecord({ uri: '/two' }));
      await until(() => readLines(second).length === 1, 3000, 'a line in the second file');
      assert.deepEqual([readLines(first), readLines(second)], [['GET /one 200 w0 1ab2-7'], ['GET /two 200 w0 1ab2-7']]);
    } finally {
      await logger.stop();
    }
  });

  test('after a reload changes the format, records of workers still on the old one are formatted by header name', async () => {
    const dir = tmp();
    const file = path.join(dir, 'access.log');
    const oldFormat = '$request_uri ua=$http_user_agent';
    const newFormat = '$request_uri ref=$http_referer ua=$http_user_agent';
    const logger = await LoggerThread.start(logging(file, { format: oldFormat }));
    try {
      const stale = new AccessLogProducer(logger.ringFor(0), oldFormat, 0, []);
      logger.configure(logging(file, { format: newFormat }));
      const fresh = new AccessLogProducer(logger.ringFor(1), newFormat, 1, []);
      const headers = ['User-Agent', 'ua/1', 'Referer', 'https://r.test/'];
      // Let the configure message land before the records: it travels on the port, records through the rings.
      await logger.stats();
      stale.write(accessRecord({ uri: '/stale', headers }));
      fresh.write(accessRecord({ uri: '/fresh', headers }));
      await until(() => readLines(file).length === 2, 3000, '2 lines');
      assert.deepEqual(readLines(file).sort(), ['/fresh ref=https://r.test/ ua=ua/1', '/stale ref=- ua=ua/1']);
    } finally {
      await logger.stop();
    }
  });

  test('a FIFO with no reader does not block the thread: lines are dropped and counted, stop is prompt', async () => {
    const dir = tmp();
    const fifo = path.join(dir, 'access.fifo');
    execFileSync('mkfifo', [fifo]);
    const errors: string[] = [];
    const logger = await LoggerThread.start(logging(fifo));
    logger.onSinkError = (m) => errors.push(m);
    try {
      const p = new AccessLogProducer(logger.ringFor(0), FORMAT, 0, []);
      for (let i = 0; i < 10; i++) p.write(accessRecord());
      await until(() => errors.length > 0, 3000, 'the sink error');
      assert.match(errors[0]!, /access\.fifo is a FIFO with no reader \(ENXIO\); dropping lines \(counted\) and retrying every 1 s$/);
      await until(async () => (await logger.stats()).lines === 10, 3000, '10 lines read');
      const stats = await logger.stats();
      assert.deepEqual([stats.sink?.open, stats.sinkDrops, stats.dropped], [false, 10, 10]);
    } finally {
      const t0 = performance.now();
      await logger.stop(200);
      assert.ok(performance.now() - t0 < 1500, `stop took ${performance.now() - t0} ms`);
    }
  });

  test('a sink that stops draining (a FIFO whose reader never reads) bounds memory: the rings fill and drop, writers never wait', async () => {
    const dir = tmp();
    const fifo = path.join(dir, 'access.fifo');
    execFileSync('mkfifo', [fifo]);
    // A reader that never reads: the pipe buffer (64 KiB on Linux) fills and writes get EAGAIN.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const logger = await LoggerThread.start(logging(fifo));
    let stopped = false;
    try {
      const p = new AccessLogProducer(logger.ringFor(0), FORMAT, 0, []);
      const uri = `/${'x'.repeat(200)}`;
      let slowestMs = 0;
      for (let round = 0; round < 40; round++) {
        const t0 = performance.now();
        for (let i = 0; i < 250; i++) p.write(accessRecord({ uri }));
        slowestMs = Math.max(slowestMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
      const stats = await logger.stats();
      assert.ok(stats.ringDrops > 0, JSON.stringify(stats));
      assert.equal(stats.dropped, stats.ringDrops + stats.sinkDrops);
      // Every write is accounted for: in the ring (read or waiting) or dropped.
      assert.equal(stats.rings[0]!.written + stats.rings[0]!.drops, 10_000);
      assert.equal(stats.lines, stats.rings[0]!.read);
      assert.equal(stats.sink?.backedUp, true);
      // Bounded: what the sink holds stays near its pause mark (ringBytes) plus one drained batch.
      assert.ok(stats.sink!.bufferedBytes < 65536 + 1024 * 260, `sink holds ${stats.sink!.bufferedBytes} bytes`);
      assert.ok(slowestMs < 200, `250 writes took up to ${slowestMs} ms`);
      const t0 = performance.now();
      const unwritten = await logger.stop(300);
      stopped = true;
      assert.ok(unwritten > 0, `unwritten ${unwritten}`);
      assert.ok(performance.now() - t0 < 1500, `stop took ${performance.now() - t0} ms`);
    } finally {
      fs.closeSync(reader);
      if (!stopped) await logger.stop(0);
    }
  });
});
