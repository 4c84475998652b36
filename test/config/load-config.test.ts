import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfigFile, parseConfig, parseJsonText } from '../../src/config/load-config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CERT = join(ROOT, 'conf/examples/certs/localhost.crt');
const KEY = join(ROOT, 'conf/examples/certs/localhost.key');

type Json = Record<string, any>;

function minimal(): Json {
  return {
    listeners: [{ name: 'http', port: 8080 }],
    upstreams: { api: { hosts: ['127.0.0.1:3000'] } },
    routes: [{ path: '/*', upstream: 'api' }],
  };
}

/** The ConfigError parseConfig throws for config, checked to be one. */
function rejection(config: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(config, 'test.json', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('config was accepted');
}

function withTempDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'zproxy-config-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('defaults and normalization', () => {
  test('fills every defaulted key of a minimal config', () => {
    const config = parseConfig(minimal(), 'test.json', {});
    assert.deepEqual(config.server, {
      workers: 'auto',
      acceptor: 'auto',
      placement: 'local',
      pinning: true,
      watchConfig: false,
      watchdog: { hangTimeoutMs: 2000, heartbeatIntervalMs: 100 },
      restart: { maxRestarts: 5, withinMs: 10000, backoffInitialMs: 100, backoffMaxMs: 5000, standby: true },
      limits: { maxRequestLineBytes: 8192, maxHeaderBytes: 32768, maxHeaderCount: 100, maxBodyBytes: 0, maxConnections: 0, maxConnectionsPerWorker: 0, maxRequestsPerConnection: 0 },
      overload: { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0, maxHeapUsedBytes: 0, maxRssBytes: 0, sampleIntervalMs: 250 },
      rebalance: { enabled: true, intervalMs: 5000, ratio: 1.5, minConnections: 64 },
      timeouts: { headerMs: 10000, clientIdleMs: 60000, clientBodyMs: 60000, drainMs: 10000, drainIdleMs: 1000, handshakeMs: 10000 },
    });
    assert.deepEqual(config.listeners, [{ name: 'http', address: '127.0.0.1', port: 8080, mode: 'http', protocols: ['http1'], sni: {} }]);
    assert.deepEqual(config.upstreams.api, {
      name: 'api',
      hosts: [{ host: '127.0.0.1', port: 3000, weight: 1, address: '127.0.0.1:3000' }],
      strategy: 'round-robin',
      protocol: 'http1',
      pool: { maxConnections: 0, maxPending: 1024, maxIdle: 64, idleTimeoutMs: 60000 },
      timeouts: { resolveMs: 2000, connectMs: 5000, readMs: 60000, writeMs: 60000, idleMs: 60000 },
      retries: 2,
    });
    const noHeaders = { add: {}, set: {}, remove: [] };
    assert.deepEqual(config.routes, [{ name: 'route-0', host: [], path: '/*', methods: [], upstream: 'api', headers: { request: noHeaders, response: noHeaders }, middleware: [], timeouts: {} }]);
    assert.deepEqual(config.middleware, {});
    assert.equal(config.logging.level, 'info');
    assert.deepEqual(config.logging.app, { path: '/dev/stderr' });
    assert.equal(config.logging.access.path, '/dev/stdout');
    assert.equal(config.logging.access.enabled, true);
    assert.equal(config.logging.access.json, false);
    assert.equal(config.logging.access.ringBytes, 4 * 1024 * 1024);
    assert.match(config.logging.access.format, /^\$client_addr - - \[\$time_iso8601\] "\$request_method \$request_uri \$protocol" \$status /);
    assert.deepEqual(config.admin, { enabled: true, address: '127.0.0.1', port: 9901 });
    assert.deepEqual(config.demo, { enabled: false, address: '127.0.0.1', port: 8081 });
  });

  test('does not modify the object it is given', () => {
    const input = minimal();
    const before = JSON.stringify(input);
    parseConfig(input, 'test.json', {});
    assert.equal(JSON.stringify(input), before);
  });

  test('splits host strings, IPv6 included, and keeps weights', () => {
    const input = minimal();
    input.upstreams.api.hosts = ['[::1]:8080', { address: 'backend.internal:443', weight: 3 }, { address: '10.0.0.1:80' }];
    const config = parseConfig(input, 'test.json', {});
    assert.deepEqual(config.upstreams.api.hosts, [
      { host: '::1', port: 8080, weight: 1, address: '[::1]:8080' },
      { host: 'backend.internal', port: 443, weight: 3, address: 'backend.internal:443' },
      { host: '10.0.0.1', port: 80, weight: 1, address: '10.0.0.1:80' },
    ]);
  });

  test('names routes by index, lowercases hosts and keeps methods', () => {
    const input = minimal();
    input.routes = [
      { name: 'api', host: 'API.Example.com', path: '/api/*', methods: ['GET', 'POST'], upstream: 'api' },
      { host: ['a.example.com', '*.B.example.com'], path: '/*', upstream: 'api' },
    ];
    const config = parseConfig(input, 'test.json', {});
    assert.deepEqual(config.routes.map((r) => [r.name, r.host, r.methods]), [
      ['api', ['api.example.com'], ['GET', 'POST']],
      ['route-1', ['a.example.com', '*.b.example.com'], []],
    ]);
  });

  test('gives middleware their names and a rate limit a burst of ceil(rate)', () => {
    const input = minimal();
    input.middleware = {
      slow: { type: 'rate-limit', rate: 2.5, key: 'header:X-User-Id' },
      tiny: { type: 'rate-limit', rate: 0.2 },
      auth: { type: 'api-key', keys: [{ name: 'app', key: 'k1' }], header: 'X-Token' },
    };
    const config = parseConfig(input, 'test.json', {});
    assert.deepEqual(config.middleware.slow, { type: 'rate-limit', rate: 2.5, key: 'header:x-user-id', backend: 'local', name: 'slow', burst: 3 });
    assert.deepEqual(config.middleware.tiny, { type: 'rate-limit', rate: 0.2, key: 'ip', backend: 'local', name: 'tiny', burst: 1 });
    assert.deepEqual(config.middleware.auth, { type: 'api-key', keys: [{ name: 'app', key: 'k1' }], header: 'x-token', name: 'auth' });
  });

  test('empties protocols of a stream listener and resolves defaultCertificate names to indexes', () => {
    const input = minimal();
    input.listeners = [
      { name: 'tcp', port: 5432, mode: 'stream', upstream: 'api' },
      { name: 'tls', port: 8443, tls: { defaultCertificate: 'b.localhost', certificates: [
        { serverNames: ['A.localhost'], certFile: CERT, keyFile: KEY },
        { serverNames: ['b.localhost'], certFile: CERT, keyFile: KEY },
      ] } },
    ];
    const config = parseConfig(input, 'test.json', {});
    assert.deepEqual(config.listeners[0].protocols, []);
    assert.equal(config.listeners[1].tls?.defaultCertificate, 1);
    assert.deepEqual(config.listeners[1].tls?.certificates[0].serverNames, ['a.localhost']);
    assert.equal(config.listeners[1].tls?.minVersion, 'TLSv1.2');
    assert.equal(config.listeners[1].tls?.passthrough, false);
  });

  test('resolves relative file paths against the config file folder', () => {
    withTempDir((dir) => {
      mkdirSync(join(dir, 'certs'));
      // A real pair: the loader loads every certificate with its key (a mismatch is a config error).
      copyFileSync(CERT, join(dir, 'certs/site.crt'));
      copyFileSync(KEY, join(dir, 'certs/site.key'));
      const input = minimal();
      input.listeners[0].tls = { certificates: [{ certFile: 'certs/site.crt', keyFile: 'certs/site.key' }] };
      input.logging = { access: { path: 'logs/access.log' } };
      writeFileSync(join(dir, 'zproxy.json'), JSON.stringify(input));
      const config = loadConfigFile(join(dir, 'zproxy.json'), {});
      assert.deepEqual(config.listeners[0].tls?.certificates[0], { serverNames: [], certFile: join(dir, 'certs/site.crt'), keyFile: join(dir, 'certs/site.key') });
      assert.equal(config.logging.access.path, join(dir, 'logs/access.log'));
      assert.equal(config.logging.app.path, '/dev/stderr');
    });
  });
});

