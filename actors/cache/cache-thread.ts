/**
 * Main-thread side of the cache actor: starts the cache thread, names each
 * worker's link to it (attach, called from the workers' appData at every
 * spawn), and forwards the admin API's purge and stats. Every call is
 * bounded in time: a stuck cache thread never holds up the admin listener.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ZproxyError } from '../../src/kernel/errors.js';
import type { CacheMessage, CachePurge, CacheReply, CacheStats } from './cache-protocol.js';

const ASK_TIMEOUT_MS = 2000;

export type PurgeRequest = { readonly key: string } | { readonly prefix: string } | { readonly all: true };

export class CacheThread {
  private nextId = 1;
  private readonly pending = new Map<number, (r: CacheReply) => void>();

  private readonly attached = new Set<number>();
  private stopping = false;

  private constructor(private worker: Worker, readonly channelBase: string, private readonly onError: (message: string) => void) {
    this.watch(worker);
  }

  static async start(onError: (message: string) => void): Promise<CacheThread> {
    // A per-process random base: two zproxy instances in one process (tests) never share channels.
    const channelBase = `zproxy-cache-${process.pid}-${randomBytes(6).toString('hex')}`;
    return new CacheThread(await spawn(channelBase), channelBase, onError);
  }

  /** Opens worker `workerId`'s link; idempotent (a respawned worker reuses its channels). */
  attach(workerId: number): void {
    this.attached.add(workerId);
    this.worker.postMessage({ kind: 'cache.attach', workerId } satisfies CacheMessage);
  }

  private watch(worker: Worker): void {
    worker.on('message', (r: CacheReply) => {
      const cb = this.pending.get(r.id);
      this.pending.delete(r.id);
      cb?.(r);
    });
    // A dead cache thread costs hits, not service: lookups in flight time out into misses, and a
    // fresh (empty) thread takes over the same channels, so the workers need not know.
    worker.on('error', (err) => this.onError(`the cache thread failed (${err.message}); restarting it empty`));
    worker.on('exit', () => {
      if (this.stopping) return;
      spawn(this.channelBase).then((next) => {
        if (this.stopping) return void next.terminate();
        this.worker = next;
        this.watch(next);
        for (const id of this.attached) next.postMessage({ kind: 'cache.attach', workerId: id } satisfies CacheMessage);
      }, (err: Error) => this.onError(`the cache thread could not be restarted (${err.message}); responses are no longer cached`));
    });
  }

  async purge(req: PurgeRequest): Promise<number> {
    const r = await this.ask((id) => ({ kind: 'cache.purge', id, ...req } as CachePurge));
    return r.kind === 'cache-client.purge-reply' ? r.purged : 0;
  }

  async stats(): Promise<CacheStats> {
    const r = await this.ask((id) => ({ kind: 'cache.stats', id }));
    if (r.kind !== 'cache-client.stats-reply') throw new ZproxyError({ code: 'cache.bad-reply', message: `cache thread answered ${r.kind} to stats`, source: 'cache' });
    return r.stats;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }

  private ask(make: (id: number) => CacheMessage): Promise<CacheReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ZproxyError({ code: 'cache.timeout', status: 503, message: `the cache thread did not answer within ${ASK_TIMEOUT_MS} ms`, source: 'cache' }));
      }, ASK_TIMEOUT_MS);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.worker.postMessage(make(id));
    });
  }
}

async function spawn(channelBase: string): Promise<Worker> {
  const worker = new Worker(new URL('./cache-thread-main.js', import.meta.url), { name: 'zproxy-cache', workerData: { channelBase } });
  await new Promise<void>((resolve, reject) => {
    const onMsg = (m: { kind: string }): void => {
      if (m.kind !== 'cache-owner.ready') return;
      worker.off('message', onMsg);
      worker.off('error', reject);
      worker.unref();
      resolve();
    };
    worker.on('message', onMsg);
    worker.once('error', reject);
  });
  return worker;
}
