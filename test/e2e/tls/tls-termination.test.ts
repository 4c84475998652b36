/**
 * TLS termination on an http listener: the certificate chosen by SNI (exact,
 * wildcard, default), ALPN, the minimum version, the handshake deadline,
 * certificates swapped by a reload, and HTTPS requests reaching the upstream
 * with X-Forwarded-Proto: https.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import https from 'node:https';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { createTestCa, type TestCa, type CertFiles } from '../harness/test-certificates.js';
import { parseConfig } from '../../../src/config/load-config.js';

let ca: TestCa;
let alpha: CertFiles;
let wild: CertFiles;
let origin: RecordingOrigin;
let proxy: ProxyHandle;

function tlsConfig(certs: Array<{ names: string[]; files: CertFiles }>, extra: Record<string, unknown> = {}, timeouts: Record<string, unknown> = {}): Record<string, unknown> {
  const cfg = proxyConfig({ upstreams: { app: [origin.port] }, server: { timeouts } });
  const listener = (cfg.listeners as Array<Record<string, unknown>>)[0]!;
  listener.tls = { certificates: certs.map((c) => ({ serverNames: c.names, certFile: c.files.certFile, keyFile: c.files.keyFile })), ...extra };
  return cfg;
}

/** The CN of the certificate the proxy presented for `servername` (undefined: no SNI). */
function presentedCn(port: number, servername: string | undefined, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca: ca.cert, rejectUnauthorized: false, ...(servername ? { servername } : {}), ...options }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(String(Array.isArray(cn) ? cn[0] : cn));
    });
    s.once('error', reject);
  });
}

before(async () => {
  ca = createTestCa();
  alpha = ca.issue('alpha', ['alpha.test']);
  wild = ca.issue('wild', ['*.wild.test']);
  origin = await startRecordingOrigin();
  proxy = await startProxy(tlsConfig([{ names: ['alpha.test'], files: alpha }, { names: ['*.wild.test'], files: wild }], { defaultCertificate: 1 }));
});

after(async () => {
  await proxy?.close();
  await origin?.close();
  ca?.remove();
});

test('SNI selects the exact-name certificate and the wildcard certificate', async () => {
  assert.equal(await presentedCn(proxy.port, 'alpha.test'), 'alpha.test');
  assert.equal(await presentedCn(proxy.port, 'api.wild.test'), '*.wild.test');
});

test('a client without SNI or with an unknown name gets the default certificate', async () => {
  assert.equal(await presentedCn(proxy.port, undefined), '*.wild.test');
  assert.equal(await presentedCn(proxy.port, 'nobody.example'), '*.wild.test');
  // A wildcard covers one label only (RFC 6125 6.4.3): a.b.wild.test is not *.wild.test, so the default answers.
  assert.equal(await presentedCn(proxy.port, 'a.b.wild.test'), '*.wild.test');
});

test('an HTTPS request is proxied with X-Forwarded-Proto https and the certificate verifies against the CA', async () => {
  const before = origin.requests.length;
  const body = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: proxy.port, path: '/secure?x=1', servername: 'alpha.test', ca: ca.cert, headers: { host: 'alpha.test' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(body.status, 200);
  assert.equal(body.body, 'GET /secure?x=1 0');
  const rec = origin.requests[before]!;
  assert.equal(rec.headers['x-forwarded-proto'], 'https');
  assert.equal(rec.headers['x-forwarded-host'], 'alpha.test');
});

test('ALPN selects http/1.1 on a listener that offers only HTTP/1.1', async () => {
  const proto = await new Promise<string | false>((resolve, reject) => {
    const s = tls.connect({ port: proxy.port, host: '127.0.0.1', servername: 'alpha.test', ca: ca.cert, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(s.alpnProtocol ?? false);
      s.end();
    });
    s.once('error', reject);
  });
  assert.equal(proto, 'http/1.1');
});

test('TLS 1.1 is refused by the default minimum (TLS 1.2)', async () => {
  await assert.rejects(presentedCn(proxy.port, 'alpha.test', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
  // TLS 1.2 itself is accepted.
  assert.equal(await presentedCn(proxy.port, 'alpha.test', { maxVersion: 'TLSv1.2' }), 'alpha.test');
});

test('minVersion TLSv1.3 refuses a TLS 1.2 client and accepts a TLS 1.3 one', async () => {
  const p = await startProxy(tlsConfig([{ names: ['alpha.test'], files: alpha }], { minVersion: 'TLSv1.3' }));
  try {
    await assert.rejects(presentedCn(p.port, 'alpha.test', { maxVersion: 'TLSv1.2' }));
    const version = await new Promise<string | null>((resolve, reject) => {
      const s = tls.connect({ port: p.port, host: '127.0.0.1', servername: 'alpha.test', ca: ca.cert }, () => { resolve(s.getProtocol()); s.end(); });
      s.once('error', reject);
    });
    assert.equal(version, 'TLSv1.3');
  } finally {
    await p.close();
  }
});

test('a client that starts a handshake and goes silent is closed at the handshake timeout', async () => {
  const p = await startProxy(tlsConfig([{ names: ['alpha.test'], files: alpha }], {}, { headerMs: 30000, handshakeMs: 300 }));
  try {
    const sock = net.connect(p.port, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    // A TLS record header and the start of a ClientHello: enough for the detector, not for a handshake.
    sock.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    const started = Date.now();
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    // Closed by the 300 ms handshake deadline, long before the 30 s header timeout.
    assert.ok(Date.now() - started < 20000, `closed after ${Date.now() - started} ms`);
  } finally {
    await p.close();
  }
});

test('a reload swaps the certificate without a restart', async () => {
  const p = await startProxy(tlsConfig([{ names: ['alpha.test'], files: alpha }]));
  try {
    const fingerprint = (): Promise<string> => new Promise((resolve, reject) => {
      const s = tls.connect({ port: p.port, host: '127.0.0.1', servername: 'alpha.test', ca: ca.cert }, () => {
        resolve(new X509Certificate(s.getPeerX509Certificate()!.raw).fingerprint256);
        s.end();
      });
      s.once('error', reject);
    });
    const renewed = ca.issue('alpha-renewed', ['alpha.test']);
    assert.equal(await fingerprint(), new X509Certificate(alpha.cert).fingerprint256);
    await p.app.reload(parseConfig(tlsConfig([{ names: ['alpha.test'], files: renewed }]), 'reload-test', {}) as never);
    assert.equal(await fingerprint(), new X509Certificate(renewed.cert).fingerprint256);
  } finally {
    await p.close();
  }
});
