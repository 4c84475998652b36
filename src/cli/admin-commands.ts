/**
 * `zproxy reload` and `zproxy stop`: talk to a running zproxy through its
 * admin listener, so reload can report a rejected config and exit non-zero.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config-error.js';
import { DEFAULT_CONFIG_PATH } from '../config/default-config.js';
import { loadConfigFile } from '../config/load-config.js';

const COMMON = `Options:
  -c, --config FILE   the config the running zproxy was started with: its admin
                      address, port and token are read from it (default: the
                      embedded default, ${DEFAULT_CONFIG_PATH})
      --admin URL     admin endpoint instead, e.g. http://127.0.0.1:9901
      --token TOKEN   admin bearer token (default: $ZPROXY_ADMIN_TOKEN or the config's)
  -h, --help          show this help
`;

export const RELOAD_USAGE = `Usage: zproxy reload [-c FILE] [--admin URL]

Asks the running zproxy to re-read its config file and apply it: validated
first, then swapped in every worker at once; in-flight and idle connections
are kept. A config that does not validate is rejected and the old one keeps
serving. Exit status: 0 applied, 1 rejected or unreachable, 2 usage error.

${COMMON}`;

export const STOP_USAGE = `Usage: zproxy stop [-c FILE] [--admin URL]

Asks the running zproxy to stop accepting, finish in-flight requests (up to
server.timeouts.drainMs) and exit. Exit status: 0 accepted, 1 unreachable, 2 usage error.

${COMMON}`;

interface Target { url: URL; token: string | undefined }

function resolveTarget(argv: string[], usage: string): Target | number {
  let values: { config?: string; admin?: string; token?: string; help?: boolean };
  try {
    values = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, admin: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`zproxy: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const envToken = process.env.ZPROXY_ADMIN_TOKEN;
  if (values.admin) return { url: new URL(values.admin), token: values.token ?? envToken };
  const file = values.config ?? DEFAULT_CONFIG_PATH;
  let admin: { address: string; port: number; token?: string };
  try {
    admin = loadConfigFile(file).admin;
  } catch (err) {
    // The usual case for `reload`: the file was just edited and is now wrong. The running
    // zproxy must say so (with the JSON path), so find its admin listener without validating.
    const raw = err instanceof ConfigError && err.code !== 'config.unreadable' && err.code !== 'config.parse' ? rawAdmin(file) : undefined;
    if (!raw) {
      const message = err instanceof ConfigError ? err.format().join('\n') : (err as Error).message;
      process.stderr.write(`zproxy: cannot read the config to find the admin listener:\n${message}\n`);
      return 1;
    }
    admin = raw;
  }
  const host = admin.address.includes(':') ? `[${admin.address}]` : admin.address;
  return { url: new URL(`http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${admin.port}`), token: values.token ?? envToken ?? admin.token };
}

/** The admin section as written, schema defaults filled (127.0.0.1:9901); undefined if it is unusable. */
function rawAdmin(file: string): { address: string; port: number; token?: string } | undefined {
  try {
    const tree = JSON.parse(readFileSync(file, 'utf8')) as { admin?: { address?: unknown; port?: unknown; token?: unknown } };
    const a = tree.admin ?? {};
    const address = typeof a.address === 'string' ? a.address : '127.0.0.1';
    const port = typeof a.port === 'number' ? a.port : 9901;
    // A ${VAR} token is not substituted here: ZPROXY_ADMIN_TOKEN or --token give it.
    const token = typeof a.token === 'string' && !a.token.includes('${') ? a.token : undefined;
    return { address, port, token };
  } catch {
    return undefined;
  }
}

function post(target: Target, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, target.url), { method: 'POST', headers: target.token ? { authorization: `Bearer ${target.token}` } : {}, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', reject);
    req.end();
  });
}

function unreachable(target: Target, err: Error): number {
  process.stderr.write(`zproxy: no zproxy answering at ${target.url.origin} (${(err as NodeJS.ErrnoException).code ?? err.message}); is it running with the admin listener enabled?\n`);
  return 1;
}

export async function runReload(argv: string[]): Promise<number> {
  const target = resolveTarget(argv, RELOAD_USAGE);
  if (typeof target === 'number') return target;
  try {
    const { status, body } = await post(target, '/reload');
    if (status === 401) {
      process.stderr.write('zproxy: the admin listener refused the token (pass --token or set ZPROXY_ADMIN_TOKEN)\n');
      return 1;
    }
    const result = JSON.parse(body) as { ok: boolean; error?: string; generation?: number; warnings?: string[] };
    if (result.ok) {
      process.stdout.write(`zproxy: reloaded (config generation ${result.generation})\n`);
      for (const w of result.warnings ?? []) process.stderr.write(`zproxy: warning: ${w}\n`);
      return 0;
    }
    process.stderr.write(`zproxy: reload rejected, the previous config keeps serving:\n${result.error}\n`);
    return 1;
  } catch (err) {
    return unreachable(target, err as Error);
  }
}

export async function runStop(argv: string[]): Promise<number> {
  const target = resolveTarget(argv, STOP_USAGE);
  if (typeof target === 'number') return target;
  try {
    const { status } = await post(target, '/stop');
    if (status !== 202) {
      process.stderr.write(`zproxy: stop refused (HTTP ${status})\n`);
      return 1;
    }
    process.stdout.write('zproxy: stopping (draining connections)\n');
    return 0;
  } catch (err) {
    return unreachable(target, err as Error);
  }
}
