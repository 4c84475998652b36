/**
 * One client connection on a stream listener: picks the upstream group (the
 * listener's one group, or by the TLS ClientHello's server name for
 * passthrough), connects through the group (balancing, connect timeout,
 * retries) and copies bytes both ways with backpressure and half-close,
 * until both sides have closed. Writes one access record at the end.
 *
 * Status convention for the access log ($status), after nginx's stream module:
 * 200 connected (whatever happened after), 400 malformed ClientHello,
 * 408 no ClientHello within server.timeouts.headerMs, 421 no upstream for the
 * server name and no defaultUpstream, 499 the client left before the upstream
 * was connected, 500 an internal error closed it, 502 connect failed, 503 no host
 * available, 504 connect timed out.
 */
import type net from 'node:net';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import { readClientHello } from '../../src/protocol/tls/client-hello.js';
import type { AccessRecord } from '../session-http1/access-record.js';
import type { UpstreamConnection, UpstreamConnectionOwner } from '../upstream-pool/upstream-connection.js';
import type { UpstreamGroup } from '../upstream-pool/upstream-group.js';
import type { SniRoutes } from './sni-routes.js';

/** How connections on one stream listener are sent upstream (built per config by the worker app). */
export interface StreamTarget {
  readonly listenerName: string;
  /** Plain stream: the group every connection goes to. With `sni`: the group when the hello names none of its routes. */
  readonly group: UpstreamGroup | undefined;
  /** Present when the ClientHello is read first (passthrough, or sni routes). */
  readonly sni: SniRoutes<UpstreamGroup> | undefined;
  /** server.timeouts.headerMs: the ClientHello must be complete within this. */
  readonly helloTimeoutMs: number;
}

/** What a stream session needs from the actor that owns it. */
export interface StreamOwner {
  nextRequestId(): string;
  /** False when nobody reads records (no access log, no metrics): none is built. */
  readonly recordsWanted: boolean;
  streamDone(record: AccessRecord): void;
  sessionClosed(session: StreamSession): void;
}

const enum Phase { Hello, Connecting, Open, Closed }
const enum Deadline { None, Hello, Idle }

/** Client bytes held while the upstream connects; past this the client is paused. */
const PENDING_LIMIT = 64 * 1024;

export class StreamSession implements UpstreamConnectionOwner {
  private phase: Phase;
  deadline = 0;
  private deadlineKind = Deadline.None;
  private idleMs = 0;
  private group: UpstreamGroup | undefined;
  private conn: UpstreamConnection | undefined;
  private pending: Buffer[] = [];
  private helloBuf: Buffer | undefined;
  private helloLength = 0;
  private pendingBytes = 0;
  private clientPaused = false;
  private upstreamPaused = false;
  private clientEnded = false;
  private clientErrored = false;
  private clientClosed = false;
  private status = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly startedAt = performance.now();
  private connectStartedAt = 0;
  private upstreamConnectMs = -1;
  private upstreamFirstByteMs = -1;
  private upstreamAddress = '-';
  private serverName = '';
  private recorded = false;
  /** Read at accept: a closed socket no longer knows its peer. */
  private readonly clientAddress: string;
  private readonly clientPort: number;

  constructor(readonly socket: net.Socket, private readonly target: StreamTarget, private readonly owner: StreamOwner) {
    // Half-close is carried through: a client FIN becomes an upstream FIN and back, each side
    // still sending until its own FIN (Node otherwise ends our side when the peer's FIN arrives).
    socket.allowHalfOpen = true;
    socket.setNoDelay(true);
    this.clientAddress = socket.remoteAddress ?? '-';
    this.clientPort = socket.remotePort ?? 0;
    socket.on('data', this.onClientData);
    socket.on('end', this.onClientEnd);
    socket.on('drain', this.onClientDrain);
    socket.on('error', this.onClientError);
    socket.on('close', this.onClientClose);
    if (target.sni !== undefined) {
      this.phase = Phase.Hello;
      this.setDeadline(Deadline.Hello, target.helloTimeoutMs);
    } else {
      this.phase = Phase.Connecting;
      this.connect(target.group!, undefined);
    }
  }

  get closed(): boolean {
    return this.phase === Phase.Closed;
  }

  /** Called by the owner's sweeper: fires the timeout whose deadline passed. */
  checkDeadline(now: number): void {
    if (this.deadlineKind === Deadline.None || now < this.deadline) return;
    const kind = this.deadlineKind;
    this.deadlineKind = Deadline.None;
    if (kind === Deadline.Hello) this.status = 408;
    this.destroy();
  }

