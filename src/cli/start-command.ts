/**
 * `zproxy start`: the composition root. Loads and validates the config,
 * starts the logger thread, the demo upstream (default config), the worker
 * pool and the admin listener, then handles signals: SIGHUP reload, SIGUSR1
 * reopen logs, SIGINT/SIGTERM drain and exit (a second one exits at once).
 * This is the one place under src/ that imports actors/: it wires them.
 */
import type http from 'node:http';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH } from '../config/default-config.js';
import { loadConfigFile, redactConfig } from '../config/load-config.js';
import { ConfigError } from '../config/config-error.js';
import type { ZproxyConfig } from '../config/types.js';
import { ZproxyError } from '../kernel/errors.js';
import { createAppLogger, type AppLogger } from './app-logger.js';
import { ConfigReloader } from './config-reload.js';
import { ConfigWatcher } from './config-watcher.js';
import { explainStartError } from './start-errors.js';
import { LoggerThread } from '../../actors/logger/logger-thread.js';
import { headersNeeded } from '../../actors/logger/access-log-format.js';
import { startDemoUpstream } from '../../actors/demo-upstream/demo-upstream.js';
import { startAdminServer } from '../../actors/admin/admin-server.js';
import { WorkerPool } from '../../actors/supervisor/worker-pool.js';
import type { BoundListener } from '../../actors/acceptor/acceptor-strategy.js';
import { SharedSlots } from '../kernel/shared-slots.js';
import { SharedBuckets } from '../../actors/middleware/rate-limit/shared-buckets.js';
import { Observability } from '../../actors/metrics/observability.js';
import { CacheThread } from '../../actors/cache/cache-thread.js';

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

Signals: SIGHUP reloads the config file (so does 'zproxy reload', and a change
to the file when server.watchConfig is true), SIGUSR1 reopens log files,
SIGINT/SIGTERM drain (server.timeouts.drainMs) and exit 0; a second one exits at once.
Exit status: 0 stopped cleanly, 1 failed to start, 2 usage error.
`;

/**
 * Past drainMs the drain itself has given up on open connections; stopping
 * the workers and the logger after it takes well under a second (measured:
 * 10-40 ms). Five more seconds without an exit means a bug: exit anyway.
 */
const STOP_GUARD_MARGIN_MS = 5000;
/** Exit status when the guard fires: EX_SOFTWARE (sysexits.h). */
const EXIT_STOP_STUCK = 70;
/** How long the access log may take to write its backlog at stop; a stalled sink will not, and is given up. */
const LOGGER_FLUSH_MS = 1000;

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
  try {
    const config = applyOverrides(loadConfigFile(configPath), args);
    const running = await startProxy(config, configPath, args, createAppLogger(config.logging));
    return await running;
  } catch (err) {
    process.stderr.write(explainStartError(err, configPath) + '\n');
    if (args.debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return 1;
  }
}

/** Bound listeners as the URLs a user would open: https for terminated TLS, tcp:// for stream listeners. */
function urls(listeners: readonly BoundListener[], config: ZproxyConfig): string {
  return listeners.map((l) => {
    const spec = config.listeners.find((c) => c.name === l.name);
    const scheme = spec?.mode === 'stream' ? 'tcp' : spec?.tls !== undefined ? 'https' : 'http';
    const path = scheme === 'tcp' ? '' : '/';
    return `${scheme}://${l.family === 6 ? `[${l.address}]` : l.address}:${l.port}${path}`;
  }).join(' ');
}

/** A side listener (admin, demo) that cannot bind, as an error naming its config key. */
function sideListenerError(err: unknown, path: 'admin' | 'demo', address: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') return err;
  const kind = code === 'EADDRINUSE' ? 'address-in-use' : code === 'EACCES' ? 'permission-denied' : 'address-unavailable';
  return new ZproxyError({ code: `${path}.${kind}`, message: `${path} listener cannot listen on ${address}:${port}: ${code}`, source: 'start', context: { listener: path, address, port, path } });
}

/** Runs `stop` on error and rethrows: a start that fails half way leaves nothing running. */
async function orUndo<T>(work: Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    await undo();
    throw err;
  }
}

/** A worker's link to the cache thread, opened at each (re)spawn. */
function cacheAppData(cache: CacheThread | undefined, workerId: number): { cacheChannel?: string } {
  if (cache === undefined) return {};
  cache.attach(workerId);
  return { cacheChannel: cache.channelBase };
}

