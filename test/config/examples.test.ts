import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_PATH, loadDefaultConfig } from '../../src/config/default-config.js';
import { loadConfigFile, SCHEMA_PATH } from '../../src/config/load-config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function jsonFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder))
    .filter((name) => name.endsWith('.json') && name !== 'zproxy.schema.json')
    .sort()
    .map((name) => join(ROOT, folder, name));
}

test('the shipped configs and examples are all there', () => {
  assert.deepEqual(jsonFiles('conf').map((f) => f.slice(ROOT.length)), ['conf/default.json']);
  assert.deepEqual(jsonFiles('conf/examples').map((f) => f.slice(ROOT.length)), [
    'conf/examples/full.json',
    'conf/examples/http.json',
    'conf/examples/http2.json',
    'conf/examples/stream.json',
    'conf/examples/tls.json',
    'conf/examples/websocket.json',
  ]);
});

for (const file of [...jsonFiles('conf'), ...jsonFiles('conf/examples')]) {
  test(`${file.slice(ROOT.length)} validates with an empty environment`, () => {
    const config = loadConfigFile(file, {});
    assert.ok(config.listeners.length >= 1);
  });
}

test('the schema path points at the shipped schema', () => {
  assert.equal(SCHEMA_PATH, join(ROOT, 'conf/zproxy.schema.json'));
});

test('the embedded default puts a listener on 127.0.0.1:8080 in front of the demo upstream', () => {
  assert.equal(DEFAULT_CONFIG_PATH, join(ROOT, 'conf/default.json'));
  const config = loadDefaultConfig({});
  assert.deepEqual(config.listeners, [{ name: 'http', address: '127.0.0.1', port: 8080, mode: 'http', protocols: ['http1'], sni: {} }]);
  assert.deepEqual(Object.keys(config.upstreams), ['demo']);
  assert.deepEqual(config.upstreams.demo.hosts, [{ host: '127.0.0.1', port: 8081, weight: 1, address: '127.0.0.1:8081' }]);
  assert.deepEqual(config.routes.map((r) => [r.name, r.path, r.upstream]), [['demo', '/*', 'demo']]);
  assert.equal(config.server.workers, 'auto');
  assert.deepEqual(config.admin, { enabled: true, address: '127.0.0.1', port: 9901 });
  assert.deepEqual(config.demo, { enabled: true, address: '127.0.0.1', port: 8081 });
  assert.equal(config.logging.access.enabled, true);
  assert.equal(config.logging.access.path, '/dev/stdout');
});

test('the full example takes its port and secrets from the environment', () => {
  const file = join(ROOT, 'conf/examples/full.json');
  const config = loadConfigFile(file, { HTTP_PORT: '9000', REDIS_URL: 'redis://:pw@cache:6379', MOBILE_API_KEY: 'from-env' });
  assert.equal(config.listeners[0].port, 9000);
  const limit = config.middleware['per-key'];
  assert.ok(limit.type === 'rate-limit');
  assert.equal(limit.redis?.url, 'redis://:pw@cache:6379');
  const auth = config.middleware.auth;
  assert.ok(auth.type === 'api-key');
  assert.equal(auth.keys[0].key, 'from-env');
  assert.equal(loadConfigFile(file, {}).listeners[0].port, 8080);
});

test('the TLS example resolves its certificates next to it', () => {
  const config = loadConfigFile(join(ROOT, 'conf/examples/tls.json'), {});
  const tls = config.listeners[0].tls;
  assert.deepEqual(tls?.certificates.map((c) => [c.serverNames, c.certFile, c.keyFile]), [
    [['localhost'], join(ROOT, 'conf/examples/certs/localhost.crt'), join(ROOT, 'conf/examples/certs/localhost.key')],
    [['*.localhost'], join(ROOT, 'conf/examples/certs/localhost.crt'), join(ROOT, 'conf/examples/certs/localhost.key')],
  ]);
  assert.equal(tls?.defaultCertificate, 0);
  assert.deepEqual(config.upstreams.backend.tls, { enabled: true, insecure: false, caFile: join(ROOT, 'conf/examples/certs/localhost.crt'), servername: 'localhost' });
});
