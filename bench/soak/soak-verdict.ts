// Leak or flat, from the samples. Two checks:
// - memory: RSS over the second half of the load window (the first half holds
//   JIT warm-up, V8 heap growth to its working size and pool fill). RSS is a
//   sawtooth (GC, allocator): a 600 s run on 2 cores swung between 212 and
//   269 MB, up to 25 MB between consecutive samples 10 s apart, so a slope
//   fitted through every sample moves several MB/min on noise alone. A leak raises the floor the sawtooth returns to,
//   so the slope is fitted through the lowest sample of each minute (the
//   lower envelope); the all-samples slope and the V8 heap's slope are
//   reported next to it;
// - handles: once the load has stopped and the proxy has settled, its open
//   descriptors, less the pooled idle upstream connections it keeps on
//   purpose, must be back within a few of the baseline taken before the load,
//   and no client connection or stream session may be left open.

import type { SoakSample } from './soak-sample.js';

/**
 * 1 MB/min is 10 MB over a 10-minute soak. A leak of one 4 KiB buffer per
 * request at the soak's ~1,700 req/s is ~400 MB/min, and one 200-byte object
 * per request ~20 MB/min: both far above it.
 */
export const RSS_SLOPE_LIMIT_MB_PER_MIN = 1;

/** The admin connection of the last /stats, a socket mid-close, a timer fd: noise, not a leak. */
export const FD_TOLERANCE = 4;

/** Width of the windows whose lowest RSS forms the lower envelope. */
export const ENVELOPE_WINDOW_S = 60;

export interface SoakVerdict {
  leak: boolean;
  /** Slope of the per-minute RSS minima over the second half of the load: what the verdict reads. */
  rssFloorSlopeMbPerMin: number;
  /** Slope through every RSS sample of the second half (noisier; for the record). */
  rssSlopeMbPerMin: number;
  /** Slope of the workers' summed V8 heap in use over the second half; NaN when not reported. */
  heapSlopeMbPerMin: number;
  /** The same for the workers' external memory (Buffer backing stores); NaN when not reported. */
  externalSlopeMbPerMin: number;
  rssSlopeLimitMbPerMin: number;
  /** Samples in the second half, and minute minima among them. */
  slopeSamples: number;
  floorSamples: number;
  rssBaselineMb: number;
  rssEndOfLoadMb: number;
  rssAfterMb: number;
  fdsBaseline: number;
  fdsAfter: number;
  /** fds less pooled idle upstream connections, before the load and after it. */
  fdsBaselineLessPool: number;
  fdsAfterLessPool: number;
  fdTolerance: number;
  /** One line per failed check; empty when flat. */
  reasons: string[];
}

export class VerdictError extends Error {
  readonly code = 'SOAK_VERDICT_INPUT';
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const MB = 1024 * 1024;

/**
 * The lowest-RSS sample of each window of `windowS` seconds (the sawtooth's
 * floor). Windows are counted back from the last sample so the end of the
 * load is a whole window; a window with at most half the samples of the
 * fullest one (the partial first window) is dropped, since one sample alone
 * is a point on the sawtooth, not its floor.
 */
export function lowerEnvelope(samples: readonly SoakSample[], windowS = ENVELOPE_WINDOW_S): SoakSample[] {
  const endS = samples.at(-1)?.tS ?? 0;
  const windows = new Map<number, SoakSample[]>();
  for (const s of samples) {
    const w = Math.floor((endS - s.tS) / windowS);
    const list = windows.get(w);
    if (list === undefined) windows.set(w, [s]);
    else list.push(s);
  }
  const fullest = Math.max(0, ...[...windows.values()].map((l) => l.length));
  return [...windows.values()]
    .filter((l) => l.length * 2 > fullest)
    .map((l) => l.reduce((low, s) => (s.rssBytes < low.rssBytes ? s : low)))
    .sort((a, b) => a.tS - b.tS);
}

export function judge(samples: readonly SoakSample[], rssLimitMbPerMin = RSS_SLOPE_LIMIT_MB_PER_MIN, fdTolerance = FD_TOLERANCE): SoakVerdict {
  const baseline = samples.find((s) => s.phase === 'baseline');
  const load = samples.filter((s) => s.phase === 'load');
  const after = samples.filter((s) => s.phase === 'after').at(-1);
  if (baseline === undefined || after === undefined || load.length === 0) {
    throw new VerdictError('a verdict needs a baseline sample, load samples and an after sample');
  }
  const endS = load.at(-1)!.tS;
  const secondHalf = load.filter((s) => s.tS >= endS / 2);
  const rssSlope = slope(secondHalf.map((s) => ({ x: s.tS / 60, y: s.rssBytes / MB })));
  const floor = lowerEnvelope(secondHalf);
  const floorSlope = slope(floor.map((s) => ({ x: s.tS / 60, y: s.rssBytes / MB })));
  const memorySlope = (bytes: (s: SoakSample) => number): number => (secondHalf.every((s) => bytes(s) > 0)
    ? slope(secondHalf.map((s) => ({ x: s.tS / 60, y: bytes(s) / MB })))
    : Number.NaN);
  const heapSlope = memorySlope((s) => s.workerHeapUsedBytes);
  const externalSlope = memorySlope((s) => s.workerExternalBytes);
  const lessPool = (s: SoakSample): number => s.fds - s.upstreamIdle;
  const reasons: string[] = [];
  if (!Number.isFinite(floorSlope)) {
    reasons.push(`too few load samples to fit an RSS slope (${floor.length} minute minima in the second half; run longer)`);
  } else if (floorSlope >= rssLimitMbPerMin) {
    reasons.push(`the RSS floor (lowest sample per minute) grew ${floorSlope.toFixed(2)} MB/min over the second half of the load (limit ${rssLimitMbPerMin})`);
  }
  if (lessPool(after) > lessPool(baseline) + fdTolerance) {
    reasons.push(`open fds after the load, less pooled upstream connections, are ${lessPool(after)} against ${lessPool(baseline)} before it (tolerance ${fdTolerance}; sockets ${baseline.fdKinds.socket} -> ${after.fdKinds.socket}, pipes ${baseline.fdKinds.pipe} -> ${after.fdKinds.pipe}, anon inodes ${baseline.fdKinds.anonInode} -> ${after.fdKinds.anonInode}, files ${baseline.fdKinds.file} -> ${after.fdKinds.file})`);
  }
  if (after.connections > 0 || after.streams > 0 || after.h2Sessions > 0) {
    reasons.push(`still open after the load: ${after.connections} client connections, ${after.streams} stream sessions, ${after.h2Sessions} HTTP/2 sessions`);
  }
  if (after.workerRestarts > baseline.workerRestarts) {
    reasons.push(`${after.workerRestarts - baseline.workerRestarts} worker restart(s) during the soak`);
  }
  return {
    leak: reasons.length > 0,
    rssFloorSlopeMbPerMin: floorSlope,
    rssSlopeMbPerMin: rssSlope,
    heapSlopeMbPerMin: heapSlope,
    externalSlopeMbPerMin: externalSlope,
    rssSlopeLimitMbPerMin: rssLimitMbPerMin,
    slopeSamples: secondHalf.length,
    floorSamples: floor.length,
    rssBaselineMb: baseline.rssBytes / MB,
    rssEndOfLoadMb: load.at(-1)!.rssBytes / MB,
    rssAfterMb: after.rssBytes / MB,
    fdsBaseline: baseline.fds,
    fdsAfter: after.fds,
    fdsBaselineLessPool: lessPool(baseline),
    fdsAfterLessPool: lessPool(after),
    fdTolerance,
    reasons,
  };
}