/** Starts everything; resolves to a promise of the exit code once running. */
async function startProxy(initial: ZproxyConfig, configPath: string, args: StartArgs, app: AppLogger): Promise<Promise<number>> {
  const { log } = app;
  const logger = initial.logging.access.enabled ? await LoggerThread.start(initial.logging) : undefined;
  if (logger) logger.onSinkError = (m) => log.error(m);
  // The shared response cache gets its own thread, started only when the config names a cache
  // (adding one later needs a restart; createMiddleware says so).
  const cache = Object.values(initial.middleware).some((m) => m.type === 'cache') ? await CacheThread.start((m) => log.error(m)) : undefined;
  let demo: http.Server | undefined;
  let admin: http.Server | undefined;
  const pool = new WorkerPool({ log: (level, message) => log[level](message), listenerChanges: 'apply' });
  let observability: Observability | undefined;
  const undo = async (): Promise<void> => {
    observability?.stop();
    await pool.stop();
    admin?.close();
    demo?.close();
    await logger?.stop(0);
    await cache?.stop();
  };
  if (initial.demo.enabled) {
    demo = await orUndo(startDemoUpstream(initial.demo.address, initial.demo.port).catch((err: unknown) => { throw sideListenerError(err, 'demo', initial.demo.address, initial.demo.port); }), undo);
  }
  // One shared counter table for every worker: least-connections sees all workers' load.
  const sharedSlots = SharedSlots.create();
  // One rate-limit bucket table for every worker (and every respawn): a limit holds for the whole process.
  const rateLimitBuckets = SharedBuckets.create();
  // Upstream health checks (main thread, shared with the workers) and the metrics the admin listener serves.
  const obs = new Observability({
    config: initial, pool, sharedSlots, metricsEnabled: initial.admin.enabled,
    accessLogRing: logger ? (slot) => logger.ringFor(slot) : undefined,
    log: (level, message) => log[level](message),
  });
  observability = obs;
  await orUndo(pool.start(initial, {
    appModule: new URL('../../actors/worker/http-worker-app.js', import.meta.url).href,
    appData: (workerId: number) => ({ accessLogRing: logger?.ringFor(workerId), sharedSlots: sharedSlots.buffer, rateLimitBuckets: rateLimitBuckets.buffer, ...cacheAppData(cache, workerId), ...obs.appData(workerId) }),
  }), undo);

  let watcher: ConfigWatcher | undefined;
  const reloader: ConfigReloader = new ConfigReloader(initial, {
    configPath,
    log,
    load: () => applyOverrides(loadConfigFile(configPath), args),
    applyToWorkers: (next) => pool.reload(next),
    applied: (next, previous) => {
      logger?.configure(next.logging);
      obs.configure(next, reloader.generation);
      log.level = next.logging.level;
      if (next.server.watchConfig) {
        watcher ??= new ConfigWatcher(configPath, () => reloader.reload('file change'), (m) => log.error(m));
        watcher.start();
        watcher.noteApplied();
      } else watcher?.stop();
      if (JSON.stringify(next.listeners) !== JSON.stringify(previous.listeners)) log.info(`zproxy listening: ${urls(pool.boundListeners(), next)}`);
      const before = headersNeeded(previous.logging.access.format);
      const uncaptured = headersNeeded(next.logging.access.format).filter((h) => !before.includes(h));
      // Workers capture the request headers their format names when they start (actors/worker/http-worker-app.ts).
      return uncaptured.length === 0 ? [] : [`logging.access.format: ${uncaptured.map((h) => `$http_${h.replace(/-/g, '_')}`).join(' ')} show "-" until the workers restart`];
    },
  });

  let ready = true;
  let exit: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => { exit = resolve; });
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) {
      log.warn(`${why} again while draining: exiting now`);
      process.exit(1);
    }
    stopping = true;
    ready = false;
    watcher?.stop();
    const drainMs = reloader.config.server.timeouts.drainMs;
    const guard = setTimeout(() => {
      log.error(`stop did not finish ${STOP_GUARD_MARGIN_MS} ms past the drain deadline; exiting with status ${EXIT_STOP_STUCK}`);
      process.exit(EXIT_STOP_STUCK);
    }, drainMs + STOP_GUARD_MARGIN_MS);
    guard.unref();
    log.info({ drainMs, signal: why }, 'draining: no new connections; in-flight requests finish');
    const t0 = performance.now();
    await pool.drain(drainMs);
    const drainedMs = Math.round(performance.now() - t0);
    await pool.stop();
    obs.stop();
    admin?.close();
    admin?.closeAllConnections();
    demo?.close();
    demo?.closeAllConnections();
    await cache?.stop();
    const unwritten = await logger?.stop(LOGGER_FLUSH_MS);
    if (unwritten !== undefined && unwritten !== 0) log.warn({ unwrittenBytes: unwritten }, 'the access log sink stalled: its last lines were not written');
    log.info({ drainedMs, stoppedMs: Math.round(performance.now() - t0) }, 'stopped');
    clearTimeout(guard);
    exit(0);
  };

  if (initial.admin.enabled) {
    admin = await orUndo(startAdminServer(initial.admin, {
      ready: () => ready,
      readiness: () => obs.readiness(ready),
      metrics: () => obs.metricsText(),
      liveSnapshot: () => obs.liveSnapshot(),
      cachePurge: cache ? (req) => cache.purge(req) : undefined,
      stats: async () => ({
        generation: reloader.generation,
        pool: await pool.stats(),
        logger: logger ? await logger.stats().catch((err: Error) => ({ error: err.message })) : undefined,
        health: await obs.healthReport(),
      }),
      config: () => redactConfig(reloader.config),
      reload: () => reloader.reload('admin'),
      stop: () => { void stop('admin /stop'); },
    }).catch((err: unknown) => { throw sideListenerError(err, 'admin', initial.admin.address, initial.admin.port); }), undo);
  }

  process.on('SIGHUP', () => { void reloader.reload('SIGHUP'); });
  process.on('SIGUSR1', () => {
    logger?.reopen();
    app.reopen();
    log.info('log files reopened');
  });
  process.on('SIGINT', () => { void stop('SIGINT'); });
  process.on('SIGTERM', () => { void stop('SIGTERM'); });
  if (initial.server.watchConfig) {
    watcher = new ConfigWatcher(configPath, () => reloader.reload('file change'), (m) => log.error(m));
    watcher.start();
  }

  const stats = await pool.stats();
  log.info({ workers: stats.workers.length, acceptor: stats.acceptor, configPath, watchConfig: initial.server.watchConfig }, `zproxy listening: ${urls(stats.listeners, initial)}`);
  process.stderr.write(`zproxy ${process.version}: listening on ${urls(stats.listeners, initial)} with ${stats.workers.length} worker(s), acceptor ${stats.acceptor}${admin ? `, admin http://${initial.admin.address}:${(admin.address() as import('node:net').AddressInfo).port}/stats` : ''}\n`);
  return done;
}
