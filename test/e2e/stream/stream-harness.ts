/**
 * Stream-listener test pieces: TCP origins that echo (and say who they are),
 * a config whose first listener is a stream listener, and a client that
 * collects everything until the proxy closes.
 */
import net from 'node:net';

export interface TcpOrigin {
  readonly port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Bytes received over all connections. */
  receivedBytes(): number;
  close(): Promise<void>;
}

/**
 * Echoes every byte; on the client's FIN writes `tail` (when given), then its
 * own FIN. allowHalfOpen: it keeps writing after the FIN, as a real server may.
 * `greeting` is written first on each connection (server-speaks-first protocols).
 */
export async function startEchoOrigin(opts: { greeting?: string; tail?: string } = {}): Promise<TcpOrigin> {
  let accepted = 0;
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (opts.greeting !== undefined) socket.write(opts.greeting);
    socket.on('data', (d: Buffer) => {
      received += d.length;
      socket.write(d);
    });
    socket.on('end', () => {
      if (opts.tail !== undefined) socket.write(opts.tail);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    receivedBytes: () => received,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A config document with one stream listener (the one startProxy serves) and the given groups. */
export function streamConfig(listener: Record<string, unknown>, upstreams: Record<string, unknown>, server: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server: { workers: 1, ...server },
    listeners: [{ name: 'tcp', address: '127.0.0.1', port: 0, mode: 'stream', ...listener }],
    upstreams,
    routes: [],
    logging: { access: { enabled: false } },
    admin: { enabled: false },
    demo: { enabled: false },
  };
}

export interface Collected {
  readonly data: Buffer;
  /** True when the proxy sent a FIN ('end'), false when the connection was reset or destroyed. */
  readonly ended: boolean;
  readonly error: Error | undefined;
}

/**
 * Connects, runs `drive` on the connected socket, and resolves with everything
 * received once the socket has closed (bounded by timeoutMs: a hang fails).
 * The proxy's FIN is answered with ours unless `answerFin` is false (the test ends it).
 */
export function exchange(port: number, drive: (s: net.Socket) => void, timeoutMs = 15_000, answerFin = true): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let ended = false;
    let error: Error | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => drive(socket));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      ended = true;
      if (answerFin) socket.end();
    });
    socket.on('error', (e) => { error = e; });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), ended, error });
    });
  });
}

/** Polls `check` every 10 ms until true, or throws after timeoutMs. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
