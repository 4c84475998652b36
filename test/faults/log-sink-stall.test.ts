/**
 * Fault: the access log sink stalls under load and later recovers. The sink
 * is a FIFO (as in test/e2e/cli/access-log.test.ts) whose reader drains it,
 * then stops reading (the pipe fills, every write gets EAGAIN), then reads
 * again. Proves: requests keep succeeding promptly through the stall; the
 * records that cannot be written are dropped and counted (/stats logger),
 * every request is either queued for the log or counted as dropped; and
 * once the reader is back, new requests' lines reach it again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, waitFor } from '../e2e/cli/cli-process.js';
import { startOrigin } from '../e2e/cli/cli-config.js';
import { keepAliveLoad } from '../e2e/cli/client-load.js';
import { startFaultProxy, type FaultProxy } from './fixtures/fault-proxy.js';

const CONCURRENCY = 8;
/** Padding that makes each line ~300 bytes: the 64 KiB pipe and rings fill within a few hundred requests. */
const PAD = 'p'.repeat(200);
/** "Promptly" on a shared 2-core machine: far above a normal answer (~1-5 ms), far below a request waiting on the sink. */
const SLOWEST_BOUND_MS = 2000;

/** Reads the FIFO while `reading` is true, without ever blocking (O_NONBLOCK: EAGAIN when empty). */
class FifoReader {
  reading = true;
  text = '';
  private readonly fd: number;
  private readonly timer: NodeJS.Timeout;
  private readonly buf = Buffer.alloc(64 * 1024);

  constructor(file: string) {
    this.fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    this.timer = setInterval(() => this.drain(), 10);
  }

  private drain(): void {
    while (this.reading) {
      let n = 0;
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return;
        throw err;
      }
      if (n === 0) return;
      this.text += this.buf.toString('latin1', 0, n);
    }
  }

  close(): void {
    clearInterval(this.timer);
    fs.closeSync(this.fd);
  }
}

async function phase(fp: FaultProxy, name: string, requests: number): Promise<{ ok: number; failed: number; slowestMs: number; elapsedMs: number }> {
  const t0 = performance.now();
  const load = keepAliveLoad(fp.listenerPort, { concurrency: CONCURRENCY, maxRequests: requests, path: (i) => `/${name}/${i}?pad=${PAD}` });
  await load.finished;
  return {
    ok: load.responses.filter((r) => r.status === 200).length,
    failed: load.failures.length + load.responses.filter((r) => r.status !== 200).length,
    slowestMs: Math.max(...load.responses.map((r) => r.doneAtMs - r.sentAtMs)),
    elapsedMs: performance.now() - t0,
  };
}

describe('fault: the access log sink stalls under load', { timeout: 90_000 }, () => {
  test('requests stay prompt, lost lines are counted, and logging resumes when the sink drains', async (t) => {
    const origin = await startOrigin('a');
    const dir = tempDir('faults-fifo');
    const fifo = path.join(dir, 'access.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = new FifoReader(fifo);
    let fp: FaultProxy | undefined;
    try {
      fp = await startFaultProxy({
        upstream: 'a', upstreams: { a: { hosts: [`127.0.0.1:${origin.port}`] } },
        access: { enabled: true, path: fifo, format: '$request_method $request_uri $status', ringBytes: 65536 },
        server: { watchdog: { hangTimeoutMs: 5000, heartbeatIntervalMs: 100 } },
      });
      const proxy = fp;
      const flowing = await phase(fp, 'flowing', 500);
      await waitFor(() => reader.text.includes('/flowing/499?'), 5000, 'the last line of the flowing phase');

      reader.reading = false;
      const stalled = await phase(fp, 'stalled', 3000);
      const atStall = (await fp.stats()).logger!;

      reader.reading = true;
      // The sink retries EAGAIN every 100 ms (actors/logger/access-log-sink.ts) and unblocks once the reader drains it.
      // ...and then the logger empties the rings; records of the next phase must find room in them.
      await waitFor(async () => {
        const l = (await proxy.stats()).logger!;
        return l.sink.backedUp === false && l.sink.bufferedBytes === 0 && l.rings.every((r: { usedBytes: number }) => r.usedBytes === 0);
      }, 15_000, 'the sink and the rings to drain');
      const resumed = await phase(fp, 'resumed', 500);
      await waitFor(() => reader.text.includes('/resumed/499?'), 10_000, 'lines of the resumed phase');
      const end = (await fp.stats()).logger!;
      const ringWrites = end.rings.reduce((a: number, r: { written: number; drops: number }) => a + r.written + r.drops, 0);
      const fmt = (p: { ok: number; failed: number; slowestMs: number; elapsedMs: number }): string => `ok=${p.ok} failed=${p.failed} slowestMs=${Math.round(p.slowestMs)} in ${Math.round(p.elapsedMs)} ms`;
      t.diagnostic(`faults: log-sink-stall flowing(${fmt(flowing)}) stalled(${fmt(stalled)}) resumed(${fmt(resumed)}); at stall: backedUp=${atStall.sink.backedUp} dropped=${atStall.dropped} (ring ${atStall.ringDrops}, sink ${atStall.sinkDrops}); end: lines=${end.lines} dropped=${end.dropped} ringWrites+drops=${ringWrites}`);

      for (const p of [flowing, stalled, resumed]) {
        assert.equal(p.failed, 0);
        assert.ok(p.slowestMs < SLOWEST_BOUND_MS, `slowest request ${p.slowestMs} ms`);
      }
      assert.deepEqual([flowing.ok, stalled.ok, resumed.ok], [500, 3000, 500]);
      assert.equal(atStall.sink.backedUp, true);
      assert.ok(atStall.dropped > 0, `dropped ${atStall.dropped}`);
      assert.equal(end.dropped, end.ringDrops + end.sinkDrops);
      assert.equal(ringWrites, 4000, 'every request was either queued for the log or counted as dropped');
      assert.equal(end.dropped, atStall.dropped, 'nothing was dropped once the sink drained');
      // Lines are whole: each one the reader got is a complete record.
      const lines = reader.text.split('\n').filter((l) => l !== '');
      assert.ok(lines.every((l) => /^GET \/(flowing|stalled|resumed)\/\d+\?pad=p+ 200$/.test(l)), 'a torn or foreign line reached the sink');
      assert.equal(lines.filter((l) => l.startsWith('GET /resumed/')).length, 500);
    } finally {
      await fp?.proxy.kill();
      reader.close();
      await origin.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
