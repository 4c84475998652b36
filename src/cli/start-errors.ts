/**
 * Turns start-up failures into one line a newcomer can act on: the cause and
 * the fix, no stack trace (unless --debug).
 */
import { ConfigError } from '../config/config-error.js';

export function explainStartError(err: unknown, configSource: string): string {
  if (err instanceof ConfigError) return err.format().join('\n');
  const e = err as NodeJS.ErrnoException & { context?: Record<string, unknown>; code?: string };
  const ctx = e.context ?? {};
  const where = ctx.address !== undefined ? `${ctx.address}:${ctx.port}` : '';
  switch (e.code) {
    case 'EADDRINUSE':
    case 'acceptor.address-in-use':
      return `zproxy: ${where || 'a listener address'} is already in use by another process; stop that process or change the port in ${configSource}`;
    case 'EACCES':
    case 'acceptor.permission-denied':
      return `zproxy: not allowed to listen on ${where || 'a listener address'} (ports below 1024 need privileges); use a port >= 1024 in ${configSource}`;
    case 'EADDRNOTAVAIL':
      return `zproxy: ${where || 'a listener address'} is not an address of this machine; fix the listener address in ${configSource}`;
    case 'ENOENT':
      return `zproxy: file not found: ${e.path ?? e.message}; check the paths in ${configSource}`;
    default:
      return `zproxy: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
  }
}
