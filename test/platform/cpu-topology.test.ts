import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  availableCpus, parseCgroupCpuMax, parseCgroupV1Quota, parseCpuList, planPlacement, readAllowedCpus, readCgroupCpuLimit, readCpuTopology,
} from '../../src/platform/cpu-topology.js';

describe('parseCpuList', () => {
  test('expands ranges and singles in the kernel cpulist syntax', () => {
    assert.deepEqual(parseCpuList('0-3,8-11'), [0, 1, 2, 3, 8, 9, 10, 11]);
    assert.deepEqual(parseCpuList('5'), [5]);
    assert.deepEqual(parseCpuList('0,2,4-5\n'), [0, 2, 4, 5]);
  });
  test('sorts and de-duplicates overlapping parts', () => {
    assert.deepEqual(parseCpuList('4-5,0,5,1-2'), [0, 1, 2, 4, 5]);
  });
  test('reads an empty list (a memory-only NUMA node) as no CPUs', () => {
    assert.deepEqual(parseCpuList('\n'), []);
  });
  test('rejects text that is not a cpulist', () => {
    assert.throws(() => parseCpuList('0-3,x'), /not a cpulist/);
    assert.throws(() => parseCpuList('3-1'), /runs backwards/);
  });
});

describe('cgroup CPU quota parsers', () => {
  test('cpu.max "max 100000" means no limit', () => {
    assert.equal(parseCgroupCpuMax('max 100000\n'), undefined);
  });
  test('cpu.max "200000 100000" is 2 CPUs', () => {
    assert.equal(parseCgroupCpuMax('200000 100000\n'), 2);
  });
  test('a fractional quota rounds down but never below 1 CPU', () => {
    assert.equal(parseCgroupCpuMax('150000 100000'), 1);
    assert.equal(parseCgroupCpuMax('50000 100000'), 1);
    assert.equal(parseCgroupCpuMax('350000 100000'), 3);
  });
  test('cgroup v1 cfs quota -1 means no limit, 400000/100000 is 4 CPUs', () => {
    assert.equal(parseCgroupV1Quota('-1\n', '100000\n'), undefined);
    assert.equal(parseCgroupV1Quota('400000\n', '100000\n'), 4);
  });
  test('reads the tightest cpu.max from the cgroup path up to the root', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zproxy-cgroup-'));
    try {
      fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
      fs.writeFileSync(path.join(root, 'cpu.max'), 'max 100000\n');
      fs.writeFileSync(path.join(root, 'a/cpu.max'), '200000 100000\n');
      fs.writeFileSync(path.join(root, 'a/b/cpu.max'), '800000 100000\n');
      assert.equal(readCgroupCpuLimit(root, '0::/a/b\n'), 2);
      assert.equal(readCgroupCpuLimit(root, '0::/\n'), undefined);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('topology and placement', () => {
  const twoNodes = { nodes: [{ id: 0, cpus: [0, 1, 2, 3] }, { id: 1, cpus: [4, 5, 6, 7] }] };

  test('spreads workers across 2 NUMA nodes round-robin, one CPU each', () => {
    assert.deepEqual(planPlacement(4, twoNodes), [
      { workerId: 0, cpu: 0, numaNode: 0 },
      { workerId: 1, cpu: 4, numaNode: 1 },
      { workerId: 2, cpu: 1, numaNode: 0 },
      { workerId: 3, cpu: 5, numaNode: 1 },
    ]);
  });
  test('reuses a node\'s CPUs from the first when there are more workers than CPUs', () => {
    const plan = planPlacement(6, { nodes: [{ id: 0, cpus: [0] }, { id: 1, cpus: [2, 3] }] });
    assert.deepEqual(plan.map((p) => p.cpu), [0, 2, 0, 3, 0, 2]);
    assert.deepEqual(plan.map((p) => p.numaNode), [0, 1, 0, 1, 0, 1]);
  });
  test('reads NUMA nodes from a sysfs tree, keeping only online and allowed CPUs', () => {
    const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'zproxy-sys-'));
    try {
      fs.mkdirSync(path.join(sys, 'devices/system/cpu'), { recursive: true });
      fs.writeFileSync(path.join(sys, 'devices/system/cpu/online'), '0-6\n');
      for (const [n, list] of [['node0', '0-3'], ['node1', '4-7'], ['node2', '']] as const) {
        fs.mkdirSync(path.join(sys, 'devices/system/node', n), { recursive: true });
        fs.writeFileSync(path.join(sys, 'devices/system/node', n, 'cpulist'), `${list}\n`);
      }
      const topo = readCpuTopology(sys, [1, 2, 4, 5, 6, 7]);
      assert.deepEqual(topo, { nodes: [{ id: 0, cpus: [1, 2] }, { id: 1, cpus: [4, 5, 6] }] });
    } finally {
      fs.rmSync(sys, { recursive: true, force: true });
    }
  });
  test('without NUMA sysfs everything is node 0', () => {
    const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'zproxy-sys-'));
    try {
      assert.deepEqual(readCpuTopology(sys, [0, 1, 3]), { nodes: [{ id: 0, cpus: [0, 1, 3] }] });
    } finally {
      fs.rmSync(sys, { recursive: true, force: true });
    }
  });
  test('this machine: allowed CPUs match os.availableParallelism and availableCpus does not exceed them', () => {
    const allowed = readAllowedCpus();
    if (allowed === undefined) return; // not Linux
    assert.equal(allowed.length, os.availableParallelism());
    const n = availableCpus();
    assert.ok(n >= 1 && n <= allowed.length, `availableCpus() = ${n}, allowed ${allowed.length}`);
  });
});
