// CPU time and memory of a process tree, read from /proc (Linux only).
// CPU: utime+stime of every process in the tree. /proc/PID/stat of a process
// already sums all its threads (worker_threads included), so threads are not
// read separately; children (nginx workers, forked zproxy workers) are found
// by walking the ppid links of /proc/*/stat.
// RSS: VmRSS of every process in the tree summed, sampled every 100 ms; the
// tree is re-scanned once a second because it only changes at start-up.

import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

interface StatFields {
  ppid: number;
  cpuTicks: number;
}

/** Parses /proc/PID/stat; comm (field 2) may hold spaces and ')' so fields are split after the last ')'. */
export function parseProcStat(text: string): StatFields {
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): field n is rest[n - 3]; ppid is 4, utime 14, stime 15 (proc(5)).
  return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

function readStat(pid: number): StatFields | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null; // exited between the listing and the read
  }
}

/** The root and all its descendants that are alive now. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const code = entry.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (stat === null) continue;
    const list = children.get(stat.ppid);
    if (list === undefined) children.set(stat.ppid, [pid]);
    else list.push(pid);
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) {
    const kids = children.get(tree[i]);
    if (kids !== undefined) tree.push(...kids);
  }
  return tree;
}

let ticksPerSecond = 0;

function clockTicks(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // USER_HZ on every mainstream Linux build
    }
  }
  return ticksPerSecond;
}

/** utime+stime of the whole tree, in microseconds (resolution: one clock tick, 10 ms at USER_HZ=100). */
export function treeCpuMicros(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    const stat = readStat(pid);
    if (stat !== null) ticks += stat.cpuTicks;
  }
  return (ticks * 1e6) / clockTicks();
}

/** VmRSS in bytes from /proc/PID/status text; 0 when absent (zombies, kernel threads). */
export function parseVmRssBytes(statusText: string): number {
  const at = statusText.indexOf('VmRSS:');
  if (at < 0) return 0;
  const line = statusText.slice(at + 6, statusText.indexOf('\n', at));
  return Number.parseInt(line.trim(), 10) * 1024; // the kernel prints kB (KiB)
}

function treeRssBytes(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'latin1'));
    } catch {
      // exited since the last scan
    }
  }
  return sum;
}

const SAMPLE_MS = 100;
const RESCAN_EVERY = 10; // samples: one tree walk per second

export interface RssSampler {
  /** Stops sampling and returns the highest summed RSS seen, in bytes. */
  stop(): number;
}

export function sampleTreeRss(rootPid: number): RssSampler {
  let pids = processTree(rootPid);
  let peak = treeRssBytes(pids);
  let tick = 0;
  const timer = setInterval(() => {
    if (++tick % RESCAN_EVERY === 0) pids = processTree(rootPid);
    const rss = treeRssBytes(pids);
    if (rss > peak) peak = rss;
  }, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      const rss = treeRssBytes(pids);
      return rss > peak ? rss : peak;
    },
  };
}