  /** Closes both legs now (idle timeout, drain deadline, shutdown). */
  destroy(): void {
    this.releaseUpstream();
    this.socket.destroy();
    this.finishIfDone(); // when the client had already closed, no 'close' event is left to finish us
  }

  // ---- client side ------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    try {
      this.handleClientData(chunk);
    } catch (err) {
      this.internalError(err);
    }
  };

  /**
   * A bug in this code closes this connection, never the worker: an exception
   * escaping a socket handler would take down every connection on the thread.
   */
  private internalError(err: unknown): void {
    process.emitWarning(`internal error in stream session on listener ${this.target.listenerName}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { code: 'ZPROXY_INTERNAL' });
    if (this.status === 0 || this.status === 200) this.status = 500;
    this.destroy();
  }

  private handleClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    switch (this.phase) {
      case Phase.Hello:
        this.holdHello(chunk);
        this.readHello();
        return;
      case Phase.Connecting:
        this.hold(chunk);
        if (this.pendingBytes > PENDING_LIMIT) this.pauseClient();
        return;
      case Phase.Open:
        this.touch();
        // No connection left: the upstream closed and the client's late bytes have nowhere to go.
        if (this.conn !== undefined && !this.conn.socket.write(chunk)) this.pauseClient();
        return;
      case Phase.Closed:
        return;
    }
  }

  /** The client's FIN: pass it on once everything before it has been written upstream. */
  private readonly onClientEnd = (): void => {
    this.clientEnded = true;
    if (this.phase === Phase.Hello) {
      this.status = 400; // a FIN before a complete ClientHello: nothing to route
      this.destroy();
      return;
    }
    if (this.phase === Phase.Open) this.conn?.socket.end();
  };

  private readonly onClientDrain = (): void => {
    if (this.upstreamPaused && this.conn) {
      this.upstreamPaused = false;
      this.conn.socket.resume();
    }
  };

  private readonly onClientError = (): void => {
    this.clientErrored = true; // 'close' follows
  };

  private readonly onClientClose = (): void => {
    this.clientClosed = true;
    if (this.phase === Phase.Connecting || this.phase === Phase.Hello) {
      if (this.status === 0) this.status = 499;
    }
    // A reset, or a close the client did not ask for with its FIN: the upstream leg goes too.
    // After a clean exchange of FINs the upstream closes on its own, its last writes flushed.
    if (this.clientErrored || !this.clientEnded || this.phase !== Phase.Open) this.releaseUpstream();
    this.finishIfDone();
  };

  private hold(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /**
   * ClientHello bytes go into one buffer grown by doubling: a client trickling
   * its hello a byte at a time costs O(n) copying in all, not O(n^2).
   */
  private holdHello(chunk: Buffer): void {
    const need = this.helloLength + chunk.length;
    if (this.helloBuf === undefined || need > this.helloBuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, (this.helloBuf?.length ?? 0) * 2, 2048));
      if (this.helloBuf !== undefined) this.helloBuf.copy(grown, 0, 0, this.helloLength);
      this.helloBuf = grown;
    }
    chunk.copy(this.helloBuf, this.helloLength);
    this.helloLength = need;
  }

  private readHello(): void {
    const buf = this.helloBuf!.subarray(0, this.helloLength);
    const r = readClientHello(buf);
    if (r.kind === 'need-more') return;
    if (r.kind === 'malformed') {
      this.status = 400;
      this.destroy();
      return;
    }
    this.serverName = r.serverName ?? '';
    const group = this.target.sni!.pick(r.serverName) ?? this.target.group;
    if (group === undefined) {
      this.status = 421;
      this.destroy();
      return;
    }
    // The hello goes upstream first, unchanged; bytes after it wait with it.
    this.pending = [buf];
    this.pendingBytes = buf.length;
    this.helloBuf = undefined;
    this.phase = Phase.Connecting;
    this.deadlineKind = Deadline.None;
    this.connect(group, r.serverName);
  }

  // ---- upstream side ----------------------------------------------------------

  private connect(group: UpstreamGroup, key: string | undefined): void {
    this.group = group;
    this.idleMs = group.config.timeouts.idleMs;
    this.connectStartedAt = performance.now();
    group.acquire(key, this, (err, conn, reused) => this.onAcquired(group, key, err, conn, reused));
  }

  private onAcquired(group: UpstreamGroup, key: string | undefined, err: ErrorRecord | undefined, conn: UpstreamConnection | undefined, reused: boolean): void {
    if (conn !== undefined && reused) {
      // An idle HTTP keep-alive connection (the group also serves routes): a stream needs a
      // fresh one. release(false) destroys it and never parks it again, so this ends.
      group.release(conn, false);
      group.acquire(key, this, (e, c, r) => this.onAcquired(group, key, e, c, r));
      return;
    }
    if (this.phase !== Phase.Connecting) {
      if (conn !== undefined) group.release(conn, false); // the client left meanwhile
      return;
    }
    if (err !== undefined || conn === undefined) {
      this.status = err?.status ?? 502;
      // A reset, not a FIN: the client must not mistake a failed connect for a server that closed.
      this.socket.resetAndDestroy();
      return;
    }
    this.conn = conn;
    this.status = 200;
    this.upstreamAddress = conn.host.address;
    this.upstreamConnectMs = performance.now() - this.connectStartedAt;
    this.phase = Phase.Open;
    const up = conn.socket;
    up.allowHalfOpen = true;
    if (this.pending.length > 0) {
      up.cork();
      for (const b of this.pending) up.write(b);
      up.uncork();
    }
    this.pending = [];
    this.pendingBytes = 0;
    if (this.clientEnded) up.end();
    else if (up.writableNeedDrain) this.pauseClient();
    else this.resumeClient();
    this.touch();
  }

  onUpstreamData(chunk: Buffer): void {
    try {
      this.handleUpstreamData(chunk);
    } catch (err) {
      this.internalError(err);
    }
  }

  private handleUpstreamData(chunk: Buffer): void {
    if (this.phase !== Phase.Open) return;
    if (this.upstreamFirstByteMs < 0) this.upstreamFirstByteMs = performance.now() - this.connectStartedAt;
    this.touch();
    this.bytesOut += chunk.length;
    if (!this.socket.write(chunk) && !this.upstreamPaused && this.conn !== undefined) {
      this.upstreamPaused = true;
      this.conn.socket.pause();
    }
  }

  onUpstreamDrain(): void {
    if (!this.clientEnded) this.resumeClient();
  }

  /** The upstream's FIN: the client gets ours after everything before it. */
  onUpstreamEnd(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  onUpstreamClose(error: Error | undefined): void {
    this.releaseUpstream();
    if (this.clientClosed) {
      this.finishIfDone();
      return;
    }
    if (error !== undefined || this.socket.destroyed) {
      // The upstream was reset: so is the client (a FIN would say the stream ended cleanly).
      if (!this.socket.destroyed) this.socket.resetAndDestroy();
      return;
    }
    // Closed cleanly: nothing can reach the upstream any more. The client gets what was
    // written, then its connection closes (it may not have sent its FIN yet).
    if (this.socket.writableFinished) this.socket.destroy();
    else this.socket.end(() => this.socket.destroy());
  }

  // ---- endings ----------------------------------------------------------------

  /** Gives the upstream connection back (destroyed, never pooled). Safe to call twice. */
  private releaseUpstream(): void {
    const conn = this.conn;
    if (conn === undefined) return;
    this.conn = undefined;
    this.group!.release(conn, false);
  }

  private finishIfDone(): void {
    if (!this.clientClosed || this.conn !== undefined || this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    this.deadlineKind = Deadline.None;
    this.record();
    this.owner.sessionClosed(this);
  }

  private record(): void {
    if (this.recorded || !this.owner.recordsWanted) return;
    this.recorded = true;
    this.owner.streamDone({
      time: Date.now(),
      requestId: this.owner.nextRequestId(),
      clientAddress: this.clientAddress,
      clientPort: this.clientPort,
      method: '-',
      uri: '-',
      protocol: this.target.sni !== undefined ? 'TLS' : 'TCP',
      status: this.status,
      bytesSent: this.bytesOut,
      bytesReceived: this.bytesIn,
      requestTimeMs: performance.now() - this.startedAt,
      upstreamAddress: this.upstreamAddress,
      upstreamConnectMs: this.upstreamConnectMs,
      upstreamResponseMs: this.upstreamFirstByteMs,
      route: this.target.listenerName,
      headers: [],
      tlsSni: this.serverName,
      locals: undefined,
    });
  }

  // ---- flow control and deadlines ----------------------------------------------

  private pauseClient(): void {
    if (this.clientPaused) return;
    this.clientPaused = true;
    this.socket.pause();
  }

  private resumeClient(): void {
    if (!this.clientPaused) return;
    this.clientPaused = false;
    this.socket.resume();
  }

  /** Traffic either way pushes the idle deadline (group timeouts.idleMs) out. */
  private touch(): void {
    this.setDeadline(Deadline.Idle, this.idleMs);
  }

  private setDeadline(kind: Deadline, ms: number): void {
    if (ms <= 0) {
      this.deadlineKind = Deadline.None;
      return;
    }
    this.deadlineKind = kind;
    this.deadline = Date.now() + ms;
  }
}
