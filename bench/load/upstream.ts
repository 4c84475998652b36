// The origin every subject forwards to. nginx serving files is the fastest
// fair origin on this machine: the proxy, not the origin, must be the
// bottleneck. Without nginx a node:http origin is used (and named in the
// output). The WebSocket scenario always uses the Node origin with a ws echo,
// because nginx cannot echo frames.
//
// POST /post on nginx: `return 200 "ok"` is safe for a 64 KiB body: nginx's
// ngx_http_send_response() discards (reads and drops) the request body before
// it reuses the connection; checked with curl sending two 64 KiB POSTs on one
// kept-alive connection and with wrk (zero errors).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ORIGIN_BODIES, POST_REPLY, originBody } from './body-sizes.js';
import { findBinary, nginxVersion } from './binaries.js';
import { LOOPBACK, freePort } from './free-port.js';
import { spawnTracked, type TrackedProcess } from './process-group.js';
import { waitUntilServing } from './readiness.js';

export interface Upstream {
  kind: 'nginx' | 'node';
  port: number;
  /** One line for the report: what served the bytes. */
  description: string;
  proc: TrackedProcess;
}

export interface UpstreamContext {
  tempDir: string;
  /** CPU list shared with the load generator, or null when unpinned. */
  cpus: string | null;
  /** Folder of the compiled harness (dist/bench/load). */
  scriptDir: string;
}

/** Directives nginx would otherwise point at /var/lib/nginx; one set per instance. */
export function nginxTempPaths(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`)
    .join('\n');
}

/** As root nginx's workers would run as nobody and could not read the 0700 temp dir. */
export function nginxUserLine(): string {
  return process.getuid?.() === 0 ? 'user root;\n' : '';
}

export function nginxOriginConfig(dir: string, port: number): string {
  return `${nginxUserLine()}worker_processes 1;
daemon off;
master_process on;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16;
  default_type application/octet-stream;
  # Proxies pool connections to the origin: never make them reconnect mid-run
  # (nginx closes a connection after 1000 requests by default).
  keepalive_timeout 120s;
  keepalive_requests 10000000;
${nginxTempPaths(dir)}
  server {
    listen ${LOOPBACK}:${port};
    root ${join(dir, 'www')};
    location = /post { return 200 "${POST_REPLY}"; }
  }
}
`;
}

function writeBodies(dir: string): void {
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  for (const { path, sizeBytes } of ORIGIN_BODIES) writeFileSync(join(www, path.slice(1)), originBody(sizeBytes));
}

async function startNginxOrigin(ctx: UpstreamContext): Promise<Upstream> {
  const dir = join(ctx.tempDir, 'origin-nginx');
  mkdirSync(dir, { recursive: true });
  writeBodies(dir);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxOriginConfig(dir, port));
  const proc = spawnTracked({ name: 'origin nginx', command: 'nginx', args: ['-p', dir, '-c', conf, '-e', 'stderr'], cpus: ctx.cpus });
  await waitUntilServing(proc, { port, path: '/small', h2: false, expectBytes: 100 }, 10_000);
  return { kind: 'nginx', port, description: `nginx ${nginxVersion() ?? '?'} serving files (1 worker, sendfile, keep-alive)`, proc };
}

export async function startNodeOrigin(ctx: UpstreamContext, withWs: boolean): Promise<Upstream> {
  const port = await freePort();
  const args = [join(ctx.scriptDir, 'node-origin.js'), '--port', String(port)];
  if (withWs) args.push('--ws');
  const proc = spawnTracked({ name: withWs ? 'origin node+ws' : 'origin node', command: process.execPath, args, cpus: ctx.cpus });
  await waitUntilServing(proc, { port, path: '/small', h2: false, expectBytes: 100 }, 10_000);
  const what = withWs ? 'node:http + ws echo' : 'node:http serving buffers';
  return { kind: 'node', port, description: `${what} (Node ${process.version})`, proc };
}

/** nginx when installed, else the Node origin. */
export async function startHttpOrigin(ctx: UpstreamContext): Promise<Upstream> {
  if (findBinary('nginx') !== null) return startNginxOrigin(ctx);
  return startNodeOrigin(ctx, false);
}
