/**
 * The HTTP/2 session actor of one worker: owns every downstream HTTP/2
 * connection on the thread (h2 over TLS after ALPN, h2c with prior
 * knowledge), the current ProxySnapshot and the deadline sweep of their
 * streams (H2Exchange). nghttp2 (node:http2) does framing, HPACK, flow
 * control and the flood defences; the limits it enforces are set here.
 * Takes: session-h2.swap-snapshot, session-h2.drain. Sends: access records to the app's sink.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { AccessRecord } from '../session-http1/access-record.js';
import type { ProxySnapshot } from '../session-http1/proxy-snapshot.js';
import { H2Exchange, type H2ExchangeOwner } from './h2-exchange.js';
import type { LimitsConfig } from '../../src/config/types.js';

export type H2SessionMessage =
  | { readonly kind: 'session-h2.swap-snapshot'; readonly snapshot: ProxySnapshot }
  | { readonly kind: 'session-h2.drain' };

/** Deadline resolution, as the HTTP/1.1 sessions: timeouts are seconds long. */
const SWEEP_MS = 100;
/** Sessions are checked every this many sweeps (1 s): see checkSessions. */
const SESSION_CHECK_EVERY = 10;
/** A closing session with none of our exchanges left is destroyed this long after it began to close. */
const CLOSING_GRACE_MS = 5000;
/**
 * SETTINGS_MAX_CONCURRENT_STREAMS we announce: nginx's default
 * (http2_max_concurrent_streams 128); RFC 9113 6.5.2 recommends at least 100.
 */
export const MAX_CONCURRENT_STREAMS = 128;
/**
 * Rapid reset (CVE-2023-44487): streams a client may reset in a burst, then
 * per second, before the session ends with GOAWAY ENHANCE_YOUR_CALM.
 * nghttp2's own defaults (1000 burst, 33/s) are kept on the rate; the burst
 * is lowered so a flood is cut after a few hundred streams, not a thousand.
 * Node >= 22.9 applies them in nghttp2 (streamResetBurst/Rate); on Node 20
 * those options are ignored (nghttp2 keeps 1000/33 and answers GOAWAY
 * INTERNAL_ERROR without closing), so the same budget is also kept here as a
 * token bucket per session that closes the connection.
 */
const STREAM_RESET_BURST = 200;
const STREAM_RESET_RATE = 33;
/** Streams refused (over the limit, bad headers) before the session is closed: Node's default 100, kept. */
const MAX_REJECTED_STREAMS = 100;
/** Invalid frames tolerated per session before GOAWAY (Node's default is 1000). */
const MAX_INVALID_FRAMES = 100;

export interface H2SessionStats {
  h2Sessions: number;
  h2SessionsTotal: number;
  h2Streams: number;
  h2StreamsTotal: number;
  h2RapidResetSessions: number;
  /** Closing sessions the proxy had to destroy because node:http2 never closed them (checkSessions). */
  h2ClosingSessionsDestroyed: number;
}

interface SessionEntry {
  readonly generation: number;
  /** Rapid-reset budget: tokens left, refilled at STREAM_RESET_RATE per second up to the burst. */
  resetTokens: number;
  resetRefilledAt: number;
  /** Our exchanges on this session not yet done. */
  exchanges: number;
  /** When the session was first seen closing (GOAWAY sent or received) with no exchange of ours left; 0 before. */
  idleClosingSince: number;
}

export class H2SessionActor implements Actor<H2SessionMessage>, H2ExchangeOwner {
  private current: ProxySnapshot;
  private readonly server: http2.Http2Server;
  private readonly sessions = new Map<http2.ServerHttp2Session, SessionEntry>();
  private readonly exchanges = new Set<H2Exchange>();
  private readonly sweeper: NodeJS.Timeout;
  private idCounter = 0;
  private sessionsTotal = 0;
  /** Sessions closed for resetting streams faster than the budget allows. */
  private rapidResetSessions = 0;
  /** Closing sessions destroyed by checkSessions (node never closed them): should stay 0. */
  private closingSessionsDestroyed = 0;
  private streamsTotal = 0;
  private draining = false;
  private drainWaiters: Array<() => void> = [];

