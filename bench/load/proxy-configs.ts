// Config files of the native subjects, as users would write them for a
// one-core reverse proxy with pooled upstream connections. Tuning beyond the
// defaults is limited to what keeps each proxy off the disk and out of
// needless reconnects, and is listed in bench/load/README.md.

import { join } from 'node:path';
import { LOOPBACK } from './free-port.js';
import { nginxTempPaths, nginxUserLine } from './upstream.js';

export interface ProxyTarget {
  /** Folder for this instance's config, pid and temp files. */
  dir: string;
  listenPort: number;
  upstreamPort: number;
  /** TLS+h2 listener: certificate and key paths. */
  tls: { certFile: string; keyFile: string; pemFile: string } | null;
  /** nginx >= 1.25.1 wants `http2 on;`, older ones `listen ... http2`. */
  nginxHttp2Directive?: boolean;
}

export function nginxProxyConfig(t: ProxyTarget): string {
  const tlsListen = t.tls === null ? '' : t.nginxHttp2Directive === true ? ' ssl' : ' ssl http2';
  const tlsLines =
    t.tls === null
      ? ''
      : `    ssl_certificate ${t.tls.certFile};
    ssl_certificate_key ${t.tls.keyFile};
${t.nginxHttp2Directive === true ? '    http2 on;\n' : ''}`;
  return `${nginxUserLine()}worker_processes 1;
daemon off;
master_process on;
pid ${join(t.dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 120s;
  # nginx closes a client connection after 1000 requests by default; the
  # Node peers and HAProxy do not, so the limit is lifted for a fair compare.
  keepalive_requests 10000000;
  # Keep 64 KiB request bodies in memory instead of a temp file.
  client_body_buffer_size 128k;
${nginxTempPaths(t.dir)}
  # Connection "" for plain requests (keeps the upstream connection pooled),
  # "upgrade" for WebSocket handshakes.
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream origin {
    server ${LOOPBACK}:${t.upstreamPort};
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen ${LOOPBACK}:${t.listenPort}${tlsListen};
${tlsLines}    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Upgrade $http_upgrade;
      # Buffer 1 MiB responses in memory only: with the default temp file
      # nginx would write part of each response to disk.
      proxy_buffers 16 16k;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}

export function haproxyConfig(t: ProxyTarget): string {
  const bind = t.tls === null ? `${LOOPBACK}:${t.listenPort}` : `${LOOPBACK}:${t.listenPort} ssl crt ${t.tls.pemFile} alpn h2,http/1.1`;
  return `global
  nbthread 1
  maxconn 4096
  pidfile ${join(t.dir, 'haproxy.pid')}

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 120s
  # WebSocket connections become tunnels after the upgrade.
  timeout tunnel 1h

frontend fe
  bind ${bind}
  default_backend origin

backend origin
  http-reuse always
  server origin ${LOOPBACK}:${t.upstreamPort}
`;
}

/**
 * The zproxy config shape the lead specified (CLI: start -c FILE --workers=1).
 * `middleware`: definitions by name, all put on the one route in that order.
 */
export function zproxyConfig(
  t: ProxyTarget,
  server: Record<string, unknown> = {},
  accessLogPath?: string,
  middleware: Record<string, Record<string, unknown>> = {},
): string {
  const names = Object.keys(middleware);
  const config = {
    server: { workers: 1, pinning: false, ...server },
    // TLS + h2 (the h2 scenario): ALPN offers h2 and http/1.1, like the nginx and HAProxy configs.
    listeners: [t.tls === null
      ? { name: 'http', address: LOOPBACK, port: t.listenPort }
      : { name: 'https', address: LOOPBACK, port: t.listenPort, protocols: ['h2', 'http1'], tls: { certificates: [{ serverNames: ['localhost'], certFile: t.tls.certFile, keyFile: t.tls.keyFile }] } }],
    upstreams: { origin: { hosts: [`${LOOPBACK}:${t.upstreamPort}`], pool: { maxIdle: 256 } } },
    ...(names.length === 0 ? {} : { middleware }),
    routes: [{ path: '/*', upstream: 'origin', ...(names.length === 0 ? {} : { middleware: names }) }],
    logging: { access: accessLogPath === undefined ? { enabled: false } : { enabled: true, path: accessLogPath } },
    admin: { enabled: false },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
