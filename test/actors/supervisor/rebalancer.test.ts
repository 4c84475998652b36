/**
 * Connection rebalancing: the plan (who sheds how many), and the whole loop
 * with real workers: a worker that restarted comes back empty while its
 * keep-alive clients moved to the survivor; with rebalancing on, the
 * survivor is asked to shed its excess and the clients spread again; with it
 * off, the restarted worker stays empty for as long as the clients live.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { chooseAcceptor } from '../../../src/platform/node-features.js';
import { connectionSpread, planRebalance, type RebalanceSettings } from '../../../actors/supervisor/rebalancer.js';
import { startPool, testConfig, waitForEvent } from '../fixtures/runtime-harness.js';

const ON: RebalanceSettings = { enabled: true, intervalMs: 200, ratio: 1.5, minConnections: 4 };

describe('planRebalance', () => {
  test('asks a worker over ratio x mean and minConnections above it to close its excess over the mean', () => {
    const orders = planRebalance([{ workerId: 0, open: 30 }, { workerId: 1, open: 0 }], ON);
    assert.deepEqual(orders, [{ workerId: 0, close: 15, open: 30, mean: 15 }]);
  });

  test('leaves small or proportionally mild imbalances alone', () => {
    assert.deepEqual(planRebalance([{ workerId: 0, open: 6 }, { workerId: 1, open: 2 }], ON), [], '2 above the mean is under minConnections');
    assert.deepEqual(planRebalance([{ workerId: 0, open: 140 }, { workerId: 1, open: 100 }], { ...ON, minConnections: 10 }), [], '140 is under 1.5 x 120');
  });

  test('does nothing when disabled or with a single worker', () => {
    assert.deepEqual(planRebalance([{ workerId: 0, open: 30 }, { workerId: 1, open: 0 }], { ...ON, enabled: false }), []);
    assert.deepEqual(planRebalance([{ workerId: 0, open: 30 }], ON), []);
  });

  test('connectionSpread is the standard deviation of connections per worker', () => {
    assert.equal(connectionSpread([{ workerId: 0, open: 30 }, { workerId: 1, open: 0 }]), 15);
    assert.equal(connectionSpread([{ workerId: 0, open: 5 }, { workerId: 1, open: 5 }]), 0);
  });
});

/** A keep-alive client that sends a GET every `everyMs`, reconnecting whenever the server closes; `worker` is where it is now. */
class KeepAliveClient {
  worker = -1;
  reconnects = 0;
  failures = 0;
  private socket: net.Socket | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly port: number, private readonly everyMs: number) {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = net.connect(this.port, '127.0.0.1');
    this.socket = socket;
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => this.send());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\nX-Worker: (\d+)/i.exec(buffered.slice(0, end));
      if (m) this.worker = Number(m[1]);
      buffered = '';
      this.timer = setTimeout(() => this.send(), this.everyMs);
    });
    socket.on('error', () => { this.failures++; });
    socket.on('close', () => {
      clearTimeout(this.timer);
      this.worker = -1;
      if (this.stopped) return;
      this.reconnects++;
      setTimeout(() => this.connect(), 5);
    });
  }

  private send(): void {
    if (this.socket && !this.socket.destroyed && !this.stopped) this.socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }
}

function perWorker(clients: readonly KeepAliveClient[]): [number, number] {
  return [clients.filter((c) => c.worker === 0).length, clients.filter((c) => c.worker === 1).length];
}

/** Starts 2 workers and CLIENTS keep-alive clients, kills the worker that holds client 0, and waits until every client is back on the survivor. */
async function imbalanceByRestart(rebalance: RebalanceSettings) {
  const started = await startPool(testConfig({ rebalance }));
  const clients = Array.from({ length: CLIENTS }, () => new KeepAliveClient(started.port, 20));
  const deadline = Date.now() + 5000;
  while (clients.some((c) => c.worker < 0) && Date.now() < deadline) await sleep(20);
  const restarted = waitForEvent(started.pool, 'worker-restarted', 5000);
  // /exit kills the worker that answers it: every client of that worker loses its connection and reconnects to the other.
  const victim = await new Promise<number>((resolve) => {
    const s = net.connect(started.port, '127.0.0.1', () => s.write('GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n'));
    s.setEncoding('latin1');
    s.once('data', (d: string) => {
      const id = Number(/X-Worker: (\d+)/i.exec(d)?.[1]);
      s.write('GET /exit HTTP/1.1\r\nHost: t\r\n\r\n');
      s.on('error', () => undefined);
      resolve(id);
    });
  });
  await restarted;
  // Let every client of the dead worker find its new home.
  const settle = Date.now() + 3000;
  while (clients.some((c) => c.worker < 0) && Date.now() < settle) await sleep(20);
  return { ...started, clients, victim };
}

const CLIENTS = 24;

describe(`rebalancing with real workers (acceptor ${chooseAcceptor('auto')})`, { timeout: 60_000 }, () => {
  test('after a restart leaves one worker empty, the supervisor moves connections back to it', async (t) => {
    // The timer is slow here: the test triggers passes itself, so it can measure before and after each.
    const { pool, clients, victim } = await imbalanceByRestart({ ...ON, intervalMs: 60_000 });
    try {
      const before = perWorker(clients);
      t.diagnostic(`after worker ${victim} restarted: connections per worker ${before.join('/')} (stddev ${connectionSpread(before.map((open, workerId) => ({ workerId, open }))).toFixed(1)})`);
      assert.ok(before[victim]! <= 2, `the restarted worker ${victim} holds ${before[victim]} of ${CLIENTS} connections`);
      let after = before;
      for (let pass = 0; pass < 6 && Math.min(...after) < CLIENTS / 4; pass++) {
        await pool.rebalanceNow();
        await sleep(300);
        after = perWorker(clients);
      }
      const spreadAfter = connectionSpread(after.map((open, workerId) => ({ workerId, open })));
      const stats = await pool.stats();
      t.diagnostic(`after rebalancing: ${after.join('/')} (stddev ${spreadAfter.toFixed(1)}); ${stats.supervisor.rebalances} passes asked ${stats.supervisor.rebalancedConnections} connections to reconnect`);
      assert.ok(after[victim]! >= CLIENTS / 4, `the restarted worker holds ${after[victim]} of ${CLIENTS} connections after rebalancing`);
      assert.ok(stats.supervisor.rebalances >= 1);
      assert.ok(stats.supervisor.events.some((e) => e.kind === 'rebalanced' && e.workerId !== victim && e.asked > 0));
      assert.equal(clients.reduce((a, c) => a + c.failures, 0), 0, 'a rebalanced client sees a clean close, never an error');
    } finally {
      for (const c of clients) c.stop();
      await pool.stop();
    }
  });

  test('with rebalancing off, the restarted worker stays empty while the clients live', async (t) => {
    const { pool, clients, victim } = await imbalanceByRestart({ ...ON, enabled: false });
    try {
      await pool.rebalanceNow();
      await sleep(800);
      const after = perWorker(clients);
      t.diagnostic(`rebalancing off: ${after.join('/')} 0.8 s after the restart`);
      assert.ok(after[victim]! <= 2, `the restarted worker holds ${after[victim]} connections`);
      assert.equal((await pool.stats()).supervisor.rebalances, 0);
    } finally {
      for (const c of clients) c.stop();
      await pool.stop();
    }
  });
});
