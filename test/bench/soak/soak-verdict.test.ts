import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, lowerEnvelope, slope, VerdictError } from '../../../bench/soak/soak-verdict.js';
import type { SoakSample } from '../../../bench/soak/soak-sample.js';

const MB = 1024 * 1024;

function sample(tS: number, phase: SoakSample['phase'], rssMb: number, over: Partial<SoakSample> = {}): SoakSample {
  return {
    tS, phase, rssBytes: rssMb * MB, fds: 40, fdKinds: { socket: 10, pipe: 15, anonInode: 12, file: 3 },
    connections: 0, streams: 0, h2Sessions: 0, h2Streams: 0, upstreamActive: 0, upstreamIdle: 0,
    requests: 0, streamsTotal: 0, workerRestarts: 0, workerHeapUsedBytes: 50 * MB, workerExternalBytes: 8 * MB, ...over,
  };
}

/** 600 s of load sampled every 10 s: rss(t) in MB; baseline before, one settled sample after. */
function run(rss: (tS: number) => number, after: Partial<SoakSample> = {}): SoakSample[] {
  const load = Array.from({ length: 60 }, (_, i) => sample((i + 1) * 10, 'load', rss((i + 1) * 10), { connections: 20, upstreamIdle: 30, fds: 100 }));
  return [sample(0, 'baseline', 140), ...load, sample(602, 'after', rss(600), { upstreamIdle: 30, fds: 70, ...after })];
}

describe('soak verdict', { timeout: 10_000 }, () => {
  test('slope is the least-squares fit, NaN without two distinct x', () => {
    assert.equal(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
    assert.ok(Number.isNaN(slope([{ x: 1, y: 1 }])));
    assert.ok(Number.isNaN(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }])));
  });

  test('the lower envelope keeps the lowest sample of each minute, counted back from the end, without a lone first sample', () => {
    const kept = lowerEnvelope([sample(0, 'load', 1), sample(70, 'load', 5), sample(80, 'load', 3), sample(130, 'load', 9), sample(140, 'load', 8)]);
    assert.deepEqual(kept.map((s) => [s.tS, s.rssBytes / MB]), [[80, 3], [140, 8]]);
  });

  test('a sawtooth on a flat floor is flat, even with a large all-samples slope from a late peak', () => {
    // Floor 220 MB, peaks every 30 s, and two high peaks in the last minute.
    const v = judge(run((t) => (t >= 560 && t <= 580 ? 265 : t % 30 === 0 ? 245 : 220)));
    assert.equal(v.leak, false, v.reasons.join('; '));
    assert.ok(Math.abs(v.rssFloorSlopeMbPerMin) < 0.01, String(v.rssFloorSlopeMbPerMin));
    assert.ok(v.rssSlopeMbPerMin > 1, String(v.rssSlopeMbPerMin));
  });

  test('a floor that rises 2 MB/min is a leak, and says by how much', () => {
    const v = judge(run((t) => 200 + (2 * t) / 60 + (t % 30 === 0 ? 20 : 0)));
    assert.equal(v.leak, true);
    assert.ok(Math.abs(v.rssFloorSlopeMbPerMin - 2) < 0.05, String(v.rssFloorSlopeMbPerMin));
    assert.match(v.reasons[0]!, /^the RSS floor \(lowest sample per minute\) grew 2\.00 MB\/min/);
  });

  test('fds left above the baseline (pooled idle upstream connections aside) are a leak, and name the kinds', () => {
    const v = judge(run(() => 220, { fds: 80, upstreamIdle: 30, fdKinds: { socket: 50, pipe: 15, anonInode: 12, file: 3 } }));
    assert.equal(v.leak, true);
    assert.equal(v.fdsAfterLessPool, 50);
    assert.equal(v.fdsBaselineLessPool, 40);
    assert.match(v.reasons.join('\n'), /open fds after the load, less pooled upstream connections, are 50 against 40 .*sockets 10 -> 50/);
  });

  test('client connections still open after the load are reported', () => {
    const v = judge(run(() => 220, { connections: 3 }));
    assert.equal(v.leak, true);
    assert.match(v.reasons.join('\n'), /still open after the load: 3 client connections/);
  });

  test('needs a baseline, load samples and an after sample', () => {
    assert.throws(() => judge([sample(0, 'baseline', 1)]), (err: unknown) => err instanceof VerdictError && err.code === 'SOAK_VERDICT_INPUT');
  });
});
