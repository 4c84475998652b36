/**
 * Rules JSON Schema cannot express: names that must refer to something
 * defined elsewhere in the config, files that must be readable, and
 * combinations of keys (a stream listener needs an upstream, h2 needs TLS,
 * two listeners cannot share an address and port). Runs on the normalized
 * config; `raw` is the tree before defaults, for "was this key written?".
 */

import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { unknownAccessLogVariables, ACCESS_LOG_VARIABLES } from './access-log-variables.js';
import { childPointer, pointerSegments, type ConfigIssue } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import { UNRESOLVED_CERTIFICATE } from './normalize-config.js';
import { checkRoutePaths, duplicateRouteIssues } from './route-path-checks.js';
import { pairProblem } from './tls-pair-check.js';
import type { HeaderOps, ListenerConfig, ZproxyConfig } from './types.js';

export interface CheckResult {
  /** Names or files that point at nothing (ConfigError code 'config.reference'). */
  references: ConfigIssue[];
  /** Contradictory or unsafe combinations (ConfigError code 'config.invalid'). */
  invalid: ConfigIssue[];
}

export function checkConfig(config: ZproxyConfig, raw: unknown): CheckResult {
  const result: CheckResult = { references: [], invalid: [] };
  checkServer(config, result);
  checkListeners(config, raw, result);
  checkBindConflicts(config, result);
  checkUpstreams(config, result);
  checkRoutes(config, result);
  checkMiddleware(config, result);
  checkLogging(config, result);
  checkAdmin(config, result);
  return result;
}

function checkServer({ server }: ZproxyConfig, result: CheckResult): void {
  if (server.watchdog.heartbeatIntervalMs >= server.watchdog.hangTimeoutMs) {
    result.invalid.push({ path: '/server/watchdog/heartbeatIntervalMs', message: `${server.watchdog.heartbeatIntervalMs} must be less than hangTimeoutMs (${server.watchdog.hangTimeoutMs}), or every worker looks hung` });
  }
  if (server.restart.backoffMaxMs < server.restart.backoffInitialMs) {
    result.invalid.push({ path: '/server/restart/backoffMaxMs', message: `${server.restart.backoffMaxMs} must be at least backoffInitialMs (${server.restart.backoffInitialMs})` });
  }
}

function checkListeners(config: ZproxyConfig, raw: unknown, result: CheckResult): void {
  const firstByName = new Map<string, number>();
  config.listeners.forEach((listener, i) => {
    const at = `/listeners/${i}`;
    const earlier = firstByName.get(listener.name);
    if (earlier === undefined) firstByName.set(listener.name, i);
    else result.invalid.push({ path: `${at}/name`, message: `duplicate listener name ${JSON.stringify(listener.name)} (also /listeners/${earlier}/name)` });
    if (listener.mode === 'stream') checkStreamListener(config, listener, at, valueAt(raw, `${at}/protocols`) !== undefined, result);
    else checkHttpListener(listener, at, result);
    checkListenerTls(listener, at, result);
  });
}

