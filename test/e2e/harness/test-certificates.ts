/**
 * Test certificates made at test time with the openssl CLI into a tmp dir:
 * a private CA and leaf certificates it signs (server names as SANs, or a
 * client certificate for mTLS). EC P-256 keys: generated in milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestCa extends CertFiles {
  readonly dir: string;
  /** A leaf certificate signed by this CA for the given DNS names (first one is the CN). */
  issue(label: string, dnsNames: readonly string[], usage?: 'server' | 'client'): CertFiles;
  remove(): void;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function files(certFile: string, keyFile: string): CertFiles {
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function createTestCa(): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'zproxy-certs-'));
  const caCert = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  openssl(['req', '-x509', ...EC_KEY, '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=zproxy test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 1;
  return {
    dir,
    ...files(caCert, caKey),
    issue(label, dnsNames, usage = 'server') {
      const key = path.join(dir, `${label}.key`);
      const csr = path.join(dir, `${label}.csr`);
      const cert = path.join(dir, `${label}.crt`);
      const ext = path.join(dir, `${label}.ext`);
      openssl(['req', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${dnsNames[0] ?? label}`]);
      const san = dnsNames.length > 0 ? `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n` : '';
      writeFileSync(ext, `${san}extendedKeyUsage=${usage === 'server' ? 'serverAuth' : 'clientAuth'}\n`);
      openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(serial++), '-days', '2', '-extfile', ext, '-out', cert]);
      return files(cert, key);
    },
    remove() { rmSync(dir, { recursive: true, force: true }); },
  };
}
