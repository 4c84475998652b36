import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZproxyError } from '../../src/kernel/errors.js';
import { bindFailure, type BindAddress, type BindTarget } from './bind-address.js';

/**
 * Raw listening handles (tcp_wrap TCP objects) that a thread holds without
 * polling. Node has no dup(2) and no way to listen without accepting, so a
 * throwaway child process does the listen or the dup and passes the fd back
 * over IPC (fd-broker-child.ts). Costs one short-lived process per call:
 * ~30 ms on Node 24, ~100 ms on Node 20 (measured on the 2-core dev box).
 */

/** The methods of a raw tcp_wrap TCP handle we use. */
export interface RawListenHandle {
  readonly fd: number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  close(callback?: () => void): void;
}

interface TcpBinding {
  TCP: new (type: number) => RawListenHandle & { bind(ip: string, port: number, flags: number): number; bind6(ip: string, port: number, flags: number): number };
  constants: { SERVER: number; UV_TCP_REUSEPORT?: number };
}

const CHILD_SCRIPT = fileURLToPath(new URL('./fd-broker-child.js', import.meta.url));
/** A broker child normally answers in 30-150 ms; 10 s means it is stuck (or the machine is). */
const BROKER_TIMEOUT_MS = 10_000;

interface BrokerReply {
  readonly ok: boolean;
  readonly errno?: number | string;
  readonly syscall?: string;
}

function runBroker(args: string[], inheritFd: number | undefined): Promise<{ reply: BrokerReply; handle: RawListenHandle | undefined }> {
  return new Promise((resolve, reject) => {
    const stdio = inheritFd === undefined
      ? ['ignore', 'inherit', 'inherit', 'ipc'] as const
      : ['ignore', 'inherit', 'inherit', inheritFd, 'ipc'] as const;
    // execArgv set explicitly: inheriting ours would pass --test or --inspect flags to the child.
    const child = fork(CHILD_SCRIPT, args, { execArgv: ['--no-deprecation'], stdio: [...stdio], serialization: 'json' });
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`fd broker child did not answer within ${BROKER_TIMEOUT_MS} ms`);
    }, BROKER_TIMEOUT_MS);
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new ZproxyError({ code: 'acceptor.fd-broker-failed', message, source: 'acceptor', context: { mode: args[0] ?? '' } }));
    };
    child.once('message', (reply: BrokerReply, handle: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ reply, handle: handle as RawListenHandle | undefined });
    });
    child.once('error', (err) => fail(`fd broker child failed: ${err.message}`));
    // 'close', not 'exit': the child exits right after sending, and on a busy machine its exit can be seen
    // before the IPC message is read. 'close' comes after the IPC channel is drained, so the reply is in.
    child.once('close', (code, signal) => fail(`fd broker child exited (${signal ?? code}) without answering`));
  });
}

/** Binds and listens `addr:port` in a broker child; the returned handle is listening but never polled here. */
export async function bindListening(target: BindTarget, addr: BindAddress, backlog: number): Promise<RawListenHandle> {
  const { reply, handle } = await runBroker(['bind', addr.ip, String(addr.family), String(target.port), String(backlog)], undefined);
  if (!reply.ok || !handle) throw bindFailure(target, reply.errno ?? 'EINVAL', reply.syscall ?? 'bind');
  return handle;
}

/** This thread's own duplicate of listening fd `fd`: closing it (or dying) leaves `fd` open. */
export async function dupListening(fd: number): Promise<RawListenHandle> {
  const { reply, handle } = await runBroker(['dup'], fd);
  if (!reply.ok || !handle) {
    throw new ZproxyError({ code: 'acceptor.fd-broker-failed', message: `cannot duplicate listening fd ${fd}: ${reply.syscall} ${String(reply.errno)}`, source: 'acceptor', context: { fd } });
  }
  return handle;
}

function tcpBinding(): TcpBinding {
  return (process as unknown as { binding(name: string): TcpBinding }).binding('tcp_wrap');
}

/**
 * Binds `addr:port` with SO_REUSEPORT WITHOUT listening, in this thread.
 * A bound, non-listening socket is not in the kernel's listening hash, so it
 * receives no connections, but it fixes the port: port 0 resolves to a real
 * port and workers joining the reuseport group keep it across respawns. It
 * does not exclude other binders by itself (see reuseport-acceptor.ts).
 */
export function reserveReusePort(target: BindTarget, addr: BindAddress): RawListenHandle {
  const { TCP, constants } = tcpBinding();
  if (constants.UV_TCP_REUSEPORT === undefined) {
    throw new ZproxyError({ code: 'runtime.acceptor-unsupported', message: `SO_REUSEPORT needs Node >= 22.12; this is ${process.version}`, source: 'acceptor' });
  }
  const handle = new TCP(constants.SERVER);
  const err = addr.family === 6 ? handle.bind6(addr.ip, target.port, constants.UV_TCP_REUSEPORT) : handle.bind(addr.ip, target.port, constants.UV_TCP_REUSEPORT);
  if (err) {
    handle.close();
    throw bindFailure(target, err, 'bind');
  }
  // libuv defers EADDRINUSE to the next call on the handle; without listen() that is getsockname().
  const out: { port?: number } = {};
  const sockErr = handle.getsockname(out);
  if (sockErr) {
    handle.close();
    throw bindFailure(target, sockErr, 'bind');
  }
  return handle;
}

/** Local port of a bound handle. */
export function boundPort(handle: RawListenHandle): number {
  const out: { port?: number } = {};
  const err = handle.getsockname(out);
  if (err || out.port === undefined) throw new ZproxyError({ code: 'acceptor.bind-failed', message: `getsockname failed on fd ${handle.fd} (${err})`, source: 'acceptor' });
  return out.port;
}
