/**
 * `zproxy start`: the composition root. Loads and validates the config,
 * starts the logger thread, the demo upstream (default config), the worker
 * pool and the admin listener, then handles signals: SIGHUP reload, SIGUSR1
 * reopen logs, SIGINT/SIGTERM drain and exit (a second one exits at once).
 * This is the one place under src/ that imports actors/: it wires them.
 */
import type http from 'node:http';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { DEFAULT_CONFIG_PATH } from '../config/default-config.js';
import { loadConfigFile, redactConfig } from '../config/load-config.js';
import { ConfigError } from '../config/config-error.js';
import type { ZproxyConfig } from '../config/types.js';
import { createAppLogger } from './app-logger.js';
import { explainStartError } from './start-errors.js';
import { LoggerThread } from '../../actors/logger/logger-thread.js';
import { startDemoUpstream } from '../../actors/demo-upstream/demo-upstream.js';
import { startAdminServer } from '../../actors/admin/admin-server.js';
import { WorkerPool } from '../../actors/supervisor/worker-pool.js';
import { SharedSlots } from '../kernel/shared-slots.js';

export const START_USAGE = `Usage: zproxy start [-c FILE] [--workers=auto|N] [--debug]

Runs the proxy in the foreground. Without -c it uses the embedded default
config (${DEFAULT_CONFIG_PATH}): a proxy on http://127.0.0.1:8080 in front of
a small built-in demo upstream.

Options:
  -c, --config FILE       config file (JSON, see docs/configuration.md)
      --workers auto|N    worker threads (overrides server.workers; auto = CPUs available)
      --acceptor MODE     auto|handoff|reuseport|shared (overrides server.acceptor)
      --placement MODE    local|pipelined|postmessage (overrides server.placement)
      --debug             print stack traces on errors
  -h, --help              show this help

Signals: SIGHUP reloads the config file, SIGUSR1 reopens log files,
SIGINT/SIGTERM drain (server.timeouts.drainMs) and exit; a second one exits at once.
`;

interface StartArgs { config?: string; workers?: string; acceptor?: string; placement?: string; debug?: boolean; help?: boolean }

function applyOverrides(config: ZproxyConfig, args: StartArgs): ZproxyConfig {
  const server = { ...config.server };
  if (args.workers !== undefined) {
    if (args.workers === 'auto') server.workers = 'auto';
    else {
      const n = Number(args.workers);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError('config.invalid', 'command line', [{ path: '--workers', message: `"${args.workers}" is not auto or a whole number >= 1` }]);
      server.workers = n;
    }
  }
  if (args.acceptor !== undefined) {
    if (!['auto', 'handoff', 'reuseport', 'shared'].includes(args.acceptor)) throw new ConfigError('config.invalid', 'command line', [{ path: '--acceptor', message: `"${args.acceptor}" is not one of auto, handoff, reuseport, shared` }]);
    server.acceptor = args.acceptor as ZproxyConfig['server']['acceptor'];
  }
  if (args.placement !== undefined) {
    if (!['local', 'pipelined', 'postmessage'].includes(args.placement)) throw new ConfigError('config.invalid', 'command line', [{ path: '--placement', message: `"${args.placement}" is not one of local, pipelined, postmessage` }]);
    server.placement = args.placement as ZproxyConfig['server']['placement'];
  }
  return { ...config, server };
}

export async function runStart(argv: string[]): Promise<number> {
  let args: StartArgs;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' }, workers: { type: 'string' }, acceptor: { type: 'string' },
        placement: { type: 'string' }, debug: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`zproxy: ${(err as Error).message}\n\n${START_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(START_USAGE);
    return 0;
  }
  const configPath = args.config ?? DEFAULT_CONFIG_PATH;
  let log: Logger | undefined;
  try {
    const config = applyOverrides(loadConfigFile(configPath), args);
    log = createAppLogger(config.logging);
    const running = await startProxy(config, configPath, args, log);
    return await running;
  } catch (err) {
    process.stderr.write(explainStartError(err, configPath) + '\n');
    if (args.debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
}

/** Starts everything; resolves to a promise of the exit code once running. */
async function startProxy(initial: ZproxyConfig, configPath: string, args: StartArgs, log: Logger): Promise<Promise<number>> {
  let config = initial;
  let generation = 1;
  const logger = config.logging.access.enabled ? await LoggerThread.start(config.logging) : undefined;
  if (logger) logger.onSinkError = (m) => log.error(m);
  let demo: http.Server | undefined;
  if (config.demo.enabled) demo = await startDemoUpstream(config.demo.address, config.demo.port);

  const pool = new WorkerPool({ log: (level, message) => log[level](message) });
  // One shared counter table for every worker: least-connections sees all workers' load.
  const sharedSlots = SharedSlots.create();
  try {
    await pool.start(config, {
      appModule: new URL('../../actors/worker/http-worker-app.js', import.meta.url).href,
      appData: (workerId: number) => ({ accessLogRing: logger?.ringFor(workerId), sharedSlots: sharedSlots.buffer }),
    });
  } catch (err) {
    await logger?.stop();
    demo?.close();
    throw err;
  }

  let ready = true;
  const reload = async (): Promise<{ ok: true; generation: number } | { ok: false; error: string }> => {
    let next: ZproxyConfig;
    try {
      next = applyOverrides(loadConfigFile(configPath), args);
    } catch (err) {
      const error = explainStartError(err, configPath);
      log.error({ configPath }, `reload rejected, keeping the running config: ${error}`);
      return { ok: false, error };
    }
    const r = await pool.reload(next);
    if (!r.ok) {
      log.error(`reload rejected by the workers, keeping the running config: ${r.error}`);
      return r;
    }
    config = next;
    generation++;
    logger?.configure(config.logging);
    log.info({ generation }, 'config reloaded');
    return { ok: true, generation };
  };

  let exit: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => { exit = resolve; });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) {
      log.warn('second stop signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    ready = false;
    log.info({ drainMs: config.server.timeouts.drainMs }, 'draining');
    await pool.drain(config.server.timeouts.drainMs);
    await pool.stop();
    admin?.close();
    demo?.close();
    await logger?.stop();
    log.info('stopped');
    log.flush?.();
    exit(0);
  };

  const admin = config.admin.enabled
    ? await startAdminServer(config.admin, {
      ready: () => ready,
      stats: async () => ({ generation, pool: await pool.stats(), logger: logger ? await logger.stats() : undefined }),
      config: () => redactConfig(config),
      reload,
      stop: () => { void stop(); },
    })
    : undefined;

  process.on('SIGHUP', () => { void reload(); });
  process.on('SIGUSR1', () => { logger?.reopen(); log.info('log files reopened'); });
  process.on('SIGINT', () => { void stop(); });
  process.on('SIGTERM', () => { void stop(); });

  const stats = await pool.stats();
  const urls = stats.listeners.map((l) => `${l.name} ${l.address}:${l.port}`).join(', ');
  log.info({ workers: stats.workers.length, acceptor: stats.acceptor, configPath }, `zproxy listening: ${urls}`);
  process.stderr.write(`zproxy ${process.version}: listening on ${stats.listeners.map((l) => `http://${l.address}:${l.port}/`).join(' ')} with ${stats.workers.length} worker(s), acceptor ${stats.acceptor}${admin ? `, admin http://${config.admin.address}:${config.admin.port}/stats` : ''}\n`);
  return done;
}
