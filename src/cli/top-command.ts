/**
 * `zproxy top`: a live view of a running zproxy (like htop) from the admin
 * listener's stats stream (GET /stream, one snapshot a second): header,
 * workers, routes, upstreams, events. Keys switch views and sort; q quits.
 * `--once`, or stdout that is not a terminal, prints one plain snapshot
 * (rates over one second) for scripts. Rendering is src/cli/top-view.ts,
 * the stream client src/cli/admin-stream-client.ts.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH } from '../config/default-config.js';
import { loadConfigFile } from '../config/load-config.js';
import type { LiveSnapshot } from '../protocol/admin-stream.js';
import { AdminStreamClient, collectSnapshots } from './admin-stream-client.js';
import { deriveTopModel, type TopModel } from './top-model.js';
import { renderPlain, renderScreen, SORT_KEYS, TOP_VIEWS, type TopViewName } from './top-view.js';

export const TOP_USAGE = `Usage: zproxy top [-c FILE] [--admin URL] [--token TOKEN] [--once]

Live view of a running zproxy from its admin listener, refreshed every
second: uptime, requests per second, errors, p50/p99 latency; a row per
worker (CPU, pinned core and NUMA node, connections, rps, p99, event-loop
delay, mailbox depth, access-log ring fill, restarts); routes; upstreams
(health, active connections, latency); the latest supervisor and health events.

Keys: 1-4 or tab switch view (workers, routes, upstreams, events),
s changes the sort, q quits. With --once, or when stdout is not a
terminal, prints one plain snapshot and exits.

Options:
  -c, --config FILE   config of the running zproxy, to find its admin listener
                      (default: ${DEFAULT_CONFIG_PATH})
      --admin URL     admin endpoint instead, e.g. http://127.0.0.1:9901
      --token TOKEN   admin bearer token (default: $ZPROXY_ADMIN_TOKEN or the config's)
      --once          print one snapshot and exit
  -h, --help          show this help
`;

/** --once waits for two snapshots one second apart; 5 s bounds a proxy that does not answer. */
const ONCE_TIMEOUT_MS = 5000;

interface TopArgs { config?: string; admin?: string; token?: string; once?: boolean; help?: boolean }

function adminTarget(values: TopArgs): { url: URL; token: string | undefined } {
  const token = values.token ?? process.env.ZPROXY_ADMIN_TOKEN;
  if (values.admin) return { url: new URL(values.admin), token };
  const config = loadConfigFile(values.config ?? DEFAULT_CONFIG_PATH);
  const a = config.admin.address;
  const host = a === '0.0.0.0' ? '127.0.0.1' : a === '::' ? '[::1]' : a.includes(':') ? `[${a}]` : a;
  return { url: new URL(`http://${host}:${config.admin.port}`), token: token ?? config.admin.token };
}

export async function runTop(argv: string[]): Promise<number> {
  let values: TopArgs;
  try {
    values = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, admin: { type: 'string' }, token: { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    process.stderr.write(`zproxy: ${(err as Error).message}\n\n${TOP_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(TOP_USAGE);
    return 0;
  }
  let target: { url: URL; token: string | undefined };
  try {
    target = adminTarget(values);
  } catch (err) {
    process.stderr.write(`zproxy: cannot find the admin listener: ${(err as Error).message}\n`);
    return 1;
  }
  if (values.once || process.stdout.isTTY !== true) return printOnce(target.url, target.token);
  return interactive(target.url, target.token);
}

async function printOnce(url: URL, token: string | undefined): Promise<number> {
  try {
    const [first, second] = await collectSnapshots(url, token, 2, ONCE_TIMEOUT_MS);
    process.stdout.write(renderPlain(deriveTopModel(second!, first)));
    return 0;
  } catch (err) {
    process.stderr.write(`zproxy: cannot read the stats stream of ${url.origin}: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The terminal UI: alternate screen, raw keys, a redraw per snapshot, key and resize. */
function interactive(url: URL, token: string | undefined): Promise<number> {
  const out = process.stdout;
  const stdin = process.stdin;
  const color = out.hasColors?.() ?? false;
  let view: TopViewName = 'workers';
  const sortIndex: Record<TopViewName, number> = { workers: 0, routes: 0, upstreams: 0, events: 0 };
  let model: TopModel | undefined;
  let prev: LiveSnapshot | undefined;
  let status: string | undefined = `connecting to ${url.origin} ...`;

  const draw = (): void => {
    const lines = renderScreen(model, { view, sort: SORT_KEYS[view][sortIndex[view]]!, width: out.columns || 80, height: out.rows || 24, color, status });
    // Home, each line then clear-to-end-of-line, then clear below: no full-screen clear, so no flicker.
    out.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\r\n') + '\x1b[J');
  };

  return new Promise<number>((resolve) => {
    const client = new AdminStreamClient(url, token, {
      onSnapshot(s) {
        model = deriveTopModel(s, prev);
        prev = s;
        status = undefined;
        draw();
      },
      onTrouble(message) {
        status = `${message}; retrying every second`;
        draw();
      },
    });
    const quit = (): void => {
      client.close();
      out.off('resize', draw);
      stdin.off('data', onKey);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      out.write('\x1b[?25h\x1b[?1049l');
      resolve(0);
    };
    const onKey = (data: Buffer): void => {
      for (const key of data.toString('utf8')) {
        if (key === 'q' || key === 'Q' || key === '\u0003') return quit();
        const n = Number(key);
        if (n >= 1 && n <= TOP_VIEWS.length) view = TOP_VIEWS[n - 1]!;
        else if (key === '\t') view = TOP_VIEWS[(TOP_VIEWS.indexOf(view) + 1) % TOP_VIEWS.length]!;
        else if (key === 's') sortIndex[view] = (sortIndex[view] + 1) % SORT_KEYS[view].length;
        else continue;
        draw();
      }
    };
    out.write('\x1b[?1049h\x1b[?25l');
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onKey);
    out.on('resize', draw);
    draw();
    client.connect();
  });
}
