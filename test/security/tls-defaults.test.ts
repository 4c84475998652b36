/**
 * The TLS a listener gets when its config names no minVersion and no
 * ciphers, checked with real handshakes against the worker app: what a
 * default client negotiates, which weak suites the server refuses, and that
 * a client cannot renegotiate. TLS 1.1 refused and 1.2/1.3 accepted under
 * the default minimum are proved in test/e2e/tls/tls-termination.test.ts
 * ("TLS 1.1 is refused by the default minimum"); not repeated here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { startProxy, type ProxyHandle } from '../e2e/harness/start-proxy.js';
import { proxyConfig } from '../e2e/harness/config-json.js';
import { createTestCa, type TestCa } from '../e2e/harness/test-certificates.js';

type Outcome = { ok: true; protocol: string; cipher: string } | { ok: false; code: string };

/** One handshake; resolves with what was negotiated or the client's error code. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const outcome: Outcome = { ok: true, protocol: String(socket.getProtocol()), cipher: socket.getCipher().name };
      socket.end();
      resolve(outcome);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, code: err.code ?? err.message });
    });
  });
}

/** Completes a TLS 1.2 handshake, asks to renegotiate, and reports how that ended. */
function renegotiate(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2', ...(servername ? { servername } : {}) });
    let settled = false;
    const finish = (result: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('no answer within 5 s'), 5000);
    socket.once('secureConnect', () => {
      socket.renegotiate({ rejectUnauthorized: false }, (err) => finish(err ? `refused: ${err.message}` : 'renegotiated'));
    });
    socket.on('error', (err) => finish(`refused: ${err.message}`));
    socket.on('close', () => finish('closed'));
  });
}

describe('TLS listener defaults (no minVersion, no ciphers in the config)', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let proxy: ProxyHandle;

  before(async () => {
    ca = createTestCa();
    const leaf = ca.issue('site', ['site.test']);
    // Port 9 (discard) as the upstream: these tests never get past the handshake.
    const config = proxyConfig({ upstreams: { app: [9] } });
    (config.listeners as Array<Record<string, unknown>>)[0]!.tls = { certificates: [{ serverNames: ['site.test'], certFile: leaf.certFile, keyFile: leaf.keyFile }] };
    proxy = await startProxy(config);
  });

  after(async () => {
    await proxy?.close();
    ca?.remove();
  });

  test('a default client negotiates TLS 1.3 with an AEAD suite', async () => {
    const r = await handshake(proxy.port, { servername: 'site.test' });
    assert.deepEqual(r.ok && [r.protocol, /^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)$/.test(r.cipher)], ['TLSv1.3', true], JSON.stringify(r));
  });

  test('a TLS 1.2 client gets forward secrecy and an AEAD suite (ECDHE with GCM or ChaCha20)', async () => {
    const r = await handshake(proxy.port, { servername: 'site.test', maxVersion: 'TLSv1.2' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.protocol, 'TLSv1.2');
    assert.match(r.cipher, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  });

  // The client offers only the weak suite (SECLEVEL=0 lets OpenSSL offer it), so a
  // refusal is the server's: a handshake_failure alert, not a local error.
  for (const [what, suite] of [
    ['no encryption (eNULL)', 'NULL-SHA256'],
    ['no encryption with ECDHE (eNULL)', 'ECDHE-ECDSA-NULL-SHA'],
    ['anonymous ECDH, no server authentication (aNULL)', 'AECDH-AES128-SHA'],
    ['anonymous DH, no server authentication (aNULL)', 'ADH-AES128-GCM-SHA256'],
  ] as const) {
    test(`refuses a TLS 1.2 client offering only ${what}: ${suite}`, async () => {
      const r = await handshake(proxy.port, { servername: 'site.test', maxVersion: 'TLSv1.2', ciphers: `${suite}:@SECLEVEL=0` });
      // OpenSSL 3.0 (Node 20) names the alert SSLV3_ALERT_HANDSHAKE_FAILURE, 3.5 (Node 24) SSL/TLS_ALERT_HANDSHAKE_FAILURE.
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.match(r.ok ? '' : r.code, /^ERR_SSL_SSL(V3|\/TLS)_ALERT_HANDSHAKE_FAILURE$/);
    });
  }

  test('refuses client-initiated renegotiation, on the SNI-selected and on the default certificate', async () => {
    for (const servername of ['site.test', undefined]) {
      const result = await renegotiate(proxy.port, servername);
      assert.match(result, /^refused: .*no renegotiation/, `servername ${servername ?? '(none)'}: ${result}`);
    }
  });
});
