/**
 * Runs zproxy's worker app in this process on a real listening socket, the
 * way one worker thread runs it: an ActorSystem, createWorkerApp, and a
 * net.Server on 127.0.0.1 port 0 handing each connection to app.onConnection.
 * The config goes through the real loader (parseConfig), so tests exercise
 * the defaults a user would get.
 */
import net from 'node:net';
import { ActorSystem } from '../../../src/kernel/actor-system.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { ZproxyConfig } from '../../../src/config/types.js';
import { createWorkerApp } from '../../../actors/worker/http-worker-app.js';
import type { WorkerApp } from '../../../actors/worker/worker-app-contract.js';

export interface UpstreamGroupStats {
  name: string;
  active: number;
  idle: number;
  requests: number;
  reuses: number;
  connects: number;
  connectFailures: number;
  hosts: Array<{ address: string; active: number; activeAllWorkers: number; idle: number; ejected: boolean }>;
}

/** The shape of HttpWorkerApp.stats() (Record<string, unknown> in the contract). */
export interface ProxyStats {
  connections: number;
  connectionsTotal: number;
  requestsTotal: number;
  upstreams: UpstreamGroupStats[];
}

export interface ProxyHandle {
  readonly port: number;
  readonly app: WorkerApp;
  readonly config: ZproxyConfig;
  stats(): ProxyStats;
  /** Stats of one upstream group by name. */
  upstream(name: string): UpstreamGroupStats;
  /** Client sockets accepted by the listener and not yet closed on the proxy side. */
  openSockets(): number;
  /** The proxy's side of those sockets (to read what the proxy queues in user space). */
  clientSockets(): net.Socket[];
  close(): Promise<void>;
}

export interface StartProxyOptions {
  /** As WorkerPool hands it to a worker (e.g. the cache thread's channel); default none. */
  readonly appData?: Readonly<Record<string, unknown>>;
  /** Default 0; two proxies sharing a cache thread need distinct ids, as real workers have. */
  readonly workerId?: number;
}

export async function startProxy(configJson: unknown, options: StartProxyOptions = {}): Promise<ProxyHandle> {
  const config = parseConfig(configJson, 'e2e-test', {});
  const workerId = options.workerId ?? 0;
  const system = new ActorSystem({ threadId: 0 });
  const app = await createWorkerApp({ workerId, threadId: 0, config: config as never, system, heartbeat() {}, appData: options.appData });
  const listenerName = config.listeners[0]!.name;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    app.onConnection(socket, listenerName);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const stats = (): ProxyStats => app.stats() as unknown as ProxyStats;
  return {
    port,
    app,
    config,
    stats,
    upstream(name) {
      const g = stats().upstreams.find((u) => u.name === name);
      if (!g) throw new Error(`no upstream group '${name}' in stats`);
      return g;
    },
    openSockets: () => sockets.size,
    clientSockets: () => [...sockets],
    async close() {
      // server.close() calls back only once every connection is gone, so the sockets are destroyed before waiting on it.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await app.drain(0);
      system.shutdown();
    },
  };
}
