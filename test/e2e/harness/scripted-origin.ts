/**
 * A raw TCP origin whose every byte is written by the test: malformed status
 * lines, bodies cut short, answers that never come. Each accepted connection
 * runs the test's script with a ScriptedConnection, an async reader over
 * what the proxy sent (every received byte is also kept in `received`).
 */
import net from 'node:net';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

export class ScriptedConnection {
  /** Every byte received on this connection, in order. */
  received: Buffer = Buffer.alloc(0);
  closed = false;
  /** Resolves when the socket has closed (either side). */
  readonly whenClosed: Promise<void>;
  private cursor = 0;
  private waiter: (() => void) | undefined;

  constructor(readonly index: number, readonly socket: net.Socket) {
    this.whenClosed = new Promise<void>((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Reads up to and including the next CRLFCRLF; resolves with the head as latin1 text. */
  async readHead(): Promise<string> {
    return (await this.readUntil(CRLFCRLF)).toString('latin1');
  }

  /** Reads up to and including `marker`. Rejects if the connection closes first. */
  async readUntil(marker: Buffer | string): Promise<Buffer> {
    const m = typeof marker === 'string' ? Buffer.from(marker, 'latin1') : marker;
    for (;;) {
      const at = this.received.indexOf(m, this.cursor);
      if (at >= 0) {
        const out = this.received.subarray(this.cursor, at + m.length);
        this.cursor = at + m.length;
        return out;
      }
      await this.next();
    }
  }

  /** Reads exactly n bytes. */
  async readBytes(n: number): Promise<Buffer> {
    while (this.received.length - this.cursor < n) await this.next();
    const out = this.received.subarray(this.cursor, this.cursor + n);
    this.cursor += n;
    return out;
  }

  /** Reads a request head and its Content-Length body (if any); returns the head. */
  async readRequest(): Promise<string> {
    const head = await this.readHead();
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (m) await this.readBytes(Number(m[1]));
    return head;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  private next(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`scripted connection ${this.index} closed`));
    return new Promise<void>((resolve) => { this.waiter = resolve; });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

export interface ScriptedOrigin {
  readonly port: number;
  readonly connections: ScriptedConnection[];
  /** Errors thrown by scripts other than "connection closed" (a script bug shows up here). */
  readonly scriptErrors: Error[];
  close(): Promise<void>;
}

export type Script = (conn: ScriptedConnection) => void | Promise<void>;

export async function startScriptedOrigin(script: Script): Promise<ScriptedOrigin> {
  const connections: ScriptedConnection[] = [];
  const scriptErrors: Error[] = [];
  const server = net.createServer((socket) => {
    const conn = new ScriptedConnection(connections.length, socket);
    connections.push(conn);
    Promise.resolve()
      .then(() => script(conn))
      .catch((err: Error) => {
        if (!conn.closed) scriptErrors.push(err);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  // Unref'd: a test that fails before its cleanup must not keep the test file's process alive (a hang, not a failure).
  server.unref();
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    scriptErrors,
    async close() {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers every request on the connection with `response` (a full response as text), forever. */
export function answerEvery(response: string): Script {
  return async (conn) => {
    for (;;) {
      await conn.readRequest();
      conn.write(response);
    }
  };
}

/** A port on 127.0.0.1 with nothing listening: bound then released, so connects are refused. */
export async function refusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
