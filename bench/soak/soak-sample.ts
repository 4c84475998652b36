// One reading of the proxy under soak: what the kernel says about the process
// (/proc: resident memory, open descriptors by kind) and what zproxy says about
// itself (admin GET /stats summed over workers). Readings are taken every
// --sample-every seconds during the load and while it settles afterwards.

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { parseVmRssBytes } from '../load/proc-stats.js';
import { LOOPBACK } from '../load/free-port.js';

export type SoakPhase = 'baseline' | 'load' | 'after';

/** What the open descriptors point at: socket:[..], pipe:[..], anon_inode:[eventfd], a file path. */
export interface FdKinds {
  socket: number;
  pipe: number;
  anonInode: number;
  file: number;
}

/** Sums over workers of GET /stats (pool.workers[].app). */
export interface ProxyCounts {
  /** HTTP client connections open (HTTP/1.1 and HTTP/2 sessions' sockets). */
  connections: number;
  /** Stream (raw TCP) sessions open. */
  streams: number;
  h2Sessions: number;
  h2Streams: number;
  upstreamActive: number;
  /** Pooled keep-alive upstream connections: open on purpose, bounded by pool.maxIdle. */
  upstreamIdle: number;
  /** HTTP/1.1 requests (WebSocket upgrades included) plus HTTP/2 streams, since start. */
  requests: number;
  /** Stream sessions since start. */
  streamsTotal: number;
  workerRestarts: number;
  /** V8 heap in use, summed over the worker isolates (the overload monitor's last sample; 0 when it is off). */
  workerHeapUsedBytes: number;
  /** Workers' memory outside the V8 heap that V8 accounts for (Buffers, ArrayBuffers); 0 when not reported. */
  workerExternalBytes: number;
}

export interface SoakSample extends ProxyCounts {
  /** Seconds since the load started (negative for the baseline). */
  tS: number;
  phase: SoakPhase;
  rssBytes: number;
  fds: number;
  fdKinds: FdKinds;
}

export class SampleError extends Error {
  readonly code = 'SOAK_SAMPLE_FAILED';
}

export function rssBytes(pid: number): number {
  return parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'latin1'));
}

/** Classifies readlink(/proc/PID/fd/N) targets. */
export function classifyFdTarget(target: string): keyof FdKinds {
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target.startsWith('anon_inode:')) return 'anonInode';
  return 'file';
}

export function openFds(pid: number): { total: number; kinds: FdKinds } {
  const kinds: FdKinds = { socket: 0, pipe: 0, anonInode: 0, file: 0 };
  let total = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the readlink
    }
    kinds[classifyFdTarget(target)]++;
    total++;
  }
  return { total, kinds };
}

interface StatsWorker {
  restarts?: number;
  app?: {
    connections?: number; streams?: number; h2Sessions?: number; h2Streams?: number;
    requestsTotal?: number; h2StreamsTotal?: number; streamsTotal?: number;
    upstreams?: Array<{ active?: number; idle?: number }>;
    overload?: { heapUsedBytes?: number };
    memory?: { externalBytes?: number };
  };
}

/** Sums the per-worker app counters of an admin /stats document. */
export function countsFromStats(stats: unknown): ProxyCounts {
  const workers = ((stats as { pool?: { workers?: StatsWorker[] } }).pool?.workers ?? []);
  const c: ProxyCounts = { connections: 0, streams: 0, h2Sessions: 0, h2Streams: 0, upstreamActive: 0, upstreamIdle: 0, requests: 0, streamsTotal: 0, workerRestarts: 0, workerHeapUsedBytes: 0, workerExternalBytes: 0 };
  for (const w of workers) {
    const a = w.app ?? {};
    c.connections += a.connections ?? 0;
    c.streams += a.streams ?? 0;
    c.h2Sessions += a.h2Sessions ?? 0;
    c.h2Streams += a.h2Streams ?? 0;
    c.requests += (a.requestsTotal ?? 0) + (a.h2StreamsTotal ?? 0);
    c.streamsTotal += a.streamsTotal ?? 0;
    c.workerRestarts += w.restarts ?? 0;
    c.workerHeapUsedBytes += a.overload?.heapUsedBytes ?? 0;
    c.workerExternalBytes += a.memory?.externalBytes ?? 0;
    for (const u of a.upstreams ?? []) {
      c.upstreamActive += u.active ?? 0;
      c.upstreamIdle += u.idle ?? 0;
    }
  }
  return c;
}

/** GET /stats on the admin listener; bounded by timeoutMs. */
export function fetchStats(adminPort: number, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOOPBACK, port: adminPort, path: '/stats', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new SampleError(`admin /stats answered ${res.statusCode}: ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new SampleError(`admin /stats is not JSON: ${(err as Error).message}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new SampleError(`admin /stats did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function takeSample(pid: number, adminPort: number, tS: number, phase: SoakPhase): Promise<SoakSample> {
  // The admin connection of this /stats may still be closing on the proxy's side when the fds
  // are counted: one socket of noise, inside the verdict's tolerance.
  const counts = countsFromStats(await fetchStats(adminPort));
  const fds = openFds(pid);
  return { tS, phase, rssBytes: rssBytes(pid), fds: fds.total, fdKinds: fds.kinds, ...counts };
}
