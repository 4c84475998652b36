/**
 * Credentials in a config never reach a terminal, a log or an admin answer,
 * including the paths the redaction tests elsewhere do not take: error
 * messages. A config whose secrets sit in invalid values (a Redis URL with a
 * misspelt scheme, an admin token or API key of the wrong type, a private key
 * pasted where its file name belongs, an Authorization header value with a
 * line break) is refused by `zproxy validate`, by `zproxy start` and by a
 * reload, each naming the JSON path and quoting none of the secrets.
 *
 * Covered elsewhere, not repeated: redactConfig itself
 * (test/config/redact-config.test.ts), `validate --print`
 * (test/cli/validate-command.test.ts), access-log redaction of API keys
 * (test/actors/logger/access-log-secrets.test.ts, test/e2e/middleware/api-key.test.ts),
 * the Redis limiter's outage line (test/actors/middleware/redis-limiter.test.ts).
 * Here the running process is checked end to end: GET /config and the Redis
 * outage warning as the CLI prints it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adminGet, baseConfig, request, startCli, waitFor, ZPROXY_BIN, type CliProxy } from '../actors/metrics/fixtures/zproxy-cli.js';
import { createTestCa, type TestCa } from '../e2e/harness/test-certificates.js';

const REDIS_PASSWORD = 'hunter2-redis-pw';
const ADMIN_TOKEN_NUMBER = 987654321987;
const API_KEY_NUMBER = 555500001111;
const HEADER_TOKEN = 'tok-in-a-header-9f8e';

let ca: TestCa;
let dir: string;
/** The private key's base64 body: what must never be echoed. */
let keyBody: string;

/** Every secret of the broken config, as it would appear if echoed. */
function secrets(): string[] {
  return [REDIS_PASSWORD, String(ADMIN_TOKEN_NUMBER), String(API_KEY_NUMBER), HEADER_TOKEN, keyBody.slice(0, 40), 'BEGIN PRIVATE KEY', 'BEGIN EC PRIVATE KEY'];
}

function assertNoSecret(text: string, where: string): void {
  for (const secret of secrets()) assert.ok(!text.includes(secret), `${where} quotes a secret (${secret.slice(0, 12)}...):\n${text}`);
}

/** Valid JSON, invalid config: each secret sits in a value the loader refuses. */
function brokenConfig(): Record<string, unknown> {
  const keyPem = readFileSync(join(ca.dir, 'site.key'), 'utf8');
  return baseConfig({
    listeners: [
      { name: 'http', address: '127.0.0.1', port: 0 },
      { name: 'https', address: '127.0.0.1', port: 0, tls: { certificates: [{ certFile: join(ca.dir, 'site.crt'), keyFile: keyPem }] } },
    ],
    upstreams: { app: { hosts: ['127.0.0.1:9'] } },
    routes: [{ path: '/*', upstream: 'app', middleware: ['limit', 'auth'], headers: { request: { set: { Authorization: `Bearer ${HEADER_TOKEN}\r\nX-Injected: 1` } } } }],
    middleware: {
      limit: { type: 'rate-limit', rate: 10, backend: 'redis', redis: { url: `reddis://default:${REDIS_PASSWORD}@127.0.0.1:6379` } },
      auth: { type: 'api-key', keys: [{ name: 'ci', key: API_KEY_NUMBER }] },
    },
    admin: { enabled: true, address: '127.0.0.1', port: 0, token: ADMIN_TOKEN_NUMBER },
  });
}

/** Each broken value's JSON path, as the error lines name it. */
const BROKEN_PATHS = [
  '/middleware/limit/redis/url',
  '/admin/token',
  '/middleware/auth/keys/0/key',
  '/routes/0/headers/request/set/Authorization',
];

function run(args: string[]): Promise<{ code: number; out: string }> {
  return promisify(execFile)(process.execPath, [ZPROXY_BIN, ...args], { encoding: 'utf8', timeout: 20_000 })
    .then((r) => ({ code: 0, out: r.stdout + r.stderr }), (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }));
}

