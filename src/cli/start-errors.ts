/**
 * Turns start-up (and reload) failures into lines a newcomer can act on:
 * the cause and the fix, no stack trace (unless --debug). One line per
 * problem; a config with two bad values gets two lines.
 */
import { ConfigError } from '../config/config-error.js';

/** Config problems about files the config names, where the fix is the path or the file. */
const FILE_PROBLEM = /^cannot read |is not a file$/;

function explainConfigError(err: ConfigError, configSource: string): string {
  if (err.code === 'config.unreadable') {
    const reason = err.issues[0]?.message.replace(/^cannot read the config file: /, '') ?? 'unreadable';
    return `zproxy: cannot read the config file ${configSource}: ${reason}; pass an existing, readable file with -c (examples in conf/examples/)`;
  }
  return err.issues.map((issue) => {
    const where = issue.path === '' ? configSource : `${configSource}: ${issue.path}`;
    const hint = issue.hint ?? (FILE_PROBLEM.test(issue.message) ? `fix the path at ${issue.path} or make the file readable` : undefined);
    return `zproxy: ${where}: ${issue.message}${hint === undefined ? '' : ` (${hint})`}`;
  }).join('\n');
}

export function explainStartError(err: unknown, configSource: string): string {
  if (err instanceof ConfigError) return explainConfigError(err, configSource);
  const e = err as NodeJS.ErrnoException & { context?: Record<string, unknown>; code?: string };
  const ctx = e.context ?? {};
  const where = ctx.address !== undefined ? `${String(ctx.address).includes(':') ? `[${ctx.address}]` : ctx.address}:${ctx.port}` : '';
  const who = ctx.listener !== undefined ? ` (listener '${ctx.listener}')` : '';
  // `path`: the config key to change, e.g. listeners[0] or admin.
  const key = ctx.path !== undefined ? `${ctx.path}.port` : 'the port';
  switch (e.code) {
    case 'EADDRINUSE':
    case 'acceptor.address-in-use':
    case 'admin.address-in-use':
      return `zproxy: ${where || 'a listener address'}${who} is already in use by another process; stop that process or change ${key} in ${configSource}`;
    case 'EACCES':
    case 'acceptor.permission-denied':
      return `zproxy: not allowed to listen on ${where || 'a listener address'}${who} (ports below 1024 need privileges); use a port >= 1024 for ${key} in ${configSource}`;
    case 'EADDRNOTAVAIL':
    case 'acceptor.address-unavailable':
      return `zproxy: ${where || 'a listener address'}${who} is not an address of this machine; fix ${ctx.path ?? 'the listener'}.address in ${configSource}`;
    case 'ENOENT':
      return `zproxy: file not found: ${e.path ?? e.message}; check the paths in ${configSource}`;
    default:
      return `zproxy: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
  }
}