function checkStreamListener(config: ZproxyConfig, listener: ListenerConfig, at: string, protocolsWritten: boolean, result: CheckResult): void {
  if (protocolsWritten) result.invalid.push({ path: `${at}/protocols`, message: 'is only for http listeners (this listener has mode "stream")' });
  const hasSni = Object.keys(listener.sni).length > 0;
  if (listener.upstream === undefined && !hasSni) {
    result.invalid.push({ path: `${at}/upstream`, message: 'is required for a stream listener (or sni, to choose the upstream by server name)' });
  }
  if (listener.upstream !== undefined && hasSni) {
    result.invalid.push({ path: `${at}/sni`, message: 'cannot be combined with upstream: give one upstream, or sni (and defaultUpstream)' });
  }
  if (hasSni && listener.tls === undefined) result.invalid.push({ path: `${at}/sni`, message: 'needs tls: the server name comes from the TLS ClientHello' });
  if (listener.defaultUpstream !== undefined && !hasSni) result.invalid.push({ path: `${at}/defaultUpstream`, message: 'is only used with sni' });
  if (listener.upstream !== undefined) checkUpstreamName(config, listener.upstream, `${at}/upstream`, result);
  for (const [serverName, group] of Object.entries(listener.sni)) checkUpstreamName(config, group, childPointer(`${at}/sni`, serverName), result);
  if (listener.defaultUpstream !== undefined) checkUpstreamName(config, listener.defaultUpstream, `${at}/defaultUpstream`, result);
  // A stream listener relays bytes, not HTTP requests: an HTTP/2 group has no byte stream to give it.
  const named: Array<[string, string]> = [];
  if (listener.upstream !== undefined) named.push([listener.upstream, `${at}/upstream`]);
  for (const [serverName, group] of Object.entries(listener.sni)) named.push([group, childPointer(`${at}/sni`, serverName)]);
  if (listener.defaultUpstream !== undefined) named.push([listener.defaultUpstream, `${at}/defaultUpstream`]);
  for (const [group, path] of named) {
    if (config.upstreams[group]?.protocol === 'h2') result.invalid.push({ path, message: `upstream ${JSON.stringify(group)} has protocol "h2": a stream listener needs a byte-stream upstream`, hint: 'use a group with protocol "http1" (the default)' });
  }
  if (listener.tls !== undefined && !listener.tls.passthrough) {
    result.invalid.push({ path: `${at}/tls`, message: 'stream listeners do not terminate TLS: set passthrough to true (the upstream terminates it)', hint: 'to terminate TLS, use an http listener' });
  }
  if (listener.tls?.passthrough) {
    // The client's TLS bytes go through unchanged: TLS to the upstream on top would wrap them twice.
    for (const name of [listener.upstream, listener.defaultUpstream, ...Object.values(listener.sni)]) {
      if (name !== undefined && config.upstreams[name]?.tls?.enabled) result.invalid.push({ path: childPointer('/upstreams', name) + '/tls', message: `must be off: the group receives TLS passthrough from listener ${JSON.stringify(listener.name)}` });
    }
  }
}

function checkHttpListener(listener: ListenerConfig, at: string, result: CheckResult): void {
  for (const key of ['upstream', 'defaultUpstream'] as const) {
    if (listener[key] !== undefined) result.invalid.push({ path: `${at}/${key}`, message: 'is only for stream listeners; http listeners send requests by routes' });
  }
  if (Object.keys(listener.sni).length > 0) result.invalid.push({ path: `${at}/sni`, message: 'is only for stream listeners; http listeners send requests by routes' });
  if (listener.protocols.includes('h2') && listener.tls === undefined) {
    result.invalid.push({ path: `${at}/protocols`, message: '"h2" needs tls (HTTP/2 is negotiated by ALPN)', hint: 'add tls, or use "h2c" for cleartext HTTP/2' });
  }
}

function checkListenerTls(listener: ListenerConfig, at: string, result: CheckResult): void {
  const tls = listener.tls;
  if (tls === undefined) return;
  if (tls.passthrough) {
    if (listener.mode !== 'stream') result.invalid.push({ path: `${at}/tls/passthrough`, message: 'is only for stream listeners: an http listener must terminate TLS to read requests' });
    if (tls.certificates.length > 0) result.invalid.push({ path: `${at}/tls/certificates`, message: 'are not used with passthrough: TLS is terminated by the upstream' });
    return;
  }
  if (tls.certificates.length === 0) {
    result.invalid.push({ path: `${at}/tls/certificates`, message: 'is required unless passthrough is true' });
    return;
  }
  if (tls.defaultCertificate === UNRESOLVED_CERTIFICATE) {
    result.invalid.push({ path: `${at}/tls/defaultCertificate`, message: `must be an index below ${tls.certificates.length} or one of the certificates' serverNames` });
  }
  tls.certificates.forEach((certificate, c) => {
    const before = result.references.length;
    checkReadableFile(certificate.certFile, `${at}/tls/certificates/${c}/certFile`, result);
    checkReadableFile(certificate.keyFile, `${at}/tls/certificates/${c}/keyFile`, result);
    if (result.references.length > before) return;
    // Loaded as the listener will load it: a malformed or mismatched pair fails here, not at the first handshake.
    const problem = pairProblem(certificate.certFile, certificate.keyFile, { minVersion: tls.minVersion, ciphers: tls.ciphers });
    if (problem !== undefined) result.invalid.push({ path: `${at}/tls/certificates/${c}`, message: `${certificate.certFile} / ${certificate.keyFile}: ${problem}`, hint: 'fix certFile and keyFile so they name a PEM certificate and its own private key' });
  });
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);