describe('schema rejections', () => {
  test('rejects an unknown key, naming its path and the near-miss', () => {
    const input = minimal();
    input.upstreams.api.timeout = { connectMs: 1 };
    const error = rejection(input);
    assert.equal(error.code, 'config.invalid');
    assert.deepEqual(error.format(), ['test.json: /upstreams/api/timeout: unknown key "timeout" (did you mean "timeouts"?)']);
  });

  test('lists the allowed keys when an unknown key is not a near miss', () => {
    const input = minimal();
    input.admin = { color: 'blue' };
    assert.deepEqual(rejection(input).format(), ['test.json: /admin/color: unknown key "color" (allowed keys: enabled, address, port, token)']);
  });

  test('rejects a bad enum value, listing the choices and the near miss', () => {
    const input = minimal();
    input.upstreams.api.strategy = 'round-robbin';
    const error = rejection(input);
    assert.deepEqual(error.issues, [{ path: '/upstreams/api/strategy', message: '"round-robbin" is not one of round-robin, first, least-connections, host, sni', hint: 'did you mean "round-robin"?' }]);
  });

  test('rejects a wrong type, naming the value found', () => {
    const input = minimal();
    input.listeners[0].port = '8080';
    assert.deepEqual(rejection(input).format(), ['test.json: /listeners/0/port: must be an integer from 0 to 65535, got "8080"']);
  });

  test('rejects an out-of-range port', () => {
    const input = minimal();
    input.listeners[0].port = 70000;
    assert.deepEqual(rejection(input).format(), ['test.json: /listeners/0/port: must be an integer from 0 to 65535, got 70000']);
  });

  test('rejects an upstream host port out of range', () => {
    const input = minimal();
    input.upstreams.api.hosts = ['127.0.0.1:99999'];
    assert.deepEqual(rejection(input).format(), ['test.json: /upstreams/api/hosts/0: port 99999 in "127.0.0.1:99999" must be from 1 to 65535']);
  });

  test('rejects a missing required key at the path it belongs to', () => {
    const input = minimal();
    delete input.routes[0].upstream;
    assert.deepEqual(rejection(input).format(), ['test.json: /routes/0/upstream: is required']);
  });

  test('rejects a config without listeners or upstreams', () => {
    assert.deepEqual(rejection({}).format(), ['test.json: /listeners: is required', 'test.json: /upstreams: is required']);
    assert.deepEqual(rejection({ ...minimal(), listeners: [] }).format(), ['test.json: /listeners: must not be empty']);
  });

  test('treats a "__proto__" key as an unknown key, not a prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "listeners": [{"name": "http", "port": 8080}], "upstreams": {"api": {"hosts": ["127.0.0.1:3000"]}}}');
    assert.deepEqual(rejection(input).format(), ['test.json: /__proto__: unknown key "__proto__" (allowed keys: $schema, server, listeners, upstreams, routes, middleware, logging, admin, demo)']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('rejects a config that is not an object', () => {
    assert.deepEqual(rejection([1, 2]).format(), ['test.json: must be an object, got an array']);
  });

  test('describes both forms of workers when neither fits', () => {
    for (const workers of ['lots', 0, true]) {
      const input = minimal();
      input.server = { workers };
      assert.deepEqual(rejection(input).format(), [`test.json: /server/workers: must be "auto" or an integer from 1 to 1024, got ${JSON.stringify(workers)}`]);
    }
  });

  test('rejects a host that is neither host:port nor an object', () => {
    const input = minimal();
    input.upstreams.api.hosts = ['localhost', 5];
    assert.deepEqual(rejection(input).format(), [
      'test.json: /upstreams/api/hosts/0: "localhost" is not a valid host:port (e.g. "10.0.0.5:8080" or "[::1]:8080")',
      'test.json: /upstreams/api/hosts/1: must be a valid host:port (e.g. "10.0.0.5:8080" or "[::1]:8080") or an object, got 5',
    ]);
  });

  test('reports every problem at once', () => {
    const input = minimal();
    input.listeners[0].port = -1;
    input.routes[0].path = 'api';
    input.server = { acceptor: 'reuse-port' };
    assert.deepEqual(rejection(input).format(), [
      'test.json: /server/acceptor: "reuse-port" is not one of auto, handoff, reuseport, shared (did you mean "reuseport"?)',
      'test.json: /listeners/0/port: must be an integer from 0 to 65535, got -1',
      'test.json: /routes/0/path: "api" is not a valid path (starting with "/", without spaces)',
    ]);
  });

  test('rejects repeated protocols and a bad header name', () => {
    const input = minimal();
    input.listeners[0].protocols = ['http1', 'h2c', 'http1'];
    input.routes[0].headers = { request: { set: { 'bad name': 'x' } } };
    assert.deepEqual(rejection(input).format(), [
      'test.json: /listeners/0/protocols: repeats "http1" (items 0 and 2)',
      'test.json: /routes/0/headers/request/set/bad name: "bad name" is not a valid header name (an RFC 9110 token)',
    ]);
  });

  test('names the middleware type branch that failed instead of every branch', () => {
    const input = minimal();
    input.middleware = { auth: { type: 'api-key', keys: [{ name: 'a', key: 'k' }], header: 5 } };
    assert.deepEqual(rejection(input).format(), ['test.json: /middleware/auth/header: must be a string, got 5']);
  });

  test('rejects an unknown or missing middleware type with the list of types', () => {
    const input = minimal();
    input.middleware = { limit: { type: 'ratelimit', rate: 1 }, bare: {} };
    assert.deepEqual(rejection(input).format(), [
      'test.json: /middleware/limit/type: "ratelimit" is not one of headers, api-key, rate-limit, cors, cache, compression, plugin (did you mean "rate-limit"?)',
      'test.json: /middleware/bare/type: is required: one of headers, api-key, rate-limit, cors, cache, compression, plugin',
    ]);
  });

  test('rejects a rate limit key of unknown form', () => {
    const input = minimal();
    input.middleware = { limit: { type: 'rate-limit', rate: 1, key: 'ipp' } };
    assert.deepEqual(rejection(input).format(), ['test.json: /middleware/limit/key: "ipp" is not one of ip, api-key, route, header:<name> (did you mean "ip"?)']);
  });
});

describe('cross-reference checks', () => {
  test('rejects a route naming a missing upstream, with the JSON path', () => {
    const input = minimal();
    input.routes = [{ path: '/a', upstream: 'api' }, { path: '/b', upstream: 'api' }, { path: '/c', upstream: 'api' }, { path: '/*', upstream: 'apii' }];
    const error = rejection(input);
    assert.equal(error.code, 'config.reference');
    assert.deepEqual(error.format(), ['test.json: /routes/3/upstream: upstream "apii" is not defined in /upstreams (did you mean "api"?)']);
  });

  test('rejects a route naming missing middleware, listing what is defined', () => {
    const input = minimal();
    input.middleware = { gzip: { type: 'compression' } };
    input.routes[0].middleware = ['gzip', 'authentication'];
    const error = rejection(input);
    assert.equal(error.code, 'config.reference');
    assert.deepEqual(error.format(), ['test.json: /routes/0/middleware/1: middleware "authentication" is not defined in /middleware (defined: gzip)']);
  });

  test('rejects a stream listener naming a missing upstream', () => {
    const input = minimal();
    input.listeners.push({ name: 'tcp', port: 5432, mode: 'stream', upstream: 'db' });
    assert.deepEqual(rejection(input).format(), ['test.json: /listeners/1/upstream: upstream "db" is not defined in /upstreams (defined: api)']);
  });

  test('rejects a missing certificate file, naming the path and the file', () => {
    const input = minimal();
    input.listeners[0].tls = { certificates: [{ certFile: '/nonexistent/zproxy/site.crt', keyFile: KEY }] };
    const error = rejection(input);
    assert.equal(error.code, 'config.reference');
    assert.deepEqual(error.format(), ['test.json: /listeners/0/tls/certificates/0/certFile: cannot read /nonexistent/zproxy/site.crt: no such file']);
  });

  test('rejects a duplicate listener name', () => {
    const input = minimal();
    input.listeners.push({ name: 'http', port: 8081 });
    const error = rejection(input);
    assert.equal(error.code, 'config.invalid');
    assert.deepEqual(error.format(), ['test.json: /listeners/1/name: duplicate listener name "http" (also /listeners/0/name)']);
  });

  test('rejects two binds of one address and port, wildcards included, but not port 0', () => {
    const input = minimal();
    input.listeners = [
      { name: 'a', port: 8080 },
      { name: 'b', port: 8080 },
      { name: 'c', address: '0.0.0.0', port: 8443 },
      { name: 'd', address: '10.1.1.1', port: 8443 },
      { name: 'e', port: 0 },
      { name: 'f', port: 0 },
      { name: 'g', port: 9901 },
    ];
    assert.deepEqual(rejection(input).format(), [
      'test.json: /listeners/1/port: 127.0.0.1:8080 is already used by listener "a" (/listeners/0/port)',
      'test.json: /listeners/3/port: 10.1.1.1:8443 is already used by listener "c" (/listeners/2/port)',
      'test.json: /admin/port: 127.0.0.1:9901 is already used by listener "g" (/listeners/6/port)',
    ]);
  });

  test('requires an admin token when the admin API is not on loopback', () => {
    const input = minimal();
    input.admin = { address: '0.0.0.0' };
    assert.deepEqual(rejection(input).format(), ['test.json: /admin/token: is required when the admin API listens on "0.0.0.0", which is not a loopback address']);
    input.admin = { address: '0.0.0.0', token: 's3cret-token' };
    assert.equal(parseConfig(input, 'test.json', {}).admin.token, 's3cret-token');
    input.admin = { address: '::1' };
    assert.equal(parseConfig(input, 'test.json', {}).admin.address, '::1');
  });

  test('enforces the keys that belong to each listener mode', () => {
    const input = minimal();
    input.listeners = [
      { name: 'tcp', port: 5432, mode: 'stream', upstream: 'api', protocols: ['http1'] },
      { name: 'sni', port: 8443, mode: 'stream', sni: { 'a.example.com': 'api' } },
      { name: 'web', port: 8080, upstream: 'api', tls: { passthrough: true } },
      { name: 'h2', port: 8081, protocols: ['h2'] },
      { name: 'empty', port: 5433, mode: 'stream' },
    ];
    assert.deepEqual(rejection(input).format(), [
      'test.json: /listeners/0/protocols: is only for http listeners (this listener has mode "stream")',
      'test.json: /listeners/1/sni: needs tls: the server name comes from the TLS ClientHello',
      'test.json: /listeners/2/upstream: is only for stream listeners; http listeners send requests by routes',
      'test.json: /listeners/2/tls/passthrough: is only for stream listeners: an http listener must terminate TLS to read requests',
      'test.json: /listeners/3/protocols: "h2" needs tls (HTTP/2 is negotiated by ALPN) (add tls, or use "h2c" for cleartext HTTP/2)',
      'test.json: /listeners/4/upstream: is required for a stream listener (or sni, to choose the upstream by server name)',
    ]);
  });

  test('accepts SNI passthrough routing with a default upstream', () => {
    const input = minimal();
    input.upstreams.other = { hosts: ['10.0.0.2:443'] };
    input.listeners.push({ name: 'pass', port: 8443, mode: 'stream', tls: { passthrough: true }, sni: { 'A.example.com': 'api', '*.example.org': 'other' }, defaultUpstream: 'other' });
    const listener = parseConfig(input, 'test.json', {}).listeners[1];
    assert.deepEqual(listener.sni, { 'a.example.com': 'api', '*.example.org': 'other' });
    assert.equal(listener.defaultUpstream, 'other');
    assert.deepEqual(listener.tls, { certificates: [], defaultCertificate: 0, minVersion: 'TLSv1.2', passthrough: true });
  });

  test('rejects a defaultCertificate that names no certificate', () => {
    const input = minimal();
    input.listeners[0].tls = { defaultCertificate: 'other.localhost', certificates: [{ serverNames: ['localhost'], certFile: CERT, keyFile: KEY }] };
    assert.deepEqual(rejection(input).format(), ["test.json: /listeners/0/tls/defaultCertificate: must be an index below 1 or one of the certificates' serverNames"]);
  });

  test('checks the route path grammar and rewrite captures', () => {
    const input = minimal();
    input.routes = [
      { path: '/a*/b', upstream: 'api' },
      { path: '/users/:id', upstream: 'api', rewrite: { path: '/people/:name' } },
      { path: '/exact', upstream: 'api', rewrite: { path: '/v2/*' } },
      { path: '/users/:id/files/*', upstream: 'api', rewrite: { path: '/u/:id/*' } },
      { path: '/a//b', upstream: 'api' },
      { path: '/x/:id/:id', upstream: 'api', rewrite: { path: '/y/:id.json' } },
      { path: '/p/../q', upstream: 'api' },
    ];
    assert.deepEqual(rejection(input).format(), [
      'test.json: /routes/0/path: "/a*/b" uses "*" inside the path: "*" may only be the whole last segment ("/prefix/*")',
      'test.json: /routes/1/rewrite/path: uses :name, which "/users/:id" does not capture',
      'test.json: /routes/2/rewrite/path: uses *, which "/exact" does not capture (it does not end in "/*")',
      'test.json: /routes/4/path: "/a//b" has an empty segment ("//"): requests have repeated slashes merged, so it can never match',
      'test.json: /routes/5/path: "/x/:id/:id" repeats the parameter :id',
      'test.json: /routes/5/rewrite/path: "/y/:id.json" has an invalid parameter ":id.json": expected ":name" (letters, digits, "_") as a whole segment',
      'test.json: /routes/6/path: "/p/../q" has a dot segment "..": requests have them resolved, so it can never match',
    ]);
  });

  test('rejects routes the router could not tell apart', () => {
    const input = minimal();
    input.routes = [
      { path: '/users/:id', methods: ['GET'], upstream: 'api' },
      { path: '/users/:name', methods: ['POST', 'GET'], upstream: 'api' },
      { path: '/users/:id', methods: ['DELETE'], upstream: 'api' },
      { host: 'a.example.com', path: '/*', upstream: 'api' },
      { host: ['b.example.com', 'A.example.com'], path: '/*', upstream: 'api' },
    ];
    assert.deepEqual(rejection(input).format(), [
      'test.json: /routes/1/path: "/users/:name" has the same host, path shape and method as /routes/0 ("/users/:id"), so the router cannot choose between them',
      'test.json: /routes/4/path: "/*" has the same host, path shape and method as /routes/3 ("/*"), so the router cannot choose between them',
    ]);
  });

  test('rejects a duplicate route name', () => {
    const input = minimal();
    input.routes = [{ name: 'r', path: '/a', upstream: 'api' }, { name: 'r', path: '/b', upstream: 'api' }];
    assert.deepEqual(rejection(input).format(), ['test.json: /routes/1/name: duplicate route name "r" (also /routes/0)']);
  });

  test('rejects an unknown access log variable with the near miss', () => {
    const input = minimal();
    input.logging = { access: { format: '$client_addr $stauts $http_x_real_ip' } };
    assert.deepEqual(rejection(input).format(), ['test.json: /logging/access/format: unknown variable $stauts (did you mean "$status"?)']);
  });

  test('rejects contradictory middleware settings', () => {
    const input = minimal();
    input.middleware = {
      cors: { type: 'cors', origins: ['*'], credentials: true },
      keyless: { type: 'api-key' },
      shared: { type: 'rate-limit', rate: 5, backend: 'redis' },
      cache: { type: 'cache', maxBytes: 1000, maxObjectBytes: 2000 },
    };
    assert.deepEqual(rejection(input).format(), [
      'test.json: /middleware/cors/credentials: cannot be true with origin "*": browsers refuse credentialed responses to a wildcard origin (Fetch standard) (list the origins)',
      'test.json: /middleware/keyless/keys: is required unless keysFile is given',
      'test.json: /middleware/shared/redis: is required when backend is "redis"',
      'test.json: /middleware/cache/maxObjectBytes: 2000 must not exceed maxBytes (1000)',
    ]);
  });

  test('rejects a heartbeat interval not below the hang timeout', () => {
    const input = minimal();
    input.server = { watchdog: { hangTimeoutMs: 100, heartbeatIntervalMs: 100 } };
    assert.deepEqual(rejection(input).format(), ['test.json: /server/watchdog/heartbeatIntervalMs: 100 must be less than hangTimeoutMs (100), or every worker looks hung']);
  });
});

describe('environment substitution', () => {
  test('replaces ${VAR} and ${VAR:-default} inside strings', () => {
    const input = minimal();
    input.upstreams.api.hosts = ['${API_HOST}:3000', '${OTHER_HOST:-10.0.0.9}:3001', '${EMPTY:-10.0.0.8}:3002'];
    const config = parseConfig(input, 'test.json', { API_HOST: '10.0.0.7', EMPTY: '' });
    assert.deepEqual(config.upstreams.api.hosts.map((h) => h.address), ['10.0.0.7:3000', '10.0.0.9:3001', '10.0.0.8:3002']);
  });

  test('rejects a missing variable without default, naming the path and the variable', () => {
    const input = minimal();
    input.admin = { token: '${ADMIN_TOKEN}' };
    const error = rejection(input, {});
    assert.equal(error.code, 'config.env-missing');
    assert.deepEqual(error.format(), ['test.json: /admin/token: environment variable ADMIN_TOKEN is not set (set it, or write ${ADMIN_TOKEN:-default})']);
  });

  test('turns a whole-string reference into the number or boolean the key expects', () => {
    const input = minimal();
    input.listeners[0].port = '${PORT:-8080}';
    input.admin = { enabled: '${ADMIN_ON}', token: '${TOKEN}' };
    const config = parseConfig(input, 'test.json', { PORT: '9090', ADMIN_ON: 'false', TOKEN: '12345' });
    assert.equal(config.listeners[0].port, 9090);
    assert.equal(config.admin.enabled, false);
    assert.equal(config.admin.token, '12345'); // a string key keeps the string
  });

  test('reports a referenced number that is out of range as a number', () => {
    const input = minimal();
    input.listeners[0].port = '${PORT}';
    assert.deepEqual(rejection(input, { PORT: '70000' }).format(), ['test.json: /listeners/0/port: must be an integer from 0 to 65535, got 70000']);
  });

  test('keeps $${ as a literal ${ and leaves $name access log variables alone', () => {
    const input = minimal();
    input.routes[0].headers = { response: { set: { 'X-Template': '$${not_a_var}' } } };
    const config = parseConfig(input, 'test.json', {});
    assert.equal(config.routes[0].headers.response.set['X-Template'], '${not_a_var}');
    assert.match(config.logging.access.format, /\$status/);
  });

  test('rejects a malformed reference', () => {
    const input = minimal();
    input.routes[0].headers = { response: { set: { 'X-A': '${1BAD}' } } };
    const error = rejection(input);
    assert.equal(error.code, 'config.invalid');
    assert.deepEqual(error.format(), ['test.json: /routes/0/headers/response/set/X-A: "${1BAD}" is not a valid reference: expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)']);
  });
});

describe('reading files', () => {
  test('reports a JSON syntax error with line and column', () => {
    const cases: Array<[string, string]> = [
      ['{\n  "listeners": [],\n}', "invalid JSON at line 2, column 18: trailing comma before '}' (remove the comma)"],
      ['{\n  "a": 1\n  "b": 2\n}', "invalid JSON at line 3, column 3: unexpected character \"\\\"\", expected ',' or '}' after a property value (add a comma after the previous value)"],
      ['{\n  // note\n  "a": 1\n}', 'invalid JSON at line 2, column 3: comments are not allowed in JSON (remove the comment)'],
      ['{"a": "b', 'invalid JSON at line 1, column 7: unterminated string'],
      ['', 'invalid JSON at line 1, column 1: unexpected end of input, expected a value'],
      ['[1, 2,]', "invalid JSON at line 1, column 6: trailing comma before ']' (remove the comma)"],
    ];
    for (const [text, message] of cases) {
      try {
        parseJsonText(text, 'x.json');
        assert.fail(`accepted ${JSON.stringify(text)}`);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'config.parse');
        assert.deepEqual(error.format(), [`x.json: ${message}`]);
      }
    }
  });

  test('reads a file with a byte order mark', () => {
    withTempDir((dir) => {
      writeFileSync(join(dir, 'bom.json'), `\ufeff${JSON.stringify(minimal())}`);
      assert.equal(loadConfigFile(join(dir, 'bom.json'), {}).listeners[0].name, 'http');
    });
  });

  test('reports an unreadable file', () => {
    withTempDir((dir) => {
      const missing = join(dir, 'missing.json');
      assert.throws(() => loadConfigFile(missing, {}), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'config.unreadable');
        assert.deepEqual(error.format(), [`${missing}: cannot read the config file: no such file`]);
        return true;
      });
      assert.throws(() => loadConfigFile(dir, {}), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.format(), [`${dir}: cannot read the config file: is a directory`]);
        return true;
      });
    });
  });

  test('reports a parse error in a file under the file name', () => {
    withTempDir((dir) => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, '{ "listeners": [ }');
      assert.throws(() => loadConfigFile(file, {}), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.format(), [`${file}: invalid JSON at line 1, column 18: unexpected character "}", expected a value`]);
        return true;
      });
    });
  });
});

