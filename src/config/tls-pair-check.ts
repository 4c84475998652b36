/**
 * Loads one certificate/key pair the way a TLS listener will, so a missing,
 * malformed or mismatched pair is a config error at load time (naming the
 * JSON path) rather than a failed handshake later. OpenSSL's messages are
 * turned into words a config author can act on.
 */
import tls from 'node:tls';
import fs from 'node:fs';

export interface PairOptions {
  readonly minVersion?: tls.SecureVersion;
  readonly ciphers?: string;
}

/** The secure context for a pair; throws an Error whose message says what is wrong and how to fix it. */
export function createPairContext(certFile: string, keyFile: string, options: PairOptions): tls.SecureContext {
  let cert: Buffer, key: Buffer;
  try {
    cert = fs.readFileSync(certFile);
    key = fs.readFileSync(keyFile);
  } catch (err) {
    throw new Error(`cannot read ${(err as NodeJS.ErrnoException).path ?? certFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return tls.createSecureContext({ cert, key, ...(options.minVersion ? { minVersion: options.minVersion } : {}), ...(options.ciphers !== undefined ? { ciphers: options.ciphers } : {}) });
  } catch (err) {
    throw new Error(describeTlsError(err));
  }
}

/** A pair problem as one sentence, or undefined when the pair loads. */
export function pairProblem(certFile: string, keyFile: string, options: PairOptions): string | undefined {
  try {
    createPairContext(certFile, keyFile, options);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function describeTlsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = `${e.code ?? ''} ${e.message ?? ''}`;
  if (/KEY_VALUES_MISMATCH|key values mismatch/i.test(text)) return 'the private key does not match the certificate; point keyFile at the key the certificate was issued for';
  if (/NO_START_LINE|no start line|PEM|ASN1|DECODER/i.test(text)) return 'not a PEM certificate and key (expected "-----BEGIN CERTIFICATE-----" in certFile and a PEM private key in keyFile)';
  if (/bad decrypt|BAD_DECRYPT|bad password/i.test(text)) return 'the private key is encrypted; give an unencrypted key';
  if (/cipher/i.test(text)) return `the cipher list is not usable (${e.message})`;
  return e.message ?? String(err);
}
