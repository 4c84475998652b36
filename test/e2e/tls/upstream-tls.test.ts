/**
 * TLS to upstreams (upstreams.<name>.tls): the origin's certificate is
 * verified against the configured CA (a failure is a 502), the servername
 * override is what the origin sees as SNI and what the certificate is
 * checked against, a client certificate satisfies an origin that requires
 * one (mTLS), and insecure mode warns once when the worker starts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type tls from 'node:tls';
import { startProxy } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';
import { createTestCa, type TestCa, type CertFiles } from '../harness/test-certificates.js';

let ca: TestCa;
let otherCa: TestCa;
let server: CertFiles;
let client: CertFiles;
let origin: https.Server;
let mtlsOrigin: https.Server;
const seen: Array<{ sni: string | false; clientCn: string | undefined }> = [];

function listen(s: https.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
}

function handler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const sock = req.socket as tls.TLSSocket;
  const peer = sock.getPeerCertificate?.();
  const cn = peer && Object.keys(peer).length > 0 ? String(peer.subject.CN) : undefined;
  seen.push({ sni: (sock as tls.TLSSocket & { servername?: string | false }).servername ?? false, clientCn: cn });
  res.end(`tls ok ${req.url}`);
}

async function through(groupTls: Record<string, unknown>, port: number): Promise<{ status: number; body: string }> {
  const p = await startProxy(proxyConfig({ upstreams: { app: { hosts: [`127.0.0.1:${port}`], tls: groupTls, retries: 0 } } }));
  try {
    const r = await httpRequest(p.port, { path: '/via-tls' });
    return { status: r.status, body: r.body.toString() };
  } finally {
    await p.close();
  }
}

let originPort = 0;
let mtlsPort = 0;

before(async () => {
  ca = createTestCa();
  otherCa = createTestCa();
  server = ca.issue('origin', ['origin.test']);
  client = ca.issue('proxy-client', ['zproxy-client'], 'client');
  origin = https.createServer({ cert: server.cert, key: server.key }, handler);
  mtlsOrigin = https.createServer({ cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, handler);
  originPort = await listen(origin);
  mtlsPort = await listen(mtlsOrigin);
});

after(async () => {
  origin?.close();
  mtlsOrigin?.close();
  ca?.remove();
  otherCa?.remove();
});

test('an origin certificate signed by the configured CA and matching the servername is accepted', async () => {
  const before = seen.length;
  const r = await through({ caFile: ca.certFile, servername: 'origin.test' }, originPort);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'tls ok /via-tls');
  assert.equal(seen[before]!.sni, 'origin.test');
});

test('an origin certificate from another CA fails verification: 502, and the origin gets no request', async () => {
  const before = seen.length;
  const r = await through({ caFile: otherCa.certFile, servername: 'origin.test' }, originPort);
  assert.equal(r.status, 502);
  assert.equal(seen.length, before);
});

test('without the servername override the certificate does not match 127.0.0.1: 502', async () => {
  const r = await through({ caFile: ca.certFile }, originPort);
  assert.equal(r.status, 502);
});

test('a servername the certificate does not name fails verification: 502', async () => {
  const r = await through({ caFile: ca.certFile, servername: 'elsewhere.test' }, originPort);
  assert.equal(r.status, 502);
});

test('a client certificate satisfies an origin that requires one (mTLS)', async () => {
  const before = seen.length;
  const r = await through({ caFile: ca.certFile, servername: 'origin.test', certFile: client.certFile, keyFile: client.keyFile }, mtlsPort);
  assert.equal(r.status, 200);
  assert.equal(seen[before]!.clientCn, 'zproxy-client');
});

test('an origin that requires a client certificate refuses the proxy without one: 502', async () => {
  const before = seen.length;
  const r = await through({ caFile: ca.certFile, servername: 'origin.test' }, mtlsPort);
  assert.equal(r.status, 502);
  assert.equal(seen.length, before);
});

test('insecure mode skips verification and warns once when the worker starts', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { if (/insecure/.test(w.message)) warnings.push(w.message); };
  process.on('warning', onWarning);
  try {
    const r = await through({ insecure: true }, originPort);
    assert.equal(r.status, 200);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!, /upstream 'app'.*not verified/);
  } finally {
    process.removeListener('warning', onWarning);
  }
});