/** Two binds conflict on the same port when the addresses are equal or either is a wildcard (EADDRINUSE). */
function checkBindConflicts(config: ZproxyConfig, result: CheckResult): void {
  const binds: Array<{ what: string; path: string; address: string; port: number }> = [];
  config.listeners.forEach((l, i) => binds.push({ what: `listener ${JSON.stringify(l.name)}`, path: `/listeners/${i}/port`, address: l.address, port: l.port }));
  if (config.admin.enabled) binds.push({ what: 'the admin API', path: '/admin/port', address: config.admin.address, port: config.admin.port });
  if (config.demo.enabled) binds.push({ what: 'the demo server', path: '/demo/port', address: config.demo.address, port: config.demo.port });
  for (let b = 1; b < binds.length; b++) {
    const bind = binds[b];
    if (bind.port === 0) continue; // ephemeral: the kernel picks distinct ports
    const clash = binds.slice(0, b).find((other) => other.port === bind.port && (other.address === bind.address || WILDCARD_ADDRESSES.has(other.address) || WILDCARD_ADDRESSES.has(bind.address)));
    if (clash !== undefined) {
      result.invalid.push({ path: bind.path, message: `${formatBind(bind.address, bind.port)} is already used by ${clash.what} (${clash.path})` });
    }
  }
}

function formatBind(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

function checkUpstreams(config: ZproxyConfig, result: CheckResult): void {
  for (const group of Object.values(config.upstreams)) {
    const at = childPointer('/upstreams', group.name);
    group.hosts.forEach((host, h) => {
      if (host.port < 1 || host.port > 65535) result.invalid.push({ path: `${at}/hosts/${h}`, message: `port ${host.port} in ${JSON.stringify(host.address)} must be from 1 to 65535` });
    });
    // The HTTP health probe speaks HTTP/1.1, which an HTTP/2-only server refuses: every host would be marked down.
    if (group.protocol === 'h2' && group.healthCheck?.path !== undefined) {
      result.invalid.push({ path: `${at}/healthCheck/path`, message: 'is not supported with protocol "h2": the HTTP health probe speaks HTTP/1.1', hint: 'omit path for a TCP (or TLS) connect check' });
    }
    const tls = group.tls;
    if (tls !== undefined) {
      if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
        const missing = tls.certFile === undefined ? 'certFile' : 'keyFile';
        result.invalid.push({ path: `${at}/tls/${missing}`, message: 'is required: client certificates need both certFile and keyFile' });
      }
      for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
        const file = tls[key];
        if (file !== undefined) checkReadableFile(file, `${at}/tls/${key}`, result);
      }
    }
    if (group.healthCheck !== undefined && group.healthCheck.timeoutMs > group.healthCheck.intervalMs) {
      result.invalid.push({ path: `${at}/healthCheck/timeoutMs`, message: `${group.healthCheck.timeoutMs} must not exceed intervalMs (${group.healthCheck.intervalMs})` });
    }
  }
}

function checkRoutes(config: ZproxyConfig, result: CheckResult): void {
  const firstByName = new Map<string, number>();
  config.routes.forEach((route, i) => {
    const at = `/routes/${i}`;
    const earlier = firstByName.get(route.name);
    if (earlier === undefined) firstByName.set(route.name, i);
    else result.invalid.push({ path: `${at}/name`, message: `duplicate route name ${JSON.stringify(route.name)} (also /routes/${earlier})` });
    checkUpstreamName(config, route.upstream, `${at}/upstream`, result);
    route.middleware.forEach((name, m) => {
      if (config.middleware[name] !== undefined) return;
      const defined = Object.keys(config.middleware);
      result.references.push({
        path: `${at}/middleware/${m}`,
        message: `middleware ${JSON.stringify(name)} is not defined in /middleware`,
        hint: didYouMean(name, defined) ?? (defined.length === 0 ? 'no middleware is defined' : `defined: ${defined.join(', ')}`),
      });
    });
    result.invalid.push(...checkRoutePaths(route, at));
    result.invalid.push(...framingHeaderIssues(route.headers, `${at}/headers`));
  });
  result.invalid.push(...duplicateRouteIssues(config.routes));
}

