/**
 * server.limits.maxConnections (all workers) and maxConnectionsPerWorker:
 * whether a newly accepted client connection may stay. Each worker slot id
 * owns one shared Int32 counter (src/kernel/shared-slots.ts); the global
 * count is their sum, so the limit holds across workers without a message
 * per connection, and a worker that crashed cannot leak its count: its
 * replacement zeroes the slot (the dead thread's sockets died with it).
 * Connections are counted only while a limit is set, so a proxy without
 * limits pays nothing here. A worker shedding load (server.overload)
 * refuses every new connection the same way.
 */
import type net from 'node:net';
import type { ListenerConfig, LimitsConfig } from '../../src/config/types.js';

/** A plain-HTTP client gets a real answer (nginx's limit_conn answers 503); TLS or raw TCP clients are closed. */
const REFUSAL_BODY = '503 Service Unavailable: connection limit reached or the proxy is overloaded\n';
const HTTP_REFUSAL = Buffer.from(
  `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${REFUSAL_BODY.length}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${REFUSAL_BODY}`,
  'latin1',
);

/** How long a refused plain-HTTP client may take to read its 503 before the socket is destroyed. */
const REFUSAL_LINGER_MS = 1000;

/** Worker slot ids whose counters are summed; far above any core count zproxy plans workers for. */
export const MAX_WORKER_SLOTS = 256;

export class ConnectionAdmission {
  private open = 0;
  private refusedTotal = 0;

  /**
   * `counters`: the shared array; `own`: this worker's slot in it;
   * `all`: every worker's slot (up to MAX_WORKER_SLOTS ids).
   */
  constructor(private readonly counters: Int32Array, private readonly own: number, private readonly all: readonly number[]) {
    Atomics.store(counters, own, 0);
  }

  /**
   * When: a connection was accepted, before any byte is read. Result: true
   * if it may proceed (and is now counted until it closes); false if it was
   * refused here and needs nothing more.
   */
  admit(socket: net.Socket, limits: LimitsConfig, listener: ListenerConfig, overloaded: boolean): boolean {
    if (overloaded) return this.refuse(socket, listener);
    const perWorker = limits.maxConnectionsPerWorker;
    const total = limits.maxConnections;
    if (perWorker === 0 && total === 0) return true;
    if (perWorker > 0 && this.open >= perWorker) return this.refuse(socket, listener);
    const counters = this.counters;
    const own = this.own;
    // Count first, then look: two workers admitting at once may both refuse, never both pass the limit.
    Atomics.add(counters, own, 1);
    if (total > 0 && this.globalOpen() > total) {
      Atomics.sub(counters, own, 1);
      return this.refuse(socket, listener);
    }
    this.open++;
    socket.on('close', () => {
      this.open--;
      Atomics.sub(counters, own, 1);
    });
    return true;
  }

  stats(): { connectionsCounted: number; connectionsRefused: number } {
    return { connectionsCounted: this.open, connectionsRefused: this.refusedTotal };
  }

  private globalOpen(): number {
    let sum = 0;
    for (const i of this.all) sum += Atomics.load(this.counters, i);
    return sum;
  }

  private refuse(socket: net.Socket, listener: ListenerConfig): false {
    this.refusedTotal++;
    socket.on('error', () => socket.destroy());
    if (listener.mode === 'http' && listener.tls === undefined) {
      socket.end(HTTP_REFUSAL);
      // A client that never closes its side must not hold the place it was refused: a short linger lets the 503 arrive, then the socket goes.
      socket.setTimeout(REFUSAL_LINGER_MS, () => socket.destroy());
    } else socket.destroy();
    return false;
  }
}
