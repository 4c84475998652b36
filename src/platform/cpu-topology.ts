import fs from 'node:fs';
import os from 'node:os';

/**
 * What the machine offers this process: NUMA nodes and their CPUs, the CPUs
 * online, the CPUs our affinity mask allows, and how many CPUs a cgroup CPU
 * quota lets us use. Read from Linux sysfs/procfs; every parser is a pure
 * function over the file's text so it can be tested on sample strings.
 */

export interface NumaNode {
  readonly id: number;
  /** CPUs of this node that are online and in our affinity mask, ascending. */
  readonly cpus: readonly number[];
}

export interface CpuTopology {
  readonly nodes: readonly NumaNode[];
}

export interface WorkerPlacement {
  readonly workerId: number;
  readonly cpu: number;
  readonly numaNode: number;
}

/**
 * Parses the kernel's cpulist syntax ("0-3,8-11", "0", "" or "\n"), as in
 * /sys/devices/system/cpu/online and Cpus_allowed_list. Returns ascending,
 * de-duplicated CPU ids; throws on text that is not a cpulist.
 */
export function parseCpuList(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const seen = new Set<number>();
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a cpulist: '${trimmed}' (bad part '${part}')`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`not a cpulist: '${trimmed}' (range ${part} runs backwards)`);
    for (let cpu = from; cpu <= to; cpu++) seen.add(cpu);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * Parses cgroup v2 `cpu.max` ("max 100000" = no limit, "200000 100000" = 2
 * CPUs). A fractional quota rounds down, at least 1: like Go's automaxprocs,
 * we would rather leave part of a CPU idle than run more busy threads than
 * the quota lets run, which makes the kernel throttle all of them.
 * Returns undefined when there is no limit.
 */
export function parseCgroupCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || quota === '') return undefined;
  return quotaToCpus(Number(quota), period === undefined ? 100_000 : Number(period));
}

/** cgroup v1: cpu.cfs_quota_us ("-1" = no limit) over cpu.cfs_period_us. */
export function parseCgroupV1Quota(quotaText: string, periodText: string): number | undefined {
  const quota = Number(quotaText.trim());
  if (!(quota > 0)) return undefined;
  return quotaToCpus(quota, Number(periodText.trim()));
}

function quotaToCpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

function readText(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The CPUs this process may run on (Cpus_allowed_list of /proc/self/status), or undefined off Linux. */
export function readAllowedCpus(statusText = readText('/proc/self/status')): number[] | undefined {
  if (statusText === undefined) return undefined;
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(statusText);
  return m ? parseCpuList(m[1]!) : undefined;
}

/**
 * The cgroup CPU quota of this process in CPUs, or undefined when unlimited.
 * cgroup v2: the tightest cpu.max from our cgroup up to the root (a parent's
 * quota limits its children too); cgroup v1: the cpu controller's cfs quota.
 */
export function readCgroupCpuLimit(fsRoot = '/sys/fs/cgroup', procCgroup = readText('/proc/self/cgroup')): number | undefined {
  let limit: number | undefined;
  const tighter = (n: number | undefined): void => {
    if (n !== undefined && (limit === undefined || n < limit)) limit = n;
  };
  const v2Path = procCgroup ? /^0::(.*)$/m.exec(procCgroup)?.[1] : undefined;
  if (v2Path !== undefined) {
    // Walk from our cgroup up to the root; in a container with its own cgroup namespace this is just "/".
    let dir = v2Path.trim();
    for (;;) {
      const text = readText(`${fsRoot}${dir === '/' ? '' : dir}/cpu.max`);
      if (text !== undefined) tighter(parseCgroupCpuMax(text));
      if (dir === '/' || dir === '') break;
      dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
    }
  }
  for (const controller of ['cpu', 'cpu,cpuacct']) {
    const quota = readText(`${fsRoot}/${controller}/cpu.cfs_quota_us`);
    const period = readText(`${fsRoot}/${controller}/cpu.cfs_period_us`);
    if (quota !== undefined && period !== undefined) tighter(parseCgroupV1Quota(quota, period));
  }
  return limit;
}

/**
 * How many CPUs we can really use: the affinity mask (os.availableParallelism
 * counts it) capped by the cgroup quota, so `workers: 'auto'` in a container
 * limited to 2 CPUs starts 2 workers even on a 64-core host.
 */
export function availableCpus(): number {
  const byAffinity = os.availableParallelism();
  const byQuota = readCgroupCpuLimit();
  return Math.max(1, byQuota === undefined ? byAffinity : Math.min(byAffinity, byQuota));
}

/**
 * NUMA nodes from /sys/devices/system/node/node<N>/cpulist, keeping only CPUs
 * that are online and allowed to us. Without NUMA information (not Linux, or
 * a kernel without NUMA) everything is one node 0.
 */
export function readCpuTopology(sysRoot = '/sys', allowed = readAllowedCpus()): CpuTopology {
  const onlineText = readText(`${sysRoot}/devices/system/cpu/online`);
  const online = onlineText === undefined ? undefined : new Set(parseCpuList(onlineText));
  const usable = (cpu: number): boolean => (online === undefined || online.has(cpu)) && (allowed === undefined || allowed.includes(cpu));
  const nodes: NumaNode[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(`${sysRoot}/devices/system/node`);
  } catch {
    // no NUMA sysfs: fall through to the single-node answer
  }
  for (const entry of entries) {
    const m = /^node(\d+)$/.exec(entry);
    if (!m) continue;
    const text = readText(`${sysRoot}/devices/system/node/${entry}/cpulist`);
    if (text === undefined) continue;
    const cpus = parseCpuList(text).filter(usable);
    if (cpus.length > 0) nodes.push({ id: Number(m[1]), cpus });
  }
  if (nodes.length > 0) return { nodes: nodes.sort((a, b) => a.id - b.id) };
  const all = allowed ?? (online ? [...online] : os.cpus().map((_, i) => i));
  return { nodes: [{ id: 0, cpus: all.filter(usable) }] };
}

/**
 * One CPU per worker, spreading workers across NUMA nodes round-robin
 * (worker 0 on node 0, worker 1 on node 1, ...), so memory bandwidth and
 * last-level caches of every node are used before any node gets a second
 * worker. Within a node CPUs are taken in order; when a node runs out, its
 * CPUs are reused from the first (more workers than CPUs share them).
 */
export function planPlacement(workerCount: number, topology: CpuTopology = readCpuTopology()): WorkerPlacement[] {
  const nodes = topology.nodes.filter((n) => n.cpus.length > 0);
  if (nodes.length === 0) throw new Error('no usable CPU found in the topology');
  const nextIndex = new Array<number>(nodes.length).fill(0);
  const plan: WorkerPlacement[] = [];
  for (let workerId = 0; workerId < workerCount; workerId++) {
    const n = workerId % nodes.length;
    const node = nodes[n]!;
    const cpu = node.cpus[nextIndex[n]! % node.cpus.length]!;
    nextIndex[n]++;
    plan.push({ workerId, cpu, numaNode: node.id });
  }
  return plan;
}
