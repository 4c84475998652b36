// A throw-away self-signed certificate for the h2 scenario, made with the
// openssl CLI into the run's temp dir. h2load does not verify certificates.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Certificate followed by key, the form HAProxy's `crt` wants. */
  pemFile: string;
}

export class CertificateError extends Error {
  readonly code = 'LOAD_CERT_FAILED';
}

export function makeSelfSignedCert(dir: string): TlsFiles {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const pemFile = join(dir, 'combined.pem');
  try {
    // P-256: the curve browsers and proxies negotiate by default; cheaper
    // handshakes than RSA-2048 so connection set-up does not dominate.
    execFileSync('openssl', [
      'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new CertificateError(`openssl could not make a certificate: ${(err as Error).message}`);
  }
  writeFileSync(pemFile, Buffer.concat([readFileSync(certFile), readFileSync(keyFile)]));
  return { certFile, keyFile, pemFile };
}
