/**
 * The HTTP/2 sessions of one upstream group (protocol "h2") in one worker:
 * one node:http2 ClientHttp2Session per upstream host, cleartext h2c with
 * prior knowledge or TLS with ALPN h2, carrying every request to that host
 * as a stream. The group still picks the host (balancer, health, retries);
 * this hands out stream slots on the host's session: at most the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS at once, the rest wait up to connectMs.
 * A session that got GOAWAY or closed takes no new streams; the next request
 * connects a fresh one (streams in flight on the old one finish there).
 */
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorRecord } from '../../src/kernel/errors.js';
import type { UpstreamGroupConfig } from '../../src/config/types.js';
import type { DnsCache } from './dns-cache.js';
import type { UpstreamHost } from './upstream-host.js';
import { H2StreamBridge } from './h2-stream-bridge.js';

export type StreamSlotCallback = (error: ErrorRecord | undefined, bridge: H2StreamBridge | undefined) => void;

interface SlotWaiter {
  readonly cb: StreamSlotCallback;
  readonly timer: NodeJS.Timeout;
}

/** One host's session and the requests waiting for a stream on it. */
interface HostSession {
  session: ClientHttp2Session | undefined;
  connecting: boolean;
  streams: number;
  readonly waiters: SlotWaiter[];
}

export class H2UpstreamSessions {
  private readonly byHost = new Map<UpstreamHost, HostSession>();

  /** `tlsOptions` undefined: cleartext h2c with prior knowledge. */
  constructor(private readonly groupName: string, private readonly config: UpstreamGroupConfig, private readonly dns: DnsCache, private readonly tlsOptions: tls.ConnectionOptions | undefined) {}

  /** A stream slot on `host`'s session (connecting it when needed); `cb` runs exactly once. */
  open(host: UpstreamHost, cb: StreamSlotCallback): void {
    let hs = this.byHost.get(host);
    if (hs === undefined) {
      hs = { session: undefined, connecting: false, streams: 0, waiters: [] };
      this.byHost.set(host, hs);
    }
    const s = hs.session;
    if (s !== undefined && hs.waiters.length === 0 && hs.streams < maxStreams(s)) {
      cb(undefined, this.bridge(hs, host, s));
      return;
    }
    const connectMs = this.config.timeouts.connectMs;
    const waiter: SlotWaiter = {
      cb,
      timer: setTimeout(() => {
        const i = hs.waiters.indexOf(waiter);
        if (i < 0) return;
        hs.waiters.splice(i, 1);
        cb(hs.connecting
          ? this.error(host, 'upstream.connect-timeout', 504, `connecting to ${host.address} timed out after ${connectMs} ms`)
          : this.error(host, 'upstream.pool-exhausted', 503, `no free HTTP/2 stream to ${host.address} within ${connectMs} ms`), undefined);
      }, connectMs),
    };
    hs.waiters.push(waiter);
    if (s === undefined && !hs.connecting) this.connect(hs, host);
  }

  /**
   * Reload, drain, shutdown: sessions finish their streams, then close
   * (GOAWAY). A request routed just before a reload may still open a stream
   * here afterwards: it gets a fresh session, closed by the idle timeout, as
   * a late HTTP/1.1 connect on a retired group is.
   */
  close(): void {
    for (const hs of this.byHost.values()) {
      hs.session?.close();
      hs.session = undefined;
    }
  }

  private bridge(hs: HostSession, host: UpstreamHost, s: ClientHttp2Session): H2StreamBridge {
    hs.streams++;
    return new H2StreamBridge(s, this.tlsOptions ? 'https' : 'http', host.address, () => {
      hs.streams--;
      this.serve(hs, host);
    });
  }

  /** Hands free stream slots to waiters, oldest first. */
  private serve(hs: HostSession, host: UpstreamHost): void {
    const s = hs.session;
    if (s === undefined) {
      if (hs.waiters.length > 0 && !hs.connecting) this.connect(hs, host);
      return;
    }
    while (hs.waiters.length > 0 && hs.streams < maxStreams(s)) {
      const w = hs.waiters.shift()!;
      clearTimeout(w.timer);
      w.cb(undefined, this.bridge(hs, host, s));
    }
  }

  private failWaiters(hs: HostSession, err: ErrorRecord): void {
    for (const w of hs.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.cb(err, undefined);
    }
  }

  private connect(hs: HostSession, host: UpstreamHost): void {
    hs.connecting = true;
    const timeouts = this.config.timeouts;
    this.dns.resolve(host.hostname, timeouts.resolveMs, (dnsErr, ip) => {
      if (dnsErr) {
        hs.connecting = false;
        this.failWaiters(hs, this.error(host, 'upstream.resolve-failed', 502, `cannot resolve ${host.hostname}: ${dnsErr.message}`));
        return;
      }
      host.connectsTotal++;
      const o = this.tlsOptions;
      const socket = o
        ? tls.connect({ ...o, host: ip, port: host.port, servername: o.servername ?? (net.isIP(host.hostname) ? undefined : host.hostname) })
        : net.connect({ host: ip, port: host.port, noDelay: true });
      // No server push: a proxy has no use for pushed streams (and each would hold memory).
      const session = http2.connect(`${o ? 'https' : 'http'}://${host.address}`, { createConnection: () => socket, settings: { enablePush: false } });
      let settled = false;
      const fail = (err: ErrorRecord): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        hs.connecting = false;
        session.destroy();
        this.failWaiters(hs, err);
      };
      const timer = setTimeout(() => fail(this.error(host, 'upstream.connect-timeout', 504, `connecting to ${host.address} timed out after ${timeouts.connectMs} ms`)), timeouts.connectMs);
      session.on('error', (err: NodeJS.ErrnoException) => fail(this.error(host, 'upstream.connect-failed', 502, `cannot connect to ${host.address}: ${err.code ?? err.message}`)));
      session.once('connect', () => {
        if (settled) return;
        if (o && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
          fail(this.error(host, 'upstream.connect-failed', 502, `${host.address} did not accept HTTP/2 (ALPN h2) over TLS`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        hs.connecting = false;
        hs.session = session;
        socket.setNoDelay(true);
        // An idle session is closed like an idle keep-alive connection.
        if (this.config.pool.idleTimeoutMs > 0) session.setTimeout(this.config.pool.idleTimeoutMs, () => { if (hs.streams === 0) session.close(); });
        this.serve(hs, host);
      });
      // The peer may lower (or raise) its stream limit at any time.
      session.on('remoteSettings', () => { if (hs.session === session) this.serve(hs, host); });
      const retire = (): void => {
        if (hs.session !== session) return;
        hs.session = undefined;
        this.serve(hs, host); // waiters get a fresh session
      };
      session.on('goaway', retire);
      session.on('close', retire);
    });
  }

  private error(host: UpstreamHost, code: string, status: number, message: string): ErrorRecord {
    return { code, status, message, retryable: true, source: `upstream:${this.groupName}`, context: { upstream: host.address } };
  }
}

/** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (nghttp2 reports "unlimited" until SETTINGS arrive). */
function maxStreams(s: ClientHttp2Session): number {
  return s.remoteSettings.maxConcurrentStreams ?? 100;
}
