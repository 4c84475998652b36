// The zproxy config under soak: every listener kind at once, in front of
// local origins. Access logging is on (to /dev/null) so the logger thread and
// its rings run as in production without filling a disk; the admin API is on
// so the harness can read /stats.

import { LOOPBACK } from '../load/free-port.js';
import type { TlsFiles } from '../load/tls-cert.js';

export interface SoakPorts {
  http: number;
  https: number;
  tcp: number;
  admin: number;
  /** Origins. */
  httpOrigin: number;
  wsOrigin: number;
  echoOrigin: number;
}

/** The WebSocket route's path (the ws origin echoes on any path). */
export const WS_PATH = '/ws';

export function soakConfig(ports: SoakPorts, tls: TlsFiles, workers: number): Record<string, unknown> {
  return {
    // The heap threshold never trips (1 GiB); it turns on the overload monitor, whose
    // per-worker V8 heap sample /stats reports: RSS alone cannot tell heap from native memory.
    // Client idle timeout 20 s (default 60): a client that vanishes without closing (h2load ends runs
    // with GOAWAY and a close while streams are in flight; see H2SessionActor.checkSessions) leaves a
    // session that only the idle timeout reclaims, and the verdict's settle window is 60 s.
    server: { workers, pinning: false, overload: { maxHeapUsedBytes: 1024 ** 3 }, timeouts: { clientIdleMs: 20_000 } },
    listeners: [
      { name: 'http', address: LOOPBACK, port: ports.http, protocols: ['http1'] },
      {
        name: 'https', address: LOOPBACK, port: ports.https, protocols: ['h2', 'http1'],
        tls: { certificates: [{ serverNames: ['localhost'], certFile: tls.certFile, keyFile: tls.keyFile }] },
      },
      { name: 'tcp', address: LOOPBACK, port: ports.tcp, mode: 'stream', upstream: 'echo' },
    ],
    upstreams: {
      origin: { hosts: [`${LOOPBACK}:${ports.httpOrigin}`], pool: { maxIdle: 64 } },
      ws: { hosts: [`${LOOPBACK}:${ports.wsOrigin}`] },
      echo: { hosts: [`${LOOPBACK}:${ports.echoOrigin}`] },
    },
    routes: [
      { name: 'ws', path: WS_PATH, upstream: 'ws' },
      { name: 'all', path: '/*', upstream: 'origin' },
    ],
    logging: { level: 'warn', access: { enabled: true, path: '/dev/null' } },
    admin: { enabled: true, address: LOOPBACK, port: ports.admin },
    demo: { enabled: false },
  };
}
