/**
 * Terminates TLS for one http listener: a tls.Server that never listens
 * (the acceptor owns the port) takes each connection the detector classified
 * as a ClientHello, with the bytes it read put back. It picks the
 * certificate by SNI from the listener's CertificateStore, offers ALPN from
 * the listener's protocols, bounds the handshake (server.timeouts.handshakeMs)
 * and hands the decrypted socket and the negotiated protocol on.
 * One terminator per config: a reload builds new ones; handshakes in flight
 * finish on the old one.
 */
import tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import type net from 'node:net';
import type { ListenerProtocol, ListenerTlsConfig } from '../../src/config/types.js';
import type { CertificateStore } from './certificate-store.js';

/** What ALPN negotiated: 'h2', or HTTP/1.1 (also when the client offered no ALPN). */
export type NegotiatedProtocol = 'h2' | 'http/1.1';

export type SecureConnectionHandler = (secure: tls.TLSSocket, protocol: NegotiatedProtocol) => void;

/** ALPN identifiers (RFC 7301 registry) in our preference order: h2 first when offered. */
export function alpnFor(protocols: readonly ListenerProtocol[]): string[] {
  const out: string[] = [];
  if (protocols.includes('h2')) out.push('h2');
  if (protocols.includes('http1')) out.push('http/1.1');
  return out;
}

export class TlsTerminator {
  private readonly server: tls.Server;
  /** Handshakes that failed or timed out (the socket is destroyed). */
  handshakeFailures = 0;

  constructor(readonly store: CertificateStore, config: ListenerTlsConfig, protocols: readonly ListenerProtocol[], handshakeMs: number, onSecure: SecureConnectionHandler) {
    const pair = store.defaultPair;
    this.server = tls.createServer({
      // The default certificate: what a client without SNI, or with a name no certificate claims, gets.
      cert: pair.cert,
      key: pair.key,
      minVersion: config.minVersion,
      ...(config.ciphers !== undefined ? { ciphers: config.ciphers } : {}),
      // Node allows client-initiated TLS 1.2 renegotiation (3 per 10 min per connection): each one
      // costs the server a full handshake, so a client could spend our CPU at no cost to itself
      // (CVE-2011-1473). Nothing we serve needs it, and HTTP/2 forbids it (RFC 9113 9.2.1).
      secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
      SNICallback: (serverName, cb) => cb(null, store.contextFor(serverName)),
      ALPNProtocols: alpnFor(protocols),
      handshakeTimeout: handshakeMs,
    });
    this.server.on('secureConnection', (secure: tls.TLSSocket) => onSecure(secure, secure.alpnProtocol === 'h2' ? 'h2' : 'http/1.1'));
    // A failed or late handshake (ERR_TLS_HANDSHAKE_TIMEOUT): tls.Server destroys the TLSSocket, but
    // a TLSSocket made over an existing net.Socket leaves that socket open (checked on Node 20), so
    // the TCP connection is closed here through its `_parent`, the wrapped socket.
    this.server.on('tlsClientError', (_err: Error, secure: tls.TLSSocket) => {
      this.handshakeFailures++;
      secure.destroy();
      (secure as tls.TLSSocket & { _parent?: net.Socket })._parent?.destroy();
    });
  }

  /** A connection whose first bytes (`first`, a ClientHello start) the detector already read. */
  accept(socket: net.Socket, first: Buffer): void {
    socket.pause();
    socket.unshift(first);
    this.server.emit('connection', socket);
  }
}
