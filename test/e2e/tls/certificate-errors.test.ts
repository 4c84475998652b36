/**
 * Start-up errors for TLS listeners: a missing file names its JSON path, a
 * key that does not belong to the certificate is caught at load time (not at
 * the first handshake), and the start command explains both with the fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseConfig } from '../../../src/config/load-config.js';
import { ConfigError } from '../../../src/config/config-error.js';
import { explainStartError } from '../../../src/cli/start-errors.js';
import { proxyConfig } from '../harness/config-json.js';
import { createTestCa, type TestCa, type CertFiles } from '../harness/test-certificates.js';

let ca: TestCa;
let one: CertFiles;
let two: CertFiles;

before(() => {
  ca = createTestCa();
  one = ca.issue('one', ['one.test']);
  two = ca.issue('two', ['two.test']);
});
after(() => ca?.remove());

function configWith(certFile: string, keyFile: string): Record<string, unknown> {
  const cfg = proxyConfig({ upstreams: { app: [9] } });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.tls = { certificates: [{ serverNames: ['one.test'], certFile, keyFile }] };
  return cfg;
}

function loadError(cfg: Record<string, unknown>): ConfigError {
  try {
    parseConfig(cfg, 'zproxy.json', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config loaded');
}

test('a missing certificate file is a config error at its JSON path', () => {
  const err = loadError(configWith(path.join(ca.dir, 'absent.crt'), one.keyFile));
  const issue = err.issues.find((i) => i.path === '/listeners/0/tls/certificates/0/certFile');
  assert.ok(issue, JSON.stringify(err.issues));
  assert.match(issue.message, /no such file/);
  assert.match(explainStartError(err, 'zproxy.json'), /zproxy\.json: \/listeners\/0\/tls\/certificates\/0\/certFile: cannot read .*absent\.crt: no such file \(fix the path/);
});

test('a key that does not match the certificate is refused at load time with the fix', () => {
  const err = loadError(configWith(one.certFile, two.keyFile));
  const issue = err.issues.find((i) => i.path === '/listeners/0/tls/certificates/0');
  assert.ok(issue, JSON.stringify(err.issues));
  assert.match(issue.message, /does not match the certificate/);
  assert.match(explainStartError(err, 'zproxy.json'), /\/listeners\/0\/tls\/certificates\/0: .*does not match the certificate.*\(fix certFile and keyFile/);
});

test('a file that is not PEM is refused at load time', () => {
  const garbage = path.join(ca.dir, 'garbage.crt');
  writeFileSync(garbage, 'not a certificate\n');
  const err = loadError(configWith(garbage, one.keyFile));
  const issue = err.issues.find((i) => i.path === '/listeners/0/tls/certificates/0');
  assert.ok(issue, JSON.stringify(err.issues));
  assert.match(issue.message, /not a PEM certificate/);
});

test('a matching pair loads', () => {
  const config = parseConfig(configWith(one.certFile, one.keyFile), 'zproxy.json', {});
  assert.equal(config.listeners[0]!.tls!.certificates[0]!.certFile, one.certFile);
});
