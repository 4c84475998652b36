/**
 * One active health probe of one upstream host: an HTTP GET of the check's
 * path expecting its status, or, without a path, a TCP (or TLS) connect.
 * Every probe opens a fresh connection (agent: false), so it tests what a
 * new upstream connection would meet, and never reuses a pooled socket.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { HealthCheckConfig, UpstreamTlsConfig } from '../../src/config/types.js';

export interface ProbeTarget {
  readonly hostname: string;
  readonly port: number;
  /** "host:port" as configured, sent as the Host header. */
  readonly address: string;
  readonly tls: UpstreamTlsConfig | undefined;
}

export interface ProbeOutcome {
  readonly ok: boolean;
  /** What was seen: "200", "connected", "ECONNREFUSED", "timed out after 2000 ms", "503 (want 200)". */
  readonly detail: string;
  readonly durationMs: number;
}

function tlsOptions(t: UpstreamTlsConfig, hostname: string): tls.ConnectionOptions {
  return {
    rejectUnauthorized: !t.insecure,
    ...(t.caFile ? { ca: fs.readFileSync(t.caFile) } : {}),
    ...(t.certFile ? { cert: fs.readFileSync(t.certFile) } : {}),
    ...(t.keyFile ? { key: fs.readFileSync(t.keyFile) } : {}),
    servername: t.servername ?? (net.isIP(hostname) ? undefined : hostname),
  };
}

/** Runs one probe; `done` is called exactly once, at the latest after check.timeoutMs. */
export function runProbe(target: ProbeTarget, check: HealthCheckConfig, done: (outcome: ProbeOutcome) => void): void {
  const t0 = performance.now();
  let finished = false;
  const finish = (ok: boolean, detail: string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done({ ok, detail, durationMs: performance.now() - t0 });
  };
  const secure = target.tls?.enabled === true ? target.tls : undefined;
  let destroy: () => void = () => {};
  const timer = setTimeout(() => {
    finish(false, `timed out after ${check.timeoutMs} ms`);
    destroy();
  }, check.timeoutMs);
  timer.unref();
  const failed = (err: NodeJS.ErrnoException): void => finish(false, err.code ?? err.message);

  if (check.path === undefined) {
    const socket = secure
      ? tls.connect({ host: target.hostname, port: target.port, ...tlsOptions(secure, target.hostname) })
      : net.connect({ host: target.hostname, port: target.port });
    destroy = () => socket.destroy();
    socket.once('error', failed);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      finish(true, 'connected');
      socket.destroy();
    });
    return;
  }

  const options: http.RequestOptions = {
    host: target.hostname,
    port: target.port,
    path: check.path,
    method: 'GET',
    agent: false,
    headers: { host: target.address, 'user-agent': 'zproxy-health-check', connection: 'close' },
  };
  const req = secure ? https.request({ ...options, ...tlsOptions(secure, target.hostname) }) : http.request(options);
  destroy = () => req.destroy();
  req.once('error', failed);
  req.once('response', (res) => {
    const status = res.statusCode ?? 0;
    // The body is not looked at; drain it so the socket closes cleanly.
    res.resume();
    res.once('error', () => {});
    finish(status === check.expectStatus, status === check.expectStatus ? String(status) : `${status} (want ${check.expectStatus})`);
    req.destroy();
  });
  req.end();
}
