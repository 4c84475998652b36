import type net from 'node:net';
import type { UpstreamHost } from './upstream-host.js';

/** Receives the events of the upstream connection it currently holds. */
export interface UpstreamConnectionOwner {
  onUpstreamData(chunk: Buffer): void;
  /** The upstream half-closed (FIN) or closed; `error` is set for a reset or a local error. */
  onUpstreamClose(error: Error | undefined): void;
  onUpstreamDrain(): void;
  /**
   * The upstream half-closed (FIN) while this owner holds the connection.
   * Absent (HTTP exchanges): a FIN closes the connection (onUpstreamClose).
   * Present (stream sessions, actors/session-stream/): the socket stays open
   * for writing; the owner ends or destroys it and 'close' follows.
   */
  onUpstreamEnd?(): void;
}

/**
 * One TCP (or TLS) connection to an upstream host. Socket listeners are
 * attached once for the connection's life and forward to whichever exchange
 * holds it now, so a pooled reuse costs no listener churn. While idle in the
 * pool, any byte or close from the upstream makes the connection unusable.
 */
export class UpstreamConnection {
  owner: UpstreamConnectionOwner | undefined;
  /** Requests carried so far; > 0 on acquire means a reused connection. */
  requests = 0;
  idleSince = 0;
  closed = false;

  constructor(readonly socket: net.Socket, readonly host: UpstreamHost, private readonly onIdleClose: (c: UpstreamConnection) => void) {
    socket.on('data', (chunk: Buffer) => {
      if (this.owner) this.owner.onUpstreamData(chunk);
      else this.destroy(); // bytes while idle: the upstream broke framing or sent a 408; never reuse
    });
    socket.on('end', () => {
      if (this.owner?.onUpstreamEnd) this.owner.onUpstreamEnd();
      else this.handleClose(undefined);
    });
    socket.on('close', () => this.handleClose(undefined));
    socket.on('error', (err) => this.handleClose(err));
    socket.on('drain', () => this.owner?.onUpstreamDrain());
  }

  /**
   * Parks the connection in its host's idle list. The idle timeout is
   * enforced by the group's sweep (UpstreamGroup), not a timer per park: a
   * timer per request showed up in profiles as timer-list inserts.
   */
  park(): void {
    this.owner = undefined;
    this.idleSince = Date.now();
  }

  /** Takes the connection out of the idle list for one exchange. */
  claim(owner: UpstreamConnectionOwner): void {
    this.owner = owner;
    this.requests++;
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.handleClose(undefined);
  }

  private handleClose(error: Error | undefined): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    if (!this.socket.destroyed) this.socket.destroy();
    const owner = this.owner;
    this.owner = undefined;
    if (owner) owner.onUpstreamClose(error);
    else this.onIdleClose(this);
  }
}