describe('framing headers in header rules', () => {
  test('rejects a route rule that sets Content-Length, naming the JSON path', () => {
    const doc = {
      listeners: [{ name: 'http', port: 8080 }],
      upstreams: { api: { hosts: ['127.0.0.1:9000'] } },
      routes: [{ path: '/*', upstream: 'api', headers: { request: { set: { 'Content-Length': '0' } } } }],
    };
    assert.throws(() => parseConfig(doc, 'x.json', {}), (err: ConfigError) => {
      assert.deepEqual(err.format(), ['x.json: /routes/0/headers/request/set/Content-Length: Content-Length is message framing and cannot be rewritten (zproxy forwards the body as it was framed)']);
      return true;
    });
  });

  test('rejects a headers middleware that removes Transfer-Encoding', () => {
    const doc = {
      listeners: [{ name: 'http', port: 8080 }],
      upstreams: { api: { hosts: ['127.0.0.1:9000'] } },
      routes: [{ path: '/*', upstream: 'api', middleware: ['h'] }],
      middleware: { h: { type: 'headers', response: { remove: ['Transfer-Encoding'] } } },
    };
    assert.throws(() => parseConfig(doc, 'x.json', {}), (err: ConfigError) => {
      assert.deepEqual(err.format(), ['x.json: /middleware/h/response/remove/0: Transfer-Encoding is message framing and cannot be removed (zproxy forwards the body as it was framed)']);
      return true;
    });
  });
});
