import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { UpstreamGroupConfig } from '../../src/config/types.js';
import type { DnsCache } from './dns-cache.js';
import { FirstAvailable } from './first-available.js';
import { KeyHash } from './key-hash.js';
import { LeastConnections } from './least-connections.js';
import type { LoadBalancer } from './load-balancer.js';
import { RoundRobin } from './round-robin.js';
import { UpstreamConnection, type UpstreamConnectionOwner } from './upstream-connection.js';
import { UpstreamHost } from './upstream-host.js';
import { H2UpstreamSessions } from './h2-upstream-sessions.js';
import { SharedHostHealth } from '../health-checker/shared-host-health.js';

/**
 * Called with the acquiring owner as `this`, so an owner can pass one shared
 * function instead of a closure per connection (Http1Session does).
 */
export type AcquireCallback<O extends UpstreamConnectionOwner = UpstreamConnectionOwner> = (this: O, error: ErrorRecord | undefined, conn: UpstreamConnection | undefined, reused: boolean) => void;

/** Resolution of pool-wait expiry; connectMs is seconds, 100 ms keeps the 503 prompt. */
const WAITER_SWEEP_MS = 100;

/** Allocates a cross-worker counter slot for a name (shared memory), see src/kernel/shared-slots.ts. */
export type SlotAllocator = (name: string) => { array: Int32Array; index: number };

function createBalancer(strategy: UpstreamGroupConfig['strategy']): LoadBalancer {
  switch (strategy) {
    case 'round-robin': return new RoundRobin();
    case 'first': return new FirstAvailable();
    case 'least-connections': return new LeastConnections();
    case 'host':
    case 'sni': return new KeyHash();
  }
}

interface Waiter {
  readonly key: string | undefined;
  readonly owner: UpstreamConnectionOwner;
  readonly cb: AcquireCallback;
  readonly deadline: number;
}

/**
 * A named upstream group in one worker: its hosts, its load balancer and its
 * keep-alive pools. acquire() hands out a connection (idle one first, else a
 * new connect), retrying other hosts on connect failure up to `retries`.
 */
export class UpstreamGroup {
  readonly hosts: UpstreamHost[];
  private readonly balancer: LoadBalancer;
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private readonly tlsOptions: tls.ConnectionOptions | undefined;
  /** protocol "h2": one HTTP/2 session per host; each acquire is a stream on it (never pooled). */
  private readonly h2: H2UpstreamSessions | undefined;
  connectFailures = 0;
  /** Requests answered 503 because pool.maxPending were already waiting. */
  private pendingRejected = 0;
  private idleSweep: NodeJS.Timeout | undefined;
  private waiterSweep: NodeJS.Timeout | undefined;

  constructor(readonly name: string, readonly config: UpstreamGroupConfig, private readonly dns: DnsCache, slots: SlotAllocator) {
    this.hosts = config.hosts.map((h, i) => {
      const slot = slots(`upstream:${name}:${h.host}:${h.port}`);
      return new UpstreamHost(name, i, h.host, h.port, h.weight, slot.array, slot.index, new SharedHostHealth(slots, name, h.host, h.port));
    });
    this.balancer = createBalancer(config.strategy);
    const t = config.tls;
    if (t && t.enabled) {
      this.tlsOptions = {
        rejectUnauthorized: !t.insecure,
        ...(t.caFile ? { ca: fs.readFileSync(t.caFile) } : {}),
        ...(t.certFile ? { cert: fs.readFileSync(t.certFile) } : {}),
        ...(t.keyFile ? { key: fs.readFileSync(t.keyFile) } : {}),
        ...(t.servername ? { servername: t.servername } : {}),
        ALPNProtocols: [config.protocol === 'h2' ? 'h2' : 'http/1.1'],
      };
    }
    if (config.protocol === 'h2') this.h2 = new H2UpstreamSessions(name, config, dns, this.tlsOptions);
  }

  /** Idle + active connections over all hosts: the pool's reuse ratio is reuses / requests. */
  stats(): { name: string; active: number; idle: number; pending: number; pendingRejected: number; requests: number; reuses: number; connects: number; connectFailures: number; hosts: Array<{ address: string; active: number; activeAllWorkers: number; idle: number; ejected: boolean }> } {
    let idle = 0, requests = 0, reuses = 0, connects = 0;
    const now = Date.now();
    const hosts = this.hosts.map((h) => {
      idle += h.idle.length; requests += h.requestsTotal; reuses += h.reusesTotal; connects += h.connectsTotal;
      return { address: h.address, active: h.active, activeAllWorkers: h.activeAllWorkers, idle: h.idle.length, ejected: !h.isAvailable(now) };
    });
    return { name: this.name, active: this.active, idle, pending: this.waiters.length, pendingRejected: this.pendingRejected, requests, reuses, connects, connectFailures: this.connectFailures, hosts };
  }

