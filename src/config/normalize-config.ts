/**
 * Shapes a schema-valid, defaults-applied config tree into the types of
 * types.ts: host strings split into host and port, route and middleware names
 * filled in, server names lowercased, relative file paths made absolute
 * against the config file's folder. It never rejects anything: values the
 * checks in config-checks.ts must refuse (a port of 70000 in "h:70000", a
 * defaultCertificate naming no certificate) are carried through for them.
 */

import { isAbsolute, resolve } from 'node:path';
import type {
  ListenerConfig,
  ListenerTlsConfig,
  MiddlewareConfig,
  RouteConfig,
  UpstreamGroupConfig,
  UpstreamHost,
  UpstreamTlsConfig,
  ZproxyConfig,
} from './types.js';

/** The validated tree: shaped by the schema, so the casts below only narrow what ajv already proved. */
type Tree = Record<string, any>;

/** defaultCertificate that names no certificate; config-checks.ts reports it. */
export const UNRESOLVED_CERTIFICATE = -1;

export function normalizeConfig(tree: Tree, baseDir: string): ZproxyConfig {
  const file = (p: string): string => resolveConfigPath(baseDir, p);
  return {
    server: tree.server,
    listeners: (tree.listeners as Tree[]).map((l) => normalizeListener(l, file)),
    upstreams: Object.fromEntries(Object.entries(tree.upstreams as Record<string, Tree>).map(([name, g]) => [name, normalizeUpstream(name, g, file)])),
    routes: (tree.routes as Tree[]).map(normalizeRoute),
    middleware: Object.fromEntries(Object.entries(tree.middleware as Record<string, Tree>).map(([name, m]) => [name, normalizeMiddleware(name, m, file)])),
    logging: {
      level: tree.logging.level,
      app: { path: file(tree.logging.app.path) },
      access: { ...tree.logging.access, path: file(tree.logging.access.path) },
    },
    admin: { ...tree.admin, address: unbracket(tree.admin.address) },
    demo: { ...tree.demo, address: unbracket(tree.demo.address) },
  };
}

/** Relative paths in a config are relative to the config file's folder, not the working directory. */
export function resolveConfigPath(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** "10.0.0.5:8080" or "[::1]:8080" -> parts; the schema's pattern has already checked the form. */
export function parseHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return { host: unbracket(host), port: Number(address.slice(colon + 1)) };
}

function unbracket(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

function normalizeListener(l: Tree, file: (p: string) => string): ListenerConfig {
  const listener: ListenerConfig = {
    name: l.name,
    address: unbracket(l.address),
    port: l.port,
    mode: l.mode,
    protocols: l.mode === 'stream' ? [] : l.protocols,
    sni: Object.fromEntries(Object.entries((l.sni ?? {}) as Record<string, string>).map(([name, group]) => [name.toLowerCase(), group])),
  };
  if (l.tls !== undefined) listener.tls = normalizeListenerTls(l.tls, file);
  if (l.upstream !== undefined) listener.upstream = l.upstream;
  if (l.defaultUpstream !== undefined) listener.defaultUpstream = l.defaultUpstream;
  return listener;
}

function normalizeListenerTls(tls: Tree, file: (p: string) => string): ListenerTlsConfig {
  const certificates = ((tls.certificates ?? []) as Tree[]).map((c) => ({
    serverNames: (c.serverNames as string[]).map((n) => n.toLowerCase()),
    certFile: file(c.certFile),
    keyFile: file(c.keyFile),
  }));
  const normalized: ListenerTlsConfig = {
    certificates,
    defaultCertificate: resolveDefaultCertificate(tls.defaultCertificate, certificates),
    minVersion: tls.minVersion,
    passthrough: tls.passthrough,
  };
  if (tls.ciphers !== undefined) normalized.ciphers = tls.ciphers;
  return normalized;
}

function resolveDefaultCertificate(value: number | string | undefined, certificates: Array<{ serverNames: string[] }>): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value < certificates.length ? value : UNRESOLVED_CERTIFICATE;
  const wanted = value.toLowerCase();
  return certificates.findIndex((c) => c.serverNames.includes(wanted));
}

function normalizeUpstream(name: string, g: Tree, file: (p: string) => string): UpstreamGroupConfig {
  const group: UpstreamGroupConfig = {
    name,
    hosts: (g.hosts as Array<string | Tree>).map(normalizeHost),
    strategy: g.strategy,
    protocol: g.protocol,
    pool: g.pool,
    timeouts: g.timeouts,
    retries: g.retries,
  };
  if (g.tls !== undefined) group.tls = normalizeUpstreamTls(g.tls, file);
  if (g.healthCheck !== undefined) group.healthCheck = g.healthCheck;
  if (g.passive !== undefined) group.passive = g.passive;
  return group;
}

function normalizeHost(entry: string | Tree): UpstreamHost {
  const address: string = typeof entry === 'string' ? entry : entry.address;
  const weight: number = typeof entry === 'string' ? 1 : entry.weight;
  return { ...parseHostPort(address), weight, address };
}

function normalizeUpstreamTls(tls: Tree, file: (p: string) => string): UpstreamTlsConfig {
  const normalized: UpstreamTlsConfig = { enabled: tls.enabled, insecure: tls.insecure };
  if (tls.caFile !== undefined) normalized.caFile = file(tls.caFile);
  if (tls.servername !== undefined) normalized.servername = tls.servername;
  if (tls.certFile !== undefined) normalized.certFile = file(tls.certFile);
  if (tls.keyFile !== undefined) normalized.keyFile = file(tls.keyFile);
  return normalized;
}

function normalizeRoute(r: Tree, index: number): RouteConfig {
  const hosts: string[] = r.host === undefined ? [] : typeof r.host === 'string' ? [r.host] : r.host;
  const route: RouteConfig = {
    name: r.name ?? `route-${index}`,
    host: hosts.map((h) => h.toLowerCase()),
    path: r.path,
    methods: r.methods ?? [],
    upstream: r.upstream,
    headers: r.headers,
    middleware: r.middleware,
    timeouts: r.timeouts,
  };
  if (r.rewrite !== undefined) route.rewrite = r.rewrite;
  return route;
}

function normalizeMiddleware(name: string, m: Tree, file: (p: string) => string): MiddlewareConfig {
  switch (m.type as MiddlewareConfig['type']) {
    case 'api-key': {
      const { keysFile, ...rest } = m;
      return { ...rest, name, keys: m.keys ?? [], header: String(m.header).toLowerCase(), ...(keysFile === undefined ? {} : { keysFile: file(keysFile) }) } as MiddlewareConfig;
    }
    case 'rate-limit': {
      const key = String(m.key);
      return { ...m, name, burst: m.burst ?? Math.max(1, Math.ceil(m.rate)), key: key.startsWith('header:') ? key.toLowerCase() : key } as MiddlewareConfig;
    }
    case 'plugin':
      return { ...m, name, module: file(m.module) } as MiddlewareConfig;
    case 'headers':
    case 'cors':
    case 'cache':
    case 'compression':
      return { ...m, name } as MiddlewareConfig;
  }
}
