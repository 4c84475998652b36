import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { readAllowedCpus } from '../../src/platform/cpu-topology.js';
import { currentKernelThreadId, readThreadCpusAllowed, type PinResult } from '../../src/platform/pin-thread.js';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const allowed = process.platform === 'linux' ? readAllowedCpus() : undefined;
const skip = process.platform !== 'linux' ? 'pinning is Linux-only'
  : !hasTaskset() ? 'taskset is not installed (util-linux); pinning falls back to unpinned'
  : undefined;

/** Runs pinCurrentThread(cpu) inside a fresh worker thread; returns its result and its TID. */
async function pinInWorker(cpu: number): Promise<{ pin: PinResult; tid: number; afterInWorker: string }> {
  const moduleUrl = new URL('../../src/platform/pin-thread.js', import.meta.url).href;
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.moduleUrl).then((m) => {
      const pin = m.pinCurrentThread(workerData.cpu);
      const tid = m.currentKernelThreadId();
      parentPort.postMessage({ pin, tid, afterInWorker: m.readThreadCpusAllowed(tid) });
    });
  `, { eval: true, workerData: { moduleUrl, cpu } });
  const [msg] = await once(w, 'message');
  await w.terminate();
  return msg;
}

describe('pinCurrentThread', { skip }, () => {
  test('pins a worker thread: its Cpus_allowed_list becomes that one CPU, the main thread keeps its own', async () => {
    const target = allowed![allowed!.length - 1]!;
    const mainBefore = readThreadCpusAllowed(currentKernelThreadId());
    const { pin, tid, afterInWorker } = await pinInWorker(target);
    assert.deepEqual(pin, { ok: true, cpu: target, tid, cpusAllowedList: String(target) });
    assert.equal(afterInWorker, String(target));
    assert.notEqual(tid, currentKernelThreadId());
    assert.equal(readThreadCpusAllowed(currentKernelThreadId()), mainBefore);
  });
  test('pinning to a CPU outside our mask fails with a reason instead of throwing', async () => {
    const outside = 4096; // above any CPU id this box has: taskset refuses it
    const { pin } = await pinInWorker(outside);
    assert.equal(pin.ok, false);
    assert.equal(pin.cpu, outside);
    if (!pin.ok) assert.match(pin.reason, /taskset failed/);
  });
});