  /**
   * Gets a connection for one request. `cb` runs exactly once. Errors:
   * 'upstream.unavailable' (503, every host ejected or tried),
   * 'upstream.connect-failed' (502), 'upstream.connect-timeout' (504),
   * 'upstream.pool-exhausted' (503, waited connectMs for a free slot),
   * 'upstream.pool-queue-full' (503, pool.maxPending requests already waiting).
   */
  acquire<O extends UpstreamConnectionOwner>(key: string | undefined, owner: O, acquired: AcquireCallback<O>): void {
    const cb = acquired as AcquireCallback;
    const max = this.config.pool.maxConnections;
    if (max > 0 && this.active >= max) {
      const maxPending = this.config.pool.maxPending;
      if (maxPending > 0 && this.waiters.length >= maxPending) {
        // Envoy's max_pending_requests: past the bound, a queue only turns overload into memory and latency.
        this.pendingRejected++;
        cb.call(owner, { code: 'upstream.pool-queue-full', status: 503, message: `upstream '${this.name}' has ${max} busy connections and ${maxPending} requests already waiting`, retryable: true, source: `upstream:${this.name}` }, undefined, false);
        return;
      }
      this.waiters.push({ key, owner, cb, deadline: Date.now() + this.config.timeouts.connectMs });
      if (!this.waiterSweep) {
        // Waiters expire on their own (503 at connectMs), not only when a connection frees up.
        this.waiterSweep = setInterval(this.expireWaiters, WAITER_SWEEP_MS);
        this.waiterSweep.unref();
      }
      return;
    }
    this.attempt(key, owner, cb, undefined, undefined);
  }

  /**
   * Returns a connection after its exchange. Only a connection whose request
   * and response were both framed completely (`reusable`) goes back to the
   * idle list; anything else is destroyed, never reused.
   */
  release(conn: UpstreamConnection, reusable: boolean): void {
    this.active--;
    conn.host.released();
    const host = conn.host;
    // An HTTP/2 stream is one request: its session is shared, the stream is never parked.
    if (reusable && this.h2 === undefined && !conn.closed && host.idle.length < this.config.pool.maxIdle) {
      conn.park();
      host.idle.push(conn);
      if (!this.idleSweep && this.config.pool.idleTimeoutMs > 0) this.startIdleSweep();
    } else {
      conn.owner = undefined;
      conn.destroy();
    }
    this.serveWaiter();
  }

  closeIdle(): void {
    for (const h of this.hosts) h.closeIdle();
    this.h2?.close();
    if (this.idleSweep) {
      clearInterval(this.idleSweep);
      this.idleSweep = undefined;
    }
  }

  /**
   * Closes keep-alive connections idle longer than pool.idleTimeoutMs. One
   * unref'd interval per group (resolution a quarter of the timeout, at
   * least 250 ms) instead of a timer per parked connection.
   */
  private startIdleSweep(): void {
    const timeoutMs = this.config.pool.idleTimeoutMs;
    this.idleSweep = setInterval(() => {
      const cutoff = Date.now() - timeoutMs;
      let idle = 0;
      for (const h of this.hosts) {
        // idle is LIFO: the oldest parked connections sit at the front.
        while (h.idle.length > 0 && h.idle[0]!.idleSince <= cutoff) h.idle.shift()!.destroy();
        idle += h.idle.length;
      }
      if (idle === 0 && this.idleSweep) {
        clearInterval(this.idleSweep);
        this.idleSweep = undefined;
      }
    }, Math.max(250, Math.floor(timeoutMs / 4)));
    this.idleSweep.unref();
  }

