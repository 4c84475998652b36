/**
 * Origins and config documents for the CLI tests: small node:http upstreams
 * that say who they are, and a config with two workers, no pinning, an
 * admin listener, all on free ports of 127.0.0.1.
 */
import http from 'node:http';
import type net from 'node:net';
import { freePort } from './cli-process.js';

/** Paths starting with /slow are answered after this long: requests in flight while something happens. */
export const SLOW_MS = 300;

export interface NamedOrigin {
  readonly name: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly served: () => number;
  /** Every request URL received, in arrival order. */
  readonly received: readonly string[];
  close(): Promise<void>;
}

/** Answers `<name> <url>\n` with `x-up: <name>`; /slow... after SLOW_MS; /hang... never. */
export async function startOrigin(name: string): Promise<NamedOrigin> {
  let served = 0;
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    received.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      const answer = (): void => {
        served++;
        res.writeHead(200, { 'content-type': 'text/plain', 'x-up': name });
        res.end(`${name} ${req.url}\n`);
      };
      if (req.url?.startsWith('/slow')) setTimeout(answer, SLOW_MS);
      else if (req.url?.startsWith('/hang')) return; // never answered: a request the drain must wait for
      else answer();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Unref'd: a test that fails before its cleanup must not keep the test file's process alive (a hang, not a failure).
  server.unref();
  return {
    name,
    port: (server.address() as net.AddressInfo).port,
    served: () => served,
    received,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export interface CliConfigParts {
  readonly listenerPort: number;
  readonly adminPort: number;
  readonly upstreams: Readonly<Record<string, number>>;
  readonly routes: ReadonlyArray<Record<string, unknown>>;
  readonly extraListeners?: ReadonlyArray<Record<string, unknown>>;
  readonly access?: Record<string, unknown>;
  readonly server?: Record<string, unknown>;
}

export function cliConfig(parts: CliConfigParts): Record<string, unknown> {
  const upstreams: Record<string, unknown> = {};
  for (const [name, port] of Object.entries(parts.upstreams)) upstreams[name] = { hosts: [`127.0.0.1:${port}`] };
  return {
    server: { workers: 2, pinning: false, ...parts.server, timeouts: { drainMs: 5000, ...(parts.server?.timeouts as object | undefined) } },
    listeners: [{ name: 'web', address: '127.0.0.1', port: parts.listenerPort }, ...(parts.extraListeners ?? [])],
    upstreams,
    routes: parts.routes,
    logging: { level: 'info', access: { enabled: false, ...parts.access } },
    admin: { enabled: true, address: '127.0.0.1', port: parts.adminPort },
    demo: { enabled: false },
  };
}

export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}

/** GET /stats from the admin listener, parsed. */
export function adminStats(adminPort: number): Promise<any> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: adminPort, path: '/stats', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        try { resolve(JSON.parse(body)); } catch (err) { reject(err); }
      });
    }).on('error', reject);
  });
}
