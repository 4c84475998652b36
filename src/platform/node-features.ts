import { ZproxyError } from '../kernel/errors.js';

/**
 * What the running Node can do for the acceptor, by version (the features
 * are in the runtime, not feature-detectable without opening sockets):
 * - socket transfer between threads: postMessage(socket, [socket]) works
 *   from Node 24 (checked on 24.21 and 26.10; 20 and 22 throw "Found invalid
 *   object in transferList").
 * - SO_REUSEPORT: `server.listen({ reusePort: true })` and the
 *   UV_TCP_REUSEPORT bind flag from Node 22.12 (23.1 on the 23 line), Linux
 *   and some BSDs only.
 * - raw listening handles (process.binding('tcp_wrap')) for the 'shared'
 *   strategy: deprecated but present on 20, 24 and 26.
 */

export type AcceptorKind = 'handoff' | 'reuseport' | 'shared';
export type AcceptorSetting = AcceptorKind | 'auto';

export interface NodeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export function parseNodeVersion(text: string = process.versions.node): NodeVersion {
  const [major = 0, minor = 0, patch = 0] = text.replace(/^v/, '').split('.').map((p) => parseInt(p, 10));
  return { major, minor, patch };
}

function atLeast(v: NodeVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

export function canTransferSockets(v: NodeVersion = parseNodeVersion()): boolean {
  return v.major >= 24;
}

/** Platforms where libuv honours UV_TCP_REUSEPORT with kernel load balancing (Node's net docs). */
const REUSEPORT_PLATFORMS: ReadonlySet<string> = new Set(['linux', 'freebsd', 'sunos', 'aix']);

export function hasReusePort(v: NodeVersion = parseNodeVersion(), platform: string = process.platform): boolean {
  if (!REUSEPORT_PLATFORMS.has(platform)) return false;
  if (v.major === 22) return v.minor >= 12;
  if (v.major === 23) return v.minor >= 1;
  return v.major >= 24;
}

/** 'shared' passes listening fds between processes (SCM_RIGHTS): any Unix. */
export function hasSharedListeners(platform: string = process.platform): boolean {
  return platform !== 'win32' && typeof (process as unknown as { binding?: unknown }).binding === 'function';
}

const NEEDS: Readonly<Record<AcceptorKind, string>> = {
  handoff: 'Node >= 24 (socket transfer to worker threads)',
  reuseport: 'Node >= 22.12 on Linux (SO_REUSEPORT)',
  shared: 'a Unix platform with process.binding (any supported Node)',
};

/**
 * The acceptor strategy to run. 'auto' prefers handoff (least-loaded
 * balancing, the main thread sees every connection), then reuseport (kernel
 * balancing), then shared (one accept queue polled by every worker). A
 * strategy named in the config that this Node lacks is an error, not a
 * silent downgrade: the operator asked for it.
 */
export function chooseAcceptor(configured: AcceptorSetting, v: NodeVersion = parseNodeVersion(), platform: string = process.platform): AcceptorKind {
  const available: Record<AcceptorKind, boolean> = {
    handoff: canTransferSockets(v),
    reuseport: hasReusePort(v, platform),
    shared: hasSharedListeners(platform),
  };
  if (configured === 'auto') {
    for (const kind of ['handoff', 'reuseport', 'shared'] as const) if (available[kind]) return kind;
    throw new ZproxyError({ code: 'runtime.acceptor-unsupported', message: `no acceptor strategy works on Node ${v.major}.${v.minor}.${v.patch} (${platform})`, source: 'node-features' });
  }
  if (available[configured]) return configured;
  throw new ZproxyError({
    code: 'runtime.acceptor-unsupported',
    message: `server.acceptor '${configured}' needs ${NEEDS[configured]}; this is Node ${v.major}.${v.minor}.${v.patch} on ${platform}. Use 'auto' or 'shared'.`,
    source: 'node-features',
    context: { acceptor: configured, node: `${v.major}.${v.minor}.${v.patch}`, platform },
  });
}
