/**
 * Per-listener TLS termination compiled from the config: which http
 * listeners terminate TLS, with which certificates, ALPN list and handshake
 * deadline. Built at start and in every reload's prepare phase (a bad pair
 * fails the prepare, so the reload aborts and the running certificates stay).
 */
import type { ZproxyConfig } from '../../src/config/types.js';
import { CertificateStore } from './certificate-store.js';
import { TlsTerminator, type SecureConnectionHandler } from './tls-terminator.js';

export function buildListenerTls(config: ZproxyConfig, onSecure: SecureConnectionHandler): Map<string, TlsTerminator> {
  const out = new Map<string, TlsTerminator>();
  for (const l of config.listeners) {
    if (l.mode !== 'http' || l.tls === undefined || l.tls.passthrough) continue;
    out.set(l.name, new TlsTerminator(new CertificateStore(l.name, l.tls), l.tls, l.protocols, config.server.timeouts.handshakeMs, onSecure));
  }
  return out;
}

/** One line per upstream group whose TLS skips certificate verification (tls.insecure). */
export function insecureUpstreamWarnings(config: ZproxyConfig): string[] {
  return Object.values(config.upstreams)
    .filter((g) => g.tls !== undefined && g.tls.enabled && g.tls.insecure)
    .map((g) => `upstream '${g.name}': tls.insecure is set, so its certificates are not verified (anyone on the path can impersonate it); set caFile instead for a private CA`);
}
