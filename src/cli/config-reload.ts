/**
 * One reload of the running config, whoever asked (SIGHUP, `zproxy reload`
 * through the admin listener, the file watcher): read and validate the file
 * first, then apply it to every worker at once (the pool's two-phase
 * reload), then to the logger. Reloads run one at a time, in the order
 * asked. A file that does not validate changes nothing and the answer says
 * why, with the JSON path.
 */
import type { Logger } from 'pino';
import type { ZproxyConfig } from '../config/types.js';
import { explainStartError } from './start-errors.js';

export type ReloadOutcome =
  | { readonly ok: true; readonly generation: number; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: string };

export type ReloadTrigger = 'SIGHUP' | 'admin' | 'file change';

export interface ReloadDeps {
  readonly configPath: string;
  /** Reads and validates the file (throws ConfigError), command-line overrides applied. */
  load(): ZproxyConfig;
  /** The pool's all-or-none apply. */
  applyToWorkers(next: ZproxyConfig): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }>;
  /** Runs once the workers committed (logger format and path, app log level, watcher on or off); returns warnings. */
  applied(next: ZproxyConfig, previous: ZproxyConfig): string[];
  readonly log: Logger;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Settings read once at start: a reload cannot change them, and says so instead of ignoring them silently. */
export function restartOnlyChanges(before: ZproxyConfig, after: ZproxyConfig): string[] {
  const changed: string[] = [];
  const check = (path: string, a: unknown, b: unknown): void => {
    if (!same(a, b)) changed.push(path);
  };
  for (const key of ['workers', 'acceptor', 'placement', 'pinning', 'watchdog', 'restart'] as const) check(`server.${key}`, before.server[key], after.server[key]);
  check('logging.app', before.logging.app, after.logging.app);
  check('logging.access.enabled', before.logging.access.enabled, after.logging.access.enabled);
  check('logging.access.ringBytes', before.logging.access.ringBytes, after.logging.access.ringBytes);
  check('admin', before.admin, after.admin);
  check('demo', before.demo, after.demo);
  return changed;
}

export class ConfigReloader {
  private chain: Promise<unknown> = Promise.resolve();
  private current: ZproxyConfig;
  private generationNow = 1;

  constructor(initial: ZproxyConfig, private readonly deps: ReloadDeps) {
    this.current = initial;
  }

  get config(): ZproxyConfig {
    return this.current;
  }

  get generation(): number {
    return this.generationNow;
  }

  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const run = this.chain.then(() => this.reloadNow(trigger));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { log, configPath } = this.deps;
    let next: ZproxyConfig;
    try {
      next = this.deps.load();
    } catch (err) {
      const error = explainStartError(err, configPath);
      log.error({ configPath, trigger }, `reload rejected, the running config keeps serving: ${error}`);
      return { ok: false, error };
    }
    let applied;
    try {
      applied = await this.deps.applyToWorkers(next);
    } catch (err) {
      applied = { ok: false as const, error: (err as Error).message };
    }
    if (!applied.ok) {
      log.error({ configPath, trigger }, `reload rejected, the running config keeps serving: ${applied.error}`);
      return { ok: false, error: applied.error };
    }
    const previous = this.current;
    this.current = next;
    this.generationNow++;
    const warnings = restartOnlyChanges(previous, next).map((path) => `${path} changed: it takes effect at the next restart`);
    warnings.push(...this.deps.applied(next, previous));
    for (const w of warnings) log.warn({ configPath }, w);
    log.info({ generation: this.generationNow, trigger, configPath }, 'config reloaded');
    return { ok: true, generation: this.generationNow, warnings };
  }
}