  private readonly expireWaiters = (): void => {
    const now = Date.now();
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.deadline >= now) continue;
      this.waiters.splice(i--, 1);
      w.cb.call(w.owner, this.poolExhausted(), undefined, false);
    }
    if (this.waiters.length === 0 && this.waiterSweep) {
      clearInterval(this.waiterSweep);
      this.waiterSweep = undefined;
    }
  };

  private poolExhausted(): ErrorRecord {
    return { code: 'upstream.pool-exhausted', status: 503, message: `no free connection to upstream '${this.name}' within ${this.config.timeouts.connectMs} ms`, retryable: true, source: `upstream:${this.name}` };
  }

  private serveWaiter(): void {
    const now = Date.now();
    while (this.waiters.length > 0) {
      const w = this.waiters.shift()!;
      if (w.deadline < now) {
        w.cb.call(w.owner, this.poolExhausted(), undefined, false);
        continue;
      }
      this.attempt(w.key, w.owner, w.cb, undefined, undefined);
      return;
    }
  }

  private attempt(key: string | undefined, owner: UpstreamConnectionOwner, cb: AcquireCallback, tried: Set<UpstreamHost> | undefined, lastError: ErrorRecord | undefined): void {
    const now = Date.now();
    const host = this.balancer.pick(this.hosts, now, tried, key);
    if (!host) {
      cb.call(owner, lastError ?? { code: 'upstream.unavailable', status: 503, message: `no available host in upstream '${this.name}'`, retryable: true, source: `upstream:${this.name}` }, undefined, false);
      return;
    }
    // Reuse the most recently parked connection; closed ones are dropped as found.
    while (host.idle.length > 0) {
      const conn = host.idle.pop()!;
      if (conn.closed) continue;
      conn.claim(owner);
      this.active++;
      host.acquired();
      host.reusesTotal++;
      cb.call(owner, undefined, conn, true);
      return;
    }
    this.active++;
    host.acquired();
    this.connect(host, owner, (err, conn) => {
      if (conn) {
        // A connect alone does not end a passive failure streak: the exchange's status does
        // (a 5xx extends it), reported from the access record by http-worker-app.
        cb.call(owner, undefined, conn, false);
        return;
      }
      this.active--;
      host.released();
      this.connectFailures++;
      // Passive ejection only when configured (the schema: absent = off); the streak is shared by all workers.
      const passive = this.config.passive;
      if (passive) host.failed(passive.maxFailures, passive.cooldownMs);
      const t = tried ?? new Set<UpstreamHost>();
      t.add(host);
      if (t.size <= this.config.retries) this.attempt(key, owner, cb, t, err);
      else cb.call(owner, err, undefined, false);
    });
  }

  private connect(host: UpstreamHost, owner: UpstreamConnectionOwner, cb: (err: ErrorRecord | undefined, conn: UpstreamConnection | undefined) => void): void {
    if (this.h2 !== undefined) return this.openStream(this.h2, host, owner, cb);
    const timeouts = this.config.timeouts;
    const source = `upstream:${this.name}`;
    this.dns.resolve(host.hostname, timeouts.resolveMs, (dnsErr, ip) => {
      if (dnsErr) {
        cb({ code: 'upstream.resolve-failed', status: 502, message: `cannot resolve ${host.hostname}: ${dnsErr.message}`, retryable: true, source, context: { upstream: host.address } }, undefined);
        return;
      }
      host.connectsTotal++;
      const socket = this.tlsOptions
        ? tls.connect({ ...this.tlsOptions, host: ip, port: host.port, servername: this.tlsOptions.servername ?? (net.isIP(host.hostname) ? undefined : host.hostname) })
        : net.connect({ host: ip, port: host.port, noDelay: true });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        cb({ code: 'upstream.connect-timeout', status: 504, message: `connecting to ${host.address} timed out after ${timeouts.connectMs} ms`, retryable: true, source, context: { upstream: host.address } }, undefined);
      }, timeouts.connectMs);
      const onError = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        cb({ code: 'upstream.connect-failed', status: 502, message: `cannot connect to ${host.address}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, retryable: true, source, context: { upstream: host.address } }, undefined);
      };
      socket.once('error', onError);
      socket.once(this.tlsOptions ? 'secureConnect' : 'connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('error', onError);
        if (this.tlsOptions) socket.setNoDelay(true);
        const conn = new UpstreamConnection(socket, host, (c) => {
          const i = c.host.idle.indexOf(c);
          if (i >= 0) c.host.idle.splice(i, 1);
        });
        conn.claim(owner);
        cb(undefined, conn);
      });
    });
  }

  /**
   * protocol "h2": a stream on the host's HTTP/2 session, wrapped as an
   * UpstreamConnection. Its "socket" is an H2StreamBridge: the exchanges
   * use only the stream methods of net.Socket (write, cork, pause, resume,
   * destroy, the writable counters), which a Duplex has.
   */
  private openStream(h2: H2UpstreamSessions, host: UpstreamHost, owner: UpstreamConnectionOwner, cb: (err: ErrorRecord | undefined, conn: UpstreamConnection | undefined) => void): void {
    h2.open(host, (err, bridge) => {
      if (bridge === undefined) return cb(err, undefined);
      const conn = new UpstreamConnection(bridge as unknown as net.Socket, host, () => { /* never parked */ });
      conn.claim(owner);
      cb(undefined, conn);
    });
  }
}
