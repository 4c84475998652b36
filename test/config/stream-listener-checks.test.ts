/** Semantic checks on stream listeners that the schema cannot express (src/config/config-checks.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CERT = join(ROOT, 'conf/examples/certs/localhost.crt');
const KEY = join(ROOT, 'conf/examples/certs/localhost.key');

function withStream(listener: Record<string, unknown>, upstreams: Record<string, unknown> = { app: { hosts: ['127.0.0.1:3000'] } }): unknown {
  return { listeners: [{ name: 'tcp', port: 9000, mode: 'stream', ...listener }], upstreams, routes: [] };
}

function issues(config: unknown): string[] {
  try {
    parseConfig(config, 'test.json', {});
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.format();
  }
  return [];
}

test('accepts a plain stream listener and a passthrough listener routed by sni', () => {
  assert.deepEqual(issues(withStream({ upstream: 'app' })), []);
  assert.deepEqual(issues(withStream({ tls: { passthrough: true }, sni: { 'a.test': 'app' }, defaultUpstream: 'app' })), []);
});

test('refuses a stream listener that would terminate TLS', () => {
  assert.deepEqual(issues(withStream({ upstream: 'app', tls: { certificates: [{ certFile: CERT, keyFile: KEY }] } })), [
    'test.json: /listeners/0/tls: stream listeners do not terminate TLS: set passthrough to true (the upstream terminates it) (to terminate TLS, use an http listener)',
  ]);
});

test('refuses upstream TLS on a group that receives passthrough bytes', () => {
  const upstreams = { app: { hosts: ['127.0.0.1:3000'], tls: { enabled: true } } };
  assert.deepEqual(issues(withStream({ tls: { passthrough: true }, sni: { 'a.test': 'app' } }, upstreams)), [
    'test.json: /upstreams/app/tls: must be off: the group receives TLS passthrough from listener "tcp"',
  ]);
});
