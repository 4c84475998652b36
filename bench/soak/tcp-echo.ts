// The raw TCP side of the soak: an echo origin behind zproxy's stream
// listener, and a client that keeps opening a connection, sending a payload,
// reading it back, half-closing and waiting for the close, a few at a time.
// Both live in the harness process: the echo is trivial and the churn is
// rate-bounded, so neither competes with the proxy for CPU.

import net from 'node:net';
import { LOOPBACK } from '../load/free-port.js';

export interface EchoOrigin {
  port: number;
  close(): Promise<void>;
}

export function startEchoOrigin(): Promise<EchoOrigin> {
  const sockets = new Set<net.Socket>();
  // allowHalfOpen: the proxy passes the client's FIN on; the echo answers what
  // it has read and then ends its side, as a real request/response protocol does.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
    socket.pipe(socket, { end: false });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}

export interface ChurnCounts {
  /** Connections that echoed the payload intact and closed cleanly. */
  completed: number;
  errors: number;
  /** Echoes that came back short or different. */
  mismatches: number;
}

/** Per-connection bound: a stuck connection is destroyed and counted, never waited on forever. */
const CONNECTION_TIMEOUT_MS = 10_000;

function oneConnection(port: number, payload: Buffer): Promise<'ok' | 'error' | 'mismatch'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: 'ok' | 'error' | 'mismatch'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const socket = net.connect({ port, host: LOOPBACK }, () => socket.end(payload));
    const timer = setTimeout(() => {
      socket.destroy();
      finish('error');
    }, CONNECTION_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => finish('error'));
    socket.on('close', (hadError) => {
      if (hadError) return finish('error');
      finish(Buffer.concat(chunks).equals(payload) ? 'ok' : 'mismatch');
    });
  });
}

/**
 * Runs `concurrency` loops of connect / echo / close until `deadline`
 * (ms since epoch), pausing pauseMs between connections per loop: at most
 * concurrency × 1000 / pauseMs connections per second.
 */
export async function tcpChurn(port: number, deadline: number, concurrency: number, pauseMs: number, counts: ChurnCounts): Promise<void> {
  const payload = Buffer.alloc(512, 'z');
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const outcome = await oneConnection(port, payload);
      if (outcome === 'ok') counts.completed++;
      else if (outcome === 'mismatch') counts.mismatches++;
      else counts.errors++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}