  /** `shedding`: as SessionActor's, asked once per stream. */
  constructor(snapshot: ProxySnapshot, limits: LimitsConfig, idleTimeoutMs: number, private readonly requestIdPrefix: string, readonly recordsWanted: boolean, private readonly sink: (r: AccessRecord) => void, private readonly shedding: () => boolean = () => false) {
    this.current = snapshot;
    // Header list size as nghttp2 counts it (RFC 9113 6.5.2: name + value + 32 per field): the
    // HTTP/1.1 head limit plus the per-field overhead, so both protocols admit the same requests.
    const maxHeaderListSize = limits.maxHeaderBytes + 32 * limits.maxHeaderCount;
    // maxOutstandingSettings (node's default 10) is left as is: it is not in @types/node's ServerOptions.
    const options: http2.ServerOptions & { streamResetBurst?: number; streamResetRate?: number } = {
      // enableConnectProtocol: WebSocket over HTTP/2 (RFC 8441 extended CONNECT), see h2-websocket-tunnel.ts.
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize, enablePush: false, enableConnectProtocol: true },
      // Pseudo-headers count as pairs too (4 on a request).
      maxHeaderListPairs: limits.maxHeaderCount + 4,
      maxSessionRejectedStreams: MAX_REJECTED_STREAMS,
      maxSessionInvalidFrames: MAX_INVALID_FRAMES,
      // We send no PINGs and one SETTINGS: these bound what we wait on, not what a client floods.
      // A PING/SETTINGS flood is cut by nghttp2's outbound-ACK limit (1000 queued ACKs: ERR_FLOODED)
      // and Node's maxSessionMemory (10 MB default), both ending the session.
      maxOutstandingPings: 10,
      streamResetBurst: STREAM_RESET_BURST,
      streamResetRate: STREAM_RESET_RATE,
    };
    this.server = http2.createServer(options);
    this.server.on('session', (session: http2.ServerHttp2Session) => this.onSession(session, idleTimeoutMs));
    let sweeps = 0;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const e of this.exchanges) e.checkDeadline(now);
      if (++sweeps % SESSION_CHECK_EVERY === 0) this.checkSessions(now);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  receive(msg: H2SessionMessage, _ctx: ActorContext): void {
    switch (msg.kind) {
      case 'session-h2.swap-snapshot':
        this.current = msg.snapshot;
        // Sessions opened on an older config are asked to go (GOAWAY, streams in flight finish):
        // the client reconnects and gets the new certificates and limits.
        for (const [s, entry] of this.sessions) if (entry.generation !== msg.snapshot.generation) this.goAway(s);
        return;
      case 'session-h2.drain':
        this.startDrain();
        return;
    }
  }

  terminate(_reason: ErrorRecord | undefined): void {
    clearInterval(this.sweeper);
    for (const e of this.exchanges) e.destroy();
    for (const s of this.sessions.keys()) s.destroy();
  }

  /** A connection that speaks HTTP/2: after ALPN h2 (a TLSSocket), or h2c with its preface (`first`) already read. */
  accept(socket: net.Socket, first: Buffer | undefined): void {
    if (first !== undefined) {
      socket.pause();
      socket.unshift(first);
    }
    this.server.emit('connection', socket);
  }

  /** GOAWAY to every session; resolves when all have closed or after deadlineMs (then destroyed). */
  drain(deadlineMs: number): Promise<void> {
    this.startDrain();
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const e of this.exchanges) e.destroy();
        for (const s of this.sessions.keys()) s.destroy();
        resolve();
      }, deadlineMs);
      this.drainWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Rebalancing: GOAWAY to up to `count` sessions (their streams in flight finish). Returns how many. */
  closeSome(count: number): number {
    let asked = 0;
    for (const s of this.sessions.keys()) {
      if (asked >= count) break;
      if (s.closed || s.destroyed) continue;
      this.goAway(s);
      asked++;
    }
    return asked;
  }

  stats(): H2SessionStats {
    return { h2Sessions: this.sessions.size, h2SessionsTotal: this.sessionsTotal, h2Streams: this.exchanges.size, h2StreamsTotal: this.streamsTotal, h2RapidResetSessions: this.rapidResetSessions, h2ClosingSessionsDestroyed: this.closingSessionsDestroyed };
  }

  // ---- H2ExchangeOwner ----

  snapshot(): ProxySnapshot {
    return this.current;
  }

  nextRequestId(): string {
    return this.requestIdPrefix + (++this.idCounter).toString(36);
  }

  exchangeDone(exchange: H2Exchange, record: AccessRecord | undefined): void {
    if (this.exchanges.delete(exchange)) {
      const entry = this.sessions.get(exchange.session);
      if (entry !== undefined) entry.exchanges--;
    }
    if (record !== undefined) this.sink(record);
  }

  // ---- sessions ----

  private onSession(session: http2.ServerHttp2Session, idleTimeoutMs: number): void {
    this.sessionsTotal++;
    this.sessions.set(session, { generation: this.current.generation, resetTokens: STREAM_RESET_BURST, resetRefilledAt: Date.now(), exchanges: 0, idleClosingSince: 0 });
    // A connection with no frames for the client idle timeout is closed (GOAWAY, then close).
    session.setTimeout(idleTimeoutMs, () => this.goAway(session));
    session.on('error', () => { /* 'close' follows */ });
    session.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.onStream(session, stream, headers, rawHeaders));
    session.once('close', () => this.forget(session));
    if (this.draining) this.goAway(session);
  }

  private onStream(session: http2.ServerHttp2Session, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    this.streamsTotal++;
    if (this.shedding()) return shedStream(stream);
    const socket = session.socket;
    const tls = socket !== undefined && (socket as { encrypted?: boolean }).encrypted === true;
    const exchange = new H2Exchange(this, session, stream, headers, rawHeaders, { address: socket?.remoteAddress ?? '-', port: socket?.remotePort ?? 0, tls });
    this.exchanges.add(exchange);
    const entry = this.sessions.get(session);
    if (entry !== undefined) entry.exchanges++;
    try {
      exchange.start();
    } catch (err) {
      process.emitWarning(`internal error on an HTTP/2 stream: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { code: 'ZPROXY_INTERNAL' });
      exchange.destroy();
    }
  }

  /** A stream closed before we finished answering it spends the session's reset budget. */
  streamReset(session: http2.ServerHttp2Session): void {
    const entry = this.sessions.get(session);
    if (entry === undefined || session.destroyed) return;
    const now = Date.now();
    entry.resetTokens = Math.min(STREAM_RESET_BURST, entry.resetTokens + ((now - entry.resetRefilledAt) * STREAM_RESET_RATE) / 1000);
    entry.resetRefilledAt = now;
    if (--entry.resetTokens >= 0) return;
    this.rapidResetSessions++;
    if (!session.destroyed) {
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    }
  }

  /**
   * The safety net under node:http2's own session lifecycle. Seen in a
   * 30-minute soak: 3 of ~480 h2load connections (which end with GOAWAY and
   * a close while streams are in flight) left a session that never emitted
   * 'close', its socket open in CLOSE_WAIT, for the rest of the run; node
   * had stopped reading the socket, so the client's FIN was never seen. A
   * session that is closing (a GOAWAY either way) and has none of our
   * exchanges left has nothing more to deliver: after CLOSING_GRACE_MS it is
   * destroyed. So is a session whose socket is already gone.
   */
  private checkSessions(now: number): void {
    for (const [session, entry] of this.sessions) {
      if (session.destroyed) {
        this.forget(session);
        continue;
      }
      const socket = session.socket as net.Socket | undefined;
      if (socket === undefined || socket.destroyed) {
        session.destroy();
        continue;
      }
      if (!session.closed || entry.exchanges > 0) {
        entry.idleClosingSince = 0;
        continue;
      }
      if (entry.idleClosingSince === 0) entry.idleClosingSince = now;
      else if (now - entry.idleClosingSince >= CLOSING_GRACE_MS) {
        this.closingSessionsDestroyed++;
        session.destroy();
      }
    }
  }

  private forget(session: http2.ServerHttp2Session): void {
    if (!this.sessions.delete(session)) return;
    if (this.draining && this.sessions.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** GOAWAY (NO_ERROR) and a graceful close: streams in flight finish, no new ones start. */
  private goAway(session: http2.ServerHttp2Session): void {
    if (session.closed || session.destroyed) return;
    session.close();
  }

  private startDrain(): void {
    this.draining = true;
    for (const s of this.sessions.keys()) this.goAway(s);
  }
}

const SHED_BODY = '503 Service Unavailable: the proxy is overloaded, retry later\n';

/** Overload (server.overload): the stream is answered 503 at once; the session stays. */
function shedStream(stream: http2.ServerHttp2Stream): void {
  stream.on('error', () => { /* the client may have reset it already */ });
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ':status': 503, 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(SHED_BODY) });
  stream.end(SHED_BODY);
}
