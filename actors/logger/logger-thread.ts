/**
 * Main-thread side of the logger actor: starts its thread, owns the rings
 * (one per worker slot, so a restarted worker writes into the same ring),
 * and forwards reopen/configure/stats/stop. Every call is bounded in time:
 * a stuck logger thread never holds up /stats or shutdown.
 */
import { Worker } from 'node:worker_threads';
import { SpscRing } from '../../src/kernel/ring.js';
import type { LoggingConfig } from '../../src/config/types.js';
import type { LoggerCommand, LoggerEvent, LoggerStats } from './logger-messages.js';

const RING_BYTES_MIN = 64 * 1024;
/** Stats answer in microseconds; a second means the thread is stuck. */
const STATS_TIMEOUT_MS = 1000;
/** How long past flushMs stop() waits for the thread's answer before terminating it anyway. */
const STOP_MARGIN_MS = 500;

function powerOfTwoAtLeast(n: number): number {
  let p = RING_BYTES_MIN;
  while (p < n) p *= 2;
  return p;
}

export class LoggerThread {
  private readonly worker: Worker;
  private readonly rings = new Map<number, SpscRing>();
  private nextId = 1;
  private readonly pending = new Map<number, (e: LoggerEvent) => void>();
  private readonly ringBytes: number;
  onSinkError: (message: string) => void = (m) => process.stderr.write(`zproxy: ${m}\n`);

  private constructor(logging: LoggingConfig) {
    this.ringBytes = powerOfTwoAtLeast(logging.access.ringBytes);
    this.worker = new Worker(new URL('./logger-main.js', import.meta.url), { name: 'zproxy-logger' });
    // A crash of the logger thread must not take the proxy down: workers' rings fill and drop (counted) from then on.
    this.worker.on('error', (err) => this.onSinkError(`the logger thread failed (${err.message}); access log lines are dropped from now on`));
    this.worker.on('message', (e: LoggerEvent) => {
      if (e.kind === 'logger.sink-failed') return this.onSinkError(e.message);
      if (e.kind === 'logger.stats-reported' || e.kind === 'logger.stopped') {
        const cb = this.pending.get(e.id);
        this.pending.delete(e.id);
        cb?.(e);
      }
    });
    this.send({ kind: 'logger.configure', logging });
  }

  static async start(logging: LoggingConfig): Promise<LoggerThread> {
    const t = new LoggerThread(logging);
    await new Promise<void>((resolve, reject) => {
      // Referenced until ready (the start-up awaits it); after that the listeners keep the process alive.
      const onMsg = (e: LoggerEvent): void => { if (e.kind === 'logger.ready') { t.worker.off('message', onMsg); t.worker.unref(); resolve(); } };
      t.worker.on('message', onMsg);
      t.worker.once('error', reject);
    });
    return t;
  }

  /** The ring worker slot `slot` writes into; created on first use and kept across restarts. */
  ringFor(slot: number): SharedArrayBuffer {
    let ring = this.rings.get(slot);
    if (!ring) {
      ring = SpscRing.create(this.ringBytes);
      this.rings.set(slot, ring);
      this.send({ kind: 'logger.attach-ring', slot, ring: ring.buffer });
    }
    return ring.buffer;
  }

  configure(logging: LoggingConfig): void {
    this.send({ kind: 'logger.configure', logging });
  }

  reopen(): void {
    this.send({ kind: 'logger.reopen' });
  }

  /** Rejects after `timeoutMs` if the logger thread does not answer (it must never hang /stats). */
  stats(timeoutMs = STATS_TIMEOUT_MS): Promise<LoggerStats> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the logger thread did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (e) => {
        clearTimeout(timer);
        if (e.kind === 'logger.stats-reported') resolve(e.stats);
      });
      this.send({ kind: 'logger.stats', id });
    });
  }

  /**
   * Writes what the rings hold, gives the sink up to `flushMs` to write it
   * (a stalled one will not), and ends the thread. Resolves with the bytes
   * left unwritten; bounded by flushMs plus STOP_MARGIN_MS whatever happens.
   */
  async stop(flushMs = 1000): Promise<number> {
    const unwritten = await new Promise<number>((resolve) => {
      const id = this.nextId++;
      const timer = setTimeout(() => resolve(-1), flushMs + STOP_MARGIN_MS);
      this.pending.set(id, (e) => {
        clearTimeout(timer);
        resolve(e.kind === 'logger.stopped' ? e.unwrittenBytes : -1);
      });
      this.send({ kind: 'logger.flush-and-stop', id, flushMs });
    });
    await this.worker.terminate();
    return unwritten;
  }

  private send(cmd: LoggerCommand): void {
    this.worker.postMessage(cmd);
  }
}
