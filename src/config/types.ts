/**
 * The config as the rest of zproxy sees it: after ajv applied the schema's
 * defaults and the loader normalized it (host strings split, route names
 * filled, relative file paths made absolute). Every defaulted key is present;
 * optional keys are the ones with no default. conf/zproxy.schema.json is the
 * source of the meanings and defaults; docs/configuration.md is generated from it.
 */

export interface ZproxyConfig {
  server: ServerConfig;
  listeners: ListenerConfig[];
  /** Upstream groups by name. */
  upstreams: Record<string, UpstreamGroupConfig>;
  /** In config order; the router picks the most specific match (actors/router/route-table.ts). */
  routes: RouteConfig[];
  /** Middleware instances by name. */
  middleware: Record<string, MiddlewareConfig>;
  logging: LoggingConfig;
  admin: AdminConfig;
  demo: DemoConfig;
}

// ---------------------------------------------------------------- server

export type WorkerCount = 'auto' | number;
export type AcceptorMode = 'auto' | 'handoff' | 'reuseport' | 'shared';
export type PlacementMode = 'local' | 'pipelined' | 'postmessage';

export interface ServerConfig {
  workers: WorkerCount;
  acceptor: AcceptorMode;
  placement: PlacementMode;
  pinning: boolean;
  /** Reload when the config file changes (src/cli/config-watcher.ts). */
  watchConfig: boolean;
  watchdog: WatchdogConfig;
  restart: RestartConfig;
  limits: LimitsConfig;
  overload: OverloadConfig;
  rebalance: RebalanceConfig;
  timeouts: ServerTimeoutsConfig;
}

/** Per-worker load shedding thresholds (actors/worker/overload-monitor.ts); 0 turns one off. */
export interface OverloadConfig {
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
  sampleIntervalMs: number;
}

/** Supervisor-side connection rebalancing (actors/supervisor/rebalancer.ts). */
export interface RebalanceConfig {
  enabled: boolean;
  intervalMs: number;
  ratio: number;
  minConnections: number;
}

