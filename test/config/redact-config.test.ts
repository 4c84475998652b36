import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, redactConfig, REDACTED } from '../../src/config/load-config.js';
import { redactUrlPassword } from '../../src/config/redact-config.js';

function configWithSecrets() {
  return parseConfig(
    {
      listeners: [{ name: 'http', port: 8080 }],
      upstreams: { api: { hosts: ['127.0.0.1:3000'] } },
      routes: [{ path: '/*', upstream: 'api', headers: { request: { set: { Authorization: 'Bearer abc', 'X-Tenant': 'acme' }, add: { 'X-Upstream-Token': 't0k' } } } }],
      middleware: {
        auth: { type: 'api-key', keys: [{ name: 'app', key: 'key-123' }, { name: 'cli', key: 'key-456' }] },
        limit: { type: 'rate-limit', rate: 10, backend: 'redis', redis: { url: 'redis://default:hunter2@redis.internal:6379/0' } },
        sign: { type: 'headers', response: { set: { 'X-Api-Key': 'leak', 'Cache-Control': 'no-store' } } },
      },
      admin: { address: '0.0.0.0', token: 'admin-token-value' },
    },
    'test.json',
    {},
  );
}

test('replaces API keys, the admin token, Redis passwords and secret header values', () => {
  const redacted = redactConfig(configWithSecrets());
  assert.equal(redacted.admin.token, REDACTED);
  const auth = redacted.middleware.auth;
  assert.ok(auth.type === 'api-key');
  assert.deepEqual(auth.keys, [{ name: 'app', key: REDACTED }, { name: 'cli', key: REDACTED }]);
  const limit = redacted.middleware.limit;
  assert.ok(limit.type === 'rate-limit');
  assert.equal(limit.redis?.url, 'redis://default:[redacted]@redis.internal:6379/0');
  assert.deepEqual(redacted.routes[0].headers.request.set, { Authorization: REDACTED, 'X-Tenant': 'acme' });
  assert.deepEqual(redacted.routes[0].headers.request.add, { 'X-Upstream-Token': REDACTED });
  const sign = redacted.middleware.sign;
  assert.ok(sign.type === 'headers');
  assert.deepEqual(sign.response.set, { 'X-Api-Key': REDACTED, 'Cache-Control': 'no-store' });
});

test('leaves the config it was given untouched', () => {
  const config = configWithSecrets();
  redactConfig(config);
  assert.equal(config.admin.token, 'admin-token-value');
  const auth = config.middleware.auth;
  assert.ok(auth.type === 'api-key');
  assert.equal(auth.keys[0].key, 'key-123');
});

test('redacts secret-looking plugin options at any depth and inlined PEM keys', () => {
  const config = configWithSecrets();
  config.middleware.plugin = { type: 'plugin', name: 'plugin', module: '/opt/p.js', pool: false, options: { region: 'eu', clientSecret: 's', nested: { password: 'p', list: [{ apiKey: 'k', id: 1 }] } } };
  config.listeners[0].tls = { certificates: [{ serverNames: [], certFile: '/c.pem', keyFile: '-----BEGIN PRIVATE KEY-----\nMIIE...' }], defaultCertificate: 0, minVersion: 'TLSv1.2', passthrough: false };
  const redacted = redactConfig(config);
  const plugin = redacted.middleware.plugin;
  assert.ok(plugin.type === 'plugin');
  assert.deepEqual(plugin.options, { region: 'eu', clientSecret: REDACTED, nested: { password: REDACTED, list: [{ apiKey: REDACTED, id: 1 }] } });
  assert.equal(redacted.listeners[0].tls?.certificates[0].keyFile, REDACTED);
  assert.equal(redacted.listeners[0].tls?.certificates[0].certFile, '/c.pem');
});

test('redacts the password part of URLs, or a bare userinfo', () => {
  assert.equal(redactUrlPassword('redis://:pw@h:6379'), 'redis://:[redacted]@h:6379');
  assert.equal(redactUrlPassword('rediss://user:p%40ss@h'), 'rediss://user:[redacted]@h');
  assert.equal(redactUrlPassword('redis://onlysecret@h'), 'redis://[redacted]@h');
  assert.equal(redactUrlPassword('redis://h:6379/2'), 'redis://h:6379/2');
});
