/**
 * The certificates of one TLS listener, compiled into secure contexts: exact
 * server names, `*.example.com` wildcards (one label deep, RFC 6125 6.4.3)
 * and a default for clients that send no SNI or a name nobody serves. Built
 * once per config (start and every reload), so a reload swaps certificates
 * by swapping the store; handshakes in flight keep the context they got.
 */
import type tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ListenerTlsConfig } from '../../src/config/types.js';
import { ZproxyError } from '../../src/kernel/errors.js';
import { createPairContext } from '../../src/config/tls-pair-check.js';

export class CertificateStore {
  private readonly exact = new Map<string, tls.SecureContext>();
  /** Suffix after "*." -> context. */
  private readonly wildcard = new Map<string, tls.SecureContext>();
  readonly defaultContext: tls.SecureContext;
  /** The default certificate's PEM files: tls.Server takes its default as cert/key. */
  readonly defaultPair: { readonly cert: Buffer; readonly key: Buffer };

  /** Throws ZproxyError 'tls.certificate' naming the listener and the certificate when a pair cannot be loaded. */
  constructor(readonly listenerName: string, config: ListenerTlsConfig) {
    const contexts = config.certificates.map((c, i) => {
      try {
        return createPairContext(c.certFile, c.keyFile, { minVersion: config.minVersion, ciphers: config.ciphers });
      } catch (err) {
        throw new ZproxyError({ code: 'tls.certificate', message: `listener '${listenerName}' tls.certificates[${i}] (${c.certFile}): ${(err as Error).message}`, source: 'tls', context: { listener: listenerName, certificate: i } });
      }
    });
    config.certificates.forEach((c, i) => {
      for (const name of c.serverNames) {
        // The first certificate to claim a name wins: the config reads top to bottom.
        const table = name.startsWith('*.') ? this.wildcard : this.exact;
        const key = name.startsWith('*.') ? name.slice(2) : name;
        if (!table.has(key)) table.set(key, contexts[i]!);
      }
    });
    const d = config.certificates[config.defaultCertificate] !== undefined ? config.defaultCertificate : 0;
    this.defaultContext = contexts[d]!;
    // Read again (not kept from createPairContext): this runs once per config, not per handshake.
    this.defaultPair = { cert: readFileSync(config.certificates[d]!.certFile), key: readFileSync(config.certificates[d]!.keyFile) };
  }

  /** The context for a ClientHello's server name (undefined or '': none sent). */
  contextFor(serverName: string | undefined): tls.SecureContext {
    if (serverName === undefined || serverName === '') return this.defaultContext;
    const name = serverName.toLowerCase();
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const w = this.wildcard.get(name.slice(dot + 1));
      if (w !== undefined) return w;
    }
    return this.defaultContext;
  }
}
