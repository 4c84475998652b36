/**
 * The HTTP/1.1 session actor of one worker: owns every Http1Session on the
 * thread, the current ProxySnapshot, and the deadline sweeper. Socket events
 * drive the sessions directly (I/O is this actor's other inbox); control
 * messages (reload, drain) arrive through the mailbox.
 * Takes: session.swap-snapshot, session.drain. Sends: access records to the logger sink.
 */
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { AccessRecord } from './access-record.js';
import { Http1Session, type SessionOwner } from './http1-session.js';
import type { ProxySnapshot } from './proxy-snapshot.js';

export type SessionMessage =
  | { readonly kind: 'session.swap-snapshot'; readonly snapshot: ProxySnapshot }
  | { readonly kind: 'session.drain' };

/** Deadline resolution: timeouts are seconds long, a 100 ms sweep keeps them within 10%. */
const SWEEP_MS = 100;

export interface SessionStats {
  connections: number;
  connectionsTotal: number;
  requestsTotal: number;
  /** Exceptions that escaped the session's own code (each answered 500 and closed): should stay 0. */
  internalErrors: number;
}

export class SessionActor implements Actor<SessionMessage>, SessionOwner {
  private current: ProxySnapshot;
  private readonly sessions = new Set<Http1Session>();
  private readonly sweeper: NodeJS.Timeout;
  private requestCounter = 0;
  private idCounter = 0;
  private internalErrors = 0;
  private connectionsTotal = 0;
  draining = false;
  /** Set when the drain's lame-duck window (timeouts.drainIdleMs) is over: idle connections close. */
  closingIdle = false;
  private idleCloseTimer: NodeJS.Timeout | undefined;
  private idleCloseAtMs = Number.POSITIVE_INFINITY;
  private drainWaiters: Array<() => void> = [];

  /**
   * `shedding`: the worker's overload verdict, asked once per request
   * (true: answer 503); it counts what it refuses.
   */
  constructor(snapshot: ProxySnapshot, private readonly requestIdPrefix: string, readonly accessLogEnabled: boolean, private readonly sink: (r: AccessRecord) => void, private readonly shedding: () => boolean = () => false) {
    this.current = snapshot;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions) s.checkDeadline(now);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  receive(msg: SessionMessage, _ctx: ActorContext): void {
    switch (msg.kind) {
      case 'session.swap-snapshot':
        this.current = msg.snapshot;
        return;
      case 'session.drain':
        this.startDrain();
        return;
    }
  }

  terminate(_reason: ErrorRecord | undefined): void {
    clearInterval(this.sweeper);
    clearTimeout(this.idleCloseTimer);
    for (const s of this.sessions) s.destroy();
  }

  /** A detected HTTP/1.x connection: `first` holds the bytes the detector read. */
  accept(socket: import('node:net').Socket, first: Buffer | undefined, tls: boolean): void {
    this.connectionsTotal++;
    const s = new Http1Session(socket, this, socket.remoteAddress ?? '-', socket.remotePort ?? 0, tls, first);
    if (!s.closed) this.sessions.add(s);
    if (this.closingIdle) s.closeWhenIdle();
  }

  /** Stops keep-alive everywhere; resolves when every session has closed or after deadlineMs. */
  drain(deadlineMs: number): Promise<void> {
    this.startDrain(deadlineMs);
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.sessions) s.destroy();
        resolve();
      }, deadlineMs);
      this.drainWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /**
   * Rebalancing: asks up to `count` connections to go, idle ones first (they
   * close now); busy ones close after their response. Returns how many were asked.
   */
  closeSome(count: number): number {
    let asked = 0;
    for (const s of this.sessions) {
      if (asked >= count) return asked;
      if (s.idle) {
        s.closeSoon();
        asked++;
      }
    }
    for (const s of this.sessions) {
      if (asked >= count) return asked;
      if (!s.idle && !s.closed) {
        s.closeSoon();
        asked++;
      }
    }
    return asked;
  }

  stats(): SessionStats {
    return { connections: this.sessions.size, connectionsTotal: this.connectionsTotal, requestsTotal: this.requestCounter, internalErrors: this.internalErrors };
  }

  // ---- SessionOwner ----

  snapshot(): ProxySnapshot {
    return this.current;
  }

  nextRequestId(): string {
    return this.requestIdPrefix + (++this.idCounter).toString(36);
  }

  requestStarted(): void {
    this.requestCounter++;
  }

  overloaded(): boolean {
    return this.shedding();
  }

  sessionClosed(session: Http1Session): void {
    this.sessions.delete(session);
    if (this.draining && this.sessions.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  internalError(err: unknown, requestId: string): void {
    this.internalErrors++;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.emitWarning(`internal error while handling request ${requestId || '(none)'}: ${message}`, { code: 'ZPROXY_INTERNAL' });
  }

  exchangeDone(record: AccessRecord): void {
    this.sink(record);
  }

  /**
   * From now on every response carries connection: close. Idle keep-alive
   * connections are closed only after the lame-duck window (drainIdleMs,
   * at most the drain's deadline): a client may be writing its next request
   * on one right now, and closing under it would answer that request with a
   * reset (the client cannot tell whether it was handled). In the window
   * such a request is served and its connection closed after the response.
   */
  private startDrain(deadlineMs = Number.POSITIVE_INFINITY): void {
    if (this.closingIdle) return;
    const now = Date.now();
    // A second call (the mailbox's drain, then drain() with its deadline) can only bring the close forward.
    const at = Math.min(this.draining ? this.idleCloseAtMs : now + this.current.timeouts.drainIdleMs, now + deadlineMs);
    this.draining = true;
    if (at <= now) return this.closeIdle();
    if (at === this.idleCloseAtMs) return;
    this.idleCloseAtMs = at;
    clearTimeout(this.idleCloseTimer);
    this.idleCloseTimer = setTimeout(() => this.closeIdle(), at - now);
    this.idleCloseTimer.unref();
  }

  private closeIdle(): void {
    this.closingIdle = true;
    for (const s of this.sessions) s.closeWhenIdle();
  }
}
