import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Pins the calling thread (a worker thread pins itself at start) to one CPU
 * with taskset(1) on its kernel thread id. Node has no affinity API, and
 * sched_setaffinity on a TID only needs the TID, which /proc/thread-self
 * gives us. Failure is not fatal: the result says why and the thread runs
 * unpinned; the caller logs it (once per pool, not per worker).
 */

export type PinResult =
  | { readonly ok: true; readonly cpu: number; readonly tid: number; readonly cpusAllowedList: string }
  | { readonly ok: false; readonly cpu: number; readonly tid: number | undefined; readonly reason: string };

/** Kernel thread id of the calling thread: /proc/thread-self links to "PID/task/TID". */
export function currentKernelThreadId(): number {
  const link = fs.readlinkSync('/proc/thread-self');
  const tid = Number(link.slice(link.lastIndexOf('/') + 1));
  if (!Number.isInteger(tid) || tid <= 0) throw new Error(`unexpected /proc/thread-self link '${link}'`);
  return tid;
}

/** Cpus_allowed_list of one thread of this process, e.g. "3" or "0-7". */
export function readThreadCpusAllowed(tid: number): string {
  const status = fs.readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(status);
  if (!m) throw new Error(`no Cpus_allowed_list in /proc/self/task/${tid}/status`);
  return m[1]!.trim();
}

/** Pins the calling thread to `cpu` and checks the kernel took it. Never throws. */
export function pinCurrentThread(cpu: number): PinResult {
  let tid: number | undefined;
  try {
    tid = currentKernelThreadId();
  } catch (err) {
    return { ok: false, cpu, tid, reason: `cannot find this thread's id (${(err as Error).message}); not Linux?` };
  }
  try {
    // ~2 ms once per worker start; stdio ignored so taskset's chatter stays out of our logs.
    execFileSync('taskset', ['-p', '-c', String(cpu), String(tid)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    const reason = e.code === 'ENOENT'
      ? 'taskset not found (install util-linux)'
      : `taskset failed: ${(e.stderr?.toString() || e.message).trim()}`;
    return { ok: false, cpu, tid, reason };
  }
  let allowed: string;
  try {
    allowed = readThreadCpusAllowed(tid);
  } catch (err) {
    return { ok: false, cpu, tid, reason: `cannot verify pinning: ${(err as Error).message}` };
  }
  if (allowed !== String(cpu)) return { ok: false, cpu, tid, reason: `kernel kept Cpus_allowed_list '${allowed}' after taskset (cpuset restriction?)` };
  return { ok: true, cpu, tid, cpusAllowedList: allowed };
}