export interface WatchdogConfig {
  hangTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export interface RestartConfig {
  maxRestarts: number;
  withinMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A warmed spare worker thread replaces a dead worker (actors/supervisor/standby-worker.ts). */
  standby: boolean;
}

/** 0 means unlimited for maxBodyBytes, maxConnections, maxConnectionsPerWorker, maxRequestsPerConnection. */
export interface LimitsConfig {
  maxRequestLineBytes: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  maxBodyBytes: number;
  maxConnections: number;
  maxConnectionsPerWorker: number;
  maxRequestsPerConnection: number;
}

export interface ServerTimeoutsConfig {
  headerMs: number;
  clientIdleMs: number;
  clientBodyMs: number;
  drainMs: number;
  drainIdleMs: number;
  handshakeMs: number;
}

// ---------------------------------------------------------------- listeners

export type ListenerMode = 'http' | 'stream';
export type ListenerProtocol = 'http1' | 'h2' | 'h2c';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ListenerConfig {
  name: string;
  /** Bind address; IPv6 without brackets ("::1"). */
  address: string;
  /** 0 = ephemeral (tests). */
  port: number;
  mode: ListenerMode;
  /** HTTP versions offered; empty for stream listeners. */
  protocols: ListenerProtocol[];
  tls?: ListenerTlsConfig;
  /** Stream mode: the one upstream group (absent when sni routing is used). */
  upstream?: string;
  /** Stream mode: lowercase server name (exact or "*.example.com") -> upstream group; empty when unused. */
  sni: Record<string, string>;
  /** Stream mode with sni: group for unmatched names; absent = close the connection. */
  defaultUpstream?: string;
}

export interface ListenerTlsConfig {
  /** Empty only when passthrough is true. */
  certificates: TlsCertificateConfig[];
  /** Index into certificates (resolved from a name if one was given); 0 when there are none. */
  defaultCertificate: number;
  minVersion: TlsVersion;
  ciphers?: string;
  passthrough: boolean;
}

export interface TlsCertificateConfig {
  /** Lowercase; exact or "*.example.com". */
  serverNames: string[];
  /** Absolute paths. */
  certFile: string;
  keyFile: string;
}

// ---------------------------------------------------------------- upstreams

export type BalancingStrategy = 'round-robin' | 'first' | 'least-connections' | 'host' | 'sni';
export type UpstreamProtocol = 'http1' | 'h2';

export interface UpstreamGroupConfig {
  /** The group's key in `upstreams`. */
  name: string;
  hosts: UpstreamHost[];
  strategy: BalancingStrategy;
  protocol: UpstreamProtocol;
  tls?: UpstreamTlsConfig;
  pool: UpstreamPoolConfig;
  timeouts: UpstreamTimeoutsConfig;
  retries: number;
  healthCheck?: HealthCheckConfig;
  passive?: PassiveHealthConfig;
}

export interface UpstreamHost {
  /** Host name or IP; IPv6 without brackets ("::1"). */
  host: string;
  port: number;
  weight: number;
  /** As written in the config: "10.0.0.5:8080", "[::1]:8080". */
  address: string;
}

export interface UpstreamTlsConfig {
  enabled: boolean;
  /** Absolute paths when set. */
  caFile?: string;
  servername?: string;
  certFile?: string;
  keyFile?: string;
  insecure: boolean;
}

export interface UpstreamPoolConfig {
  /** Per worker; 0 = unlimited. */
  maxConnections: number;
  /** Requests waiting for a free connection when maxConnections are busy, per worker; 0 = unlimited. */
  maxPending: number;
  maxIdle: number;
  idleTimeoutMs: number;
}

export interface UpstreamTimeoutsConfig {
  resolveMs: number;
  connectMs: number;
  readMs: number;
  writeMs: number;
  idleMs: number;
}

export interface HealthCheckConfig {
  intervalMs: number;
  timeoutMs: number;
  /** Absent: the probe is a TCP connect. */
  path?: string;
  expectStatus: number;
  rise: number;
  fall: number;
}

export interface PassiveHealthConfig {
  maxFailures: number;
  cooldownMs: number;
}

// ---------------------------------------------------------------- routes

export interface RouteConfig {
  /** As configured, or "route-<index>". */
  name: string;
  /** Lowercase host patterns (exact or "*.example.com"); empty = any host. */
  host: string[];
  /** "/exact", "/prefix/*", "/users/:id". */
  path: string;
  /** Uppercase methods; empty = any method. */
  methods: string[];
  upstream: string;
  rewrite?: RouteRewriteConfig;
  headers: HeaderRules;
  /** Names of middleware, run in this order. */
  middleware: string[];
  timeouts: RouteTimeoutsConfig;
}

export interface RouteRewriteConfig {
  /** Template: `:name` and `*` are replaced by what the route path captured. */
  path?: string;
  /** Host header sent upstream. */
  host?: string;
}

export interface RouteTimeoutsConfig {
  readMs?: number;
}

/** Applied in order: remove, then set, then add. */
export interface HeaderOps {
  add: Record<string, string>;
  set: Record<string, string>;
  remove: string[];
}

export interface HeaderRules {
  request: HeaderOps;
  response: HeaderOps;
}

// ---------------------------------------------------------------- middleware

export type MiddlewareConfig =
  | HeadersMiddlewareConfig
  | ApiKeyMiddlewareConfig
  | RateLimitMiddlewareConfig
  | CorsMiddlewareConfig
  | CacheMiddlewareConfig
  | CompressionMiddlewareConfig
  | PluginMiddlewareConfig;

export type MiddlewareType = MiddlewareConfig['type'];

export interface HeadersMiddlewareConfig {
  type: 'headers';
  /** The key in `middleware`. */
  name: string;
  request: HeaderOps;
  response: HeaderOps;
}

export interface ApiKeyMiddlewareConfig {
  type: 'api-key';
  name: string;
  /** Inline keys; may be empty when keysFile is set. */
  keys: ApiKey[];
  /** Absolute path. */
  keysFile?: string;
  /** Lowercase header name. */
  header: string;
  queryParam?: string;
}

export interface ApiKey {
  name: string;
  key: string;
}

/** "ip" | "api-key" | "route" | "header:<lowercase name>". */
export type RateLimitKey = 'ip' | 'api-key' | 'route' | `header:${string}`;

export interface RateLimitMiddlewareConfig {
  type: 'rate-limit';
  name: string;
  /** Tokens per second. */
  rate: number;
  /** Bucket size; defaults to ceil(rate), at least 1. */
  burst: number;
  key: RateLimitKey;
  backend: 'local' | 'redis';
  /** Present when backend is "redis". */
  redis?: RedisConfig;
}

export interface RedisConfig {
  url: string;
  failMode: 'open' | 'closed';
}

export interface CorsMiddlewareConfig {
  type: 'cors';
  name: string;
  /** Exact origins, "https://*.suffix" wildcards, or "*". */
  origins: string[];
  /** Regular expression sources, matched against the whole Origin. */
  originRegex: string[];
  methods: string[];
  headers: string[];
  exposeHeaders: string[];
  credentials: boolean;
  maxAgeSeconds: number;
}

export interface CacheMiddlewareConfig {
  type: 'cache';
  name: string;
  maxBytes: number;
  maxObjectBytes: number;
  /** 0: responses without explicit freshness are not cached. */
  defaultTtlMs: number;
}

export type CompressionAlgorithm = 'br' | 'gzip';

export interface CompressionMiddlewareConfig {
  type: 'compression';
  name: string;
  types: string[];
  minBytes: number;
  algorithms: CompressionAlgorithm[];
}

export interface PluginMiddlewareConfig {
  type: 'plugin';
  name: string;
  /** Absolute path of the ES module. */
  module: string;
  options: Record<string, unknown>;
  pool: boolean;
}

// ---------------------------------------------------------------- logging, admin, demo

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LoggingConfig {
  level: LogLevel;
  app: { path: string };
  access: AccessLogConfig;
}

export interface AccessLogConfig {
  enabled: boolean;
  /** Absolute path ("/dev/stdout" by default). */
  path: string;
  /** Uses the variables in ACCESS_LOG_VARIABLES (src/config/access-log-variables.ts). */
  format: string;
  json: boolean;
  ringBytes: number;
}

export interface AdminConfig {
  enabled: boolean;
  address: string;
  port: number;
  token?: string;
}

export interface DemoConfig {
  enabled: boolean;
  address: string;
  port: number;
}
