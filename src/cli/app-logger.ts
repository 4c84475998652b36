/**
 * Application (not access) logs of the main thread through pino: start-up,
 * reloads, supervisor events. Written synchronously: they are a few lines a
 * minute, and a line written before process.exit() must not be lost.
 */
import pino, { type Logger } from 'pino';
import type { LoggingConfig } from '../config/types.js';

export interface AppLogger {
  readonly log: Logger;
  /** SIGUSR1: a log file moved by logrotate is opened again at its path (no-op for stdout and stderr). */
  reopen(): void;
}

export function createAppLogger(logging: LoggingConfig | undefined): AppLogger {
  const path = logging?.app.path ?? '/dev/stderr';
  const dest = path === '/dev/stderr' ? 2 : path === '/dev/stdout' ? 1 : path;
  const destination = pino.destination({ dest, sync: true, mkdir: true });
  const log = pino({ level: logging?.level ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return { log, reopen: () => { if (typeof dest === 'string') destination.reopen(); } };
}
