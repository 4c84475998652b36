/**
 * Application (not access) logs of the main thread through pino, written by
 * pino's non-blocking destination: start-up, reloads, supervisor events.
 */
import pino, { type Logger } from 'pino';
import type { LoggingConfig } from '../config/types.js';

export function createAppLogger(logging: LoggingConfig | undefined): Logger {
  const path = logging?.app.path ?? '/dev/stderr';
  const dest = path === '/dev/stderr' ? 2 : path === '/dev/stdout' ? 1 : path;
  return pino({ level: logging?.level ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest, sync: dest === 2 || dest === 1, mkdir: true }));
}
