import dns from 'node:dns';
import net from 'node:net';
import util from 'node:util';
import { ZproxyError } from '../../src/kernel/errors.js';

/**
 * Turning a listener's configured address into something a raw socket can
 * bind (an IP literal), and a failed bind into a typed error that names the
 * address and says how to fix it.
 */

export interface BindAddress {
  /** IP literal to bind. */
  readonly ip: string;
  readonly family: 4 | 6;
}

/** Raw tcp_wrap handles bind IP literals only; a hostname ('localhost') is resolved once here. */
export async function resolveBindAddress(address: string): Promise<BindAddress> {
  const kind = net.isIP(address);
  if (kind === 4 || kind === 6) return { ip: address, family: kind };
  const found = await dns.promises.lookup(address);
  return { ip: found.address, family: found.family === 6 ? 6 : 4 };
}

export interface BindTarget {
  /** Index in config.listeners, for the fix hint's JSON path; -1 when not known (a worker joining at reload). */
  readonly index: number;
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** libuv errno (negative number) or Node error code string -> 'EADDRINUSE'. */
export function errnoName(errno: number | string): string {
  if (typeof errno === 'string') return errno;
  try {
    return util.getSystemErrorName(errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** A failed bind/listen as a typed error: stable code, the address, a one-line fix. */
export function bindFailure(target: BindTarget, errno: number | string, syscall: string): ZproxyError {
  const name = errnoName(errno);
  const where = `${target.address.includes(':') ? `[${target.address}]` : target.address}:${target.port}`;
  const path = target.index >= 0 ? `listeners[${target.index}]` : `the listener '${target.name}'`;
  let code: string;
  let hint: string;
  switch (name) {
    case 'EADDRINUSE':
      code = 'acceptor.address-in-use';
      hint = `another process listens on ${where}; stop it or change ${path}.port`;
      break;
    case 'EACCES':
      code = 'acceptor.permission-denied';
      hint = `ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher ${path}.port or grant the capability`;
      break;
    case 'EADDRNOTAVAIL':
      code = 'acceptor.address-unavailable';
      hint = `${target.address} is not an address of this machine; change ${path}.address`;
      break;
    default:
      code = 'acceptor.bind-failed';
      hint = `check ${path}.address and ${path}.port`;
  }
  return new ZproxyError({
    code,
    message: `listener '${target.name}' cannot listen on ${where}: ${syscall} ${name}. Fix: ${hint}`,
    source: 'acceptor',
    context: { listener: target.name, address: target.address, port: target.port, errno: name, syscall, hint, ...(target.index >= 0 ? { path: path } : {}) },
  });
}
