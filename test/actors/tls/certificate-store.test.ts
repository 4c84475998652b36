/**
 * CertificateStore picks a secure context by server name: exact names
 * first, then a one-label wildcard, then the default certificate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateStore } from '../../../actors/tls/certificate-store.js';
import { createTestCa, type TestCa, type CertFiles } from '../../e2e/harness/test-certificates.js';
import type { ListenerTlsConfig } from '../../../src/config/types.js';

let ca: TestCa;
let exact: CertFiles;
let wild: CertFiles;
let fallback: CertFiles;

before(() => {
  ca = createTestCa();
  exact = ca.issue('exact', ['www.example.test']);
  wild = ca.issue('wild', ['*.example.test']);
  fallback = ca.issue('fallback', ['fallback.test']);
});
after(() => ca?.remove());

function store(defaultCertificate = 2): CertificateStore {
  const config: ListenerTlsConfig = {
    certificates: [
      { serverNames: ['www.example.test'], certFile: exact.certFile, keyFile: exact.keyFile },
      { serverNames: ['*.example.test'], certFile: wild.certFile, keyFile: wild.keyFile },
      { serverNames: ['fallback.test'], certFile: fallback.certFile, keyFile: fallback.keyFile },
    ],
    defaultCertificate,
    minVersion: 'TLSv1.2',
    passthrough: false,
  };
  return new CertificateStore('https', config);
}

test('an exact name wins over a wildcard that also covers it', () => {
  const s = store();
  assert.notEqual(s.contextFor('www.example.test'), s.contextFor('api.example.test'));
  assert.notEqual(s.contextFor('www.example.test'), s.defaultContext);
});

test('a wildcard covers one label, case-insensitively', () => {
  const s = store();
  const wildcard = s.contextFor('api.example.test');
  assert.notEqual(wildcard, s.defaultContext);
  assert.equal(s.contextFor('API.Example.Test'), wildcard);
  assert.equal(s.contextFor('a.b.example.test'), s.defaultContext);
  assert.equal(s.contextFor('example.test'), s.defaultContext);
});

test('no server name, or an unknown one, gets the default certificate', () => {
  const s = store(2);
  assert.equal(s.contextFor(undefined), s.defaultContext);
  assert.equal(s.contextFor(''), s.defaultContext);
  assert.equal(s.contextFor('other.test'), s.defaultContext);
  assert.equal(s.contextFor('fallback.test'), s.defaultContext);
  const first = store(0);
  assert.equal(first.contextFor('nobody.test'), first.contextFor('www.example.test'));
});

test('a key that belongs to another certificate throws tls.certificate naming the listener', () => {
  const config: ListenerTlsConfig = { certificates: [{ serverNames: ['x.test'], certFile: exact.certFile, keyFile: wild.keyFile }], defaultCertificate: 0, minVersion: 'TLSv1.2', passthrough: false };
  assert.throws(() => new CertificateStore('https', config), (err: Error & { code?: string }) => err.code === 'tls.certificate' && /listener 'https'/.test(err.message) && /does not match/.test(err.message));
});