function checkMiddleware(config: ZproxyConfig, result: CheckResult): void {
  for (const m of Object.values(config.middleware)) {
    const at = childPointer('/middleware', m.name);
    switch (m.type) {
      case 'api-key':
        if (m.keys.length === 0 && m.keysFile === undefined) result.invalid.push({ path: `${at}/keys`, message: 'is required unless keysFile is given' });
        if (m.keysFile !== undefined) checkReadableFile(m.keysFile, `${at}/keysFile`, result);
        break;
      case 'rate-limit':
        if (m.backend === 'redis' && m.redis === undefined) result.invalid.push({ path: `${at}/redis`, message: 'is required when backend is "redis"' });
        break;
      case 'cors':
        if (m.origins.length === 0 && m.originRegex.length === 0) result.invalid.push({ path: `${at}/origins`, message: 'must list at least one origin unless originRegex is given' });
        m.originRegex.forEach((source, i) => {
          try {
            new RegExp(source);
          } catch (err) {
            result.invalid.push({ path: `${at}/originRegex/${i}`, message: `is not a valid regular expression: ${(err as Error).message}` });
          }
        });
        if (m.credentials && m.origins.includes('*')) {
          result.invalid.push({ path: `${at}/credentials`, message: 'cannot be true with origin "*": browsers refuse credentialed responses to a wildcard origin (Fetch standard)', hint: 'list the origins' });
        }
        break;
      case 'cache':
        if (m.maxObjectBytes > m.maxBytes) result.invalid.push({ path: `${at}/maxObjectBytes`, message: `${m.maxObjectBytes} must not exceed maxBytes (${m.maxBytes})` });
        break;
      case 'plugin':
        checkReadableFile(m.module, `${at}/module`, result);
        break;
      case 'headers':
        result.invalid.push(...framingHeaderIssues(m, at));
        break;
      case 'compression':
        break;
    }
  }
}

/**
 * Header rules may not touch the framing fields: the body is forwarded as it
 * was framed, so a rule changing Content-Length or Transfer-Encoding would let
 * the upstream frame it differently (request smuggling by configuration).
 */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

function framingHeaderIssues(rules: { request: HeaderOps; response: HeaderOps }, at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const direction of ['request', 'response'] as const) {
    const ops = rules[direction];
    for (const op of ['add', 'set'] as const) {
      for (const name of Object.keys(ops[op])) {
        if (FRAMING_HEADERS.has(name.toLowerCase())) issues.push({ path: `${at}/${direction}/${op}/${name}`, message: `${name} is message framing and cannot be rewritten (zproxy forwards the body as it was framed)` });
      }
    }
    ops.remove.forEach((name, i) => {
      if (FRAMING_HEADERS.has(name.toLowerCase())) issues.push({ path: `${at}/${direction}/remove/${i}`, message: `${name} is message framing and cannot be removed (zproxy forwards the body as it was framed)` });
    });
  }
  return issues;
}

function checkLogging({ logging }: ZproxyConfig, result: CheckResult): void {
  for (const name of unknownAccessLogVariables(logging.access.format)) {
    result.invalid.push({
      path: '/logging/access/format',
      message: `unknown variable $${name}`,
      hint: didYouMean(`$${name}`, ACCESS_LOG_VARIABLES.map((v) => `$${v}`)) ?? 'see docs/configuration.md for the variables',
    });
  }
}

function checkAdmin({ admin }: ZproxyConfig, result: CheckResult): void {
  if (admin.enabled && admin.token === undefined && !isLoopback(admin.address)) {
    result.invalid.push({ path: '/admin/token', message: `is required when the admin API listens on ${JSON.stringify(admin.address)}, which is not a loopback address` });
  }
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);
}

function checkUpstreamName(config: ZproxyConfig, name: string, path: string, result: CheckResult): void {
  if (config.upstreams[name] !== undefined) return;
  const defined = Object.keys(config.upstreams);
  result.references.push({
    path,
    message: `upstream ${JSON.stringify(name)} is not defined in /upstreams`,
    hint: didYouMean(name, defined) ?? (defined.length === 0 ? 'no upstream is defined' : `defined: ${defined.join(', ')}`),
  });
}

function checkReadableFile(file: string, path: string, result: CheckResult): void {
  // A private key pasted where its file name belongs: saying so without quoting it keeps the key out of logs.
  if (file.includes('-----BEGIN ')) {
    result.references.push({ path, message: 'holds PEM text, not a file name', hint: 'write the PEM to a file and give its path' });
    return;
  }
  try {
    if (!statSync(file).isFile()) {
      result.references.push({ path, message: `${file} is not a file` });
      return;
    }
    accessSync(file, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? error);
    result.references.push({ path, message: `cannot read ${file}: ${reason}` });
  }
}

function valueAt(tree: unknown, pointer: string): unknown {
  let node = tree;
  for (const segment of pointerSegments(pointer)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