function writeConfig(name: string, config: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

describe('secrets in config error messages', { timeout: 90_000 }, () => {
  before(() => {
    ca = createTestCa();
    ca.issue('site', ['site.test']);
    keyBody = readFileSync(join(ca.dir, 'site.key'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('-----')).join('');
    dir = mkdtempSync(join(tmpdir(), 'zproxy-secrets-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
    ca?.remove();
  });

  test('zproxy validate names every broken value by its JSON path and quotes no secret', async () => {
    const { code, out } = await run(['validate', '-c', writeConfig('broken.json', brokenConfig())]);
    assert.equal(code, 1, out);
    for (const path of BROKEN_PATHS) assert.ok(out.includes(`${path}:`), `no line for ${path}:\n${out}`);
    assertNoSecret(out, 'zproxy validate');
    // Still useful: the URL is shown with only its password hidden, the key file problem is named.
    assert.match(out, /\/middleware\/limit\/redis\/url: "reddis:\/\/default:\[redacted\]@127\.0\.0\.1:6379" is not a redis:\/\/ or rediss:\/\/ URL/);
    assert.match(out, /\/admin\/token: must be a string, got \[redacted\]/);
  });

  test('a private key pasted into keyFile is named as such, not quoted', async () => {
    // Alone (with the other values fixed), since the loader reports file problems only on an otherwise valid config.
    const config = brokenConfig();
    config.routes = [{ path: '/*', upstream: 'app' }];
    config.middleware = {};
    config.admin = { enabled: true, address: '127.0.0.1', port: 0 };
    const { code, out } = await run(['validate', '-c', writeConfig('pem.json', config)]);
    assert.equal(code, 1, out);
    assert.match(out, /\/listeners\/1\/tls\/certificates\/0\/keyFile: holds PEM text, not a file name/);
    assertNoSecret(out, 'zproxy validate (keyFile)');
  });

  test('zproxy start refuses the config with the same lines, no secret in them', async () => {
    const { code, out } = await run(['start', '-c', writeConfig('broken-start.json', brokenConfig())]);
    assert.equal(code, 1, out);
    for (const path of BROKEN_PATHS) assert.ok(out.includes(`${path}:`), `no line for ${path}:\n${out}`);
    assertNoSecret(out, 'zproxy start');
  });

  describe('a running proxy', () => {
    let proxy: CliProxy;
    let closedPort: number;
    const ADMIN_TOKEN = 'admin-token-6d1c';
    const API_KEY = 'api-key-value-72aa';

    before(async () => {
      // A port nobody listens on: the Redis backend is unreachable from the start.
      closedPort = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const port = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(port));
        });
      });
      proxy = await startCli(baseConfig({
        upstreams: { app: { hosts: ['127.0.0.1:9'] } },
        routes: [{ path: '/*', upstream: 'app', middleware: ['auth', 'limit'] }],
        middleware: {
          auth: { type: 'api-key', keys: [{ name: 'ci', key: API_KEY }] },
          limit: { type: 'rate-limit', rate: 10, backend: 'redis', redis: { url: `redis://default:${REDIS_PASSWORD}@127.0.0.1:${closedPort}` } },
        },
        admin: { enabled: true, address: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
      }));
    });

    after(async () => {
      await proxy?.stop();
    });

    test('GET /config shows the running config with the token, the API key and the Redis password redacted', async () => {
      const r = await adminGet(proxy.admin, '/config', ADMIN_TOKEN);
      assert.equal(r.status, 200);
      for (const secret of [ADMIN_TOKEN, API_KEY, REDIS_PASSWORD]) assert.ok(!r.body.includes(secret), `/config quotes ${secret}`);
      const config = JSON.parse(r.body) as { admin: { token: string }; middleware: { auth: { keys: Array<{ key: string }> }; limit: { redis: { url: string } } } };
      assert.equal(config.admin.token, '[redacted]');
      assert.deepEqual(config.middleware.auth.keys.map((k) => k.key), ['[redacted]']);
      assert.equal(config.middleware.limit.redis.url, `redis://default:[redacted]@127.0.0.1:${closedPort}`);
    });

    test('the Redis outage warning names the URL without its password', async () => {
      // A request through the limiter, in case the worker connects only on first use.
      await request(proxy.port, '/', { headers: { 'x-api-key': API_KEY } }).catch(() => undefined);
      await waitFor('the Redis outage warning', () => /Redis \S+ unreachable/.test(proxy.output()), 15_000);
      const line = proxy.output().split('\n').find((l) => /Redis \S+ unreachable/.test(l))!;
      assert.ok(line.includes(`redis://default:***@127.0.0.1:${closedPort}`), line);
      assert.ok(!proxy.output().includes(REDIS_PASSWORD), 'the process output quotes the Redis password');
    });

    test('a reload to a config with broken secret values is refused (422) without quoting them, and the old config keeps serving', async () => {
      writeFileSync(proxy.configPath, JSON.stringify(brokenConfig(), null, 2));
      const r = await request(Number(new URL(proxy.admin).port), '/reload', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(r.status, 422, r.body);
      for (const path of BROKEN_PATHS) assert.ok(r.body.includes(path), `the reload answer does not name ${path}: ${r.body}`);
      assertNoSecret(r.body, 'POST /reload');
      await waitFor('the reload-rejected log line', () => proxy.output().includes('reload rejected'), 5000);
      assertNoSecret(proxy.output(), 'the process output after the reload');
      assert.equal((await adminGet(proxy.admin, '/healthz', ADMIN_TOKEN)).status, 200);
    });
  });
});
