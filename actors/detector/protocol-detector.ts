/**
 * The protocol-detector actor's job for one connection: read its first
 * bytes, keep them, and hand the connection and those bytes to the session
 * for its protocol. A client that sends nothing is closed at the header
 * timeout; bytes that are no protocol this listener speaks get a 400.
 */
import type net from 'node:net';
import { detectProtocol, type DetectedProtocol } from '../../src/protocol/detect-protocol.js';

export interface DetectorTargets {
  /** HTTP/1.x bytes on an HTTP listener. */
  http1(socket: net.Socket, first: Buffer): void;
  /** The HTTP/2 prior-knowledge preface; undefined when the listener does not offer h2c. */
  h2c?: (socket: net.Socket, first: Buffer) => void;
  /** A TLS ClientHello; undefined when the listener has no TLS. */
  tls?: (socket: net.Socket, first: Buffer) => void;
}

const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 37\r\nconnection: close\r\n\r\n400 Bad Request: unrecognised protocol\n'.replace('37', String('400 Bad Request: unrecognised protocol\n'.length)), 'latin1');

export function detectConnection(socket: net.Socket, headerTimeoutMs: number, targets: DetectorTargets, onDetected?: (p: DetectedProtocol) => void): void {
  let buffered: Buffer | undefined;
  const onError = (): void => { socket.destroy(); };
  // A plain timer, not socket.setTimeout(): it bounds the time to the first bytes however slowly
  // they trickle in (socket.setTimeout restarts on every read), and clearing it frees it, where
  // socket.setTimeout(0) leaves a dead Timeout on the socket for its whole life (120 B + a bound
  // function per idle keep-alive connection, and a refresh() call on every read and write).
  const timer = setTimeout(() => socket.destroy(), headerTimeoutMs);
  timer.unref();
  const onData = (chunk: Buffer): void => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    const kind = detectProtocol(buffered);
    if (kind === 'need-more') {
      if (buffered.length > 64) finish('unknown', buffered);
      return;
    }
    finish(kind, buffered);
  };
  const finish = (kind: DetectedProtocol, first: Buffer): void => {
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    clearTimeout(timer);
    onDetected?.(kind);
    if (kind === 'http1') return targets.http1(socket, first);
    if (kind === 'h2-preface' && targets.h2c) return targets.h2c(socket, first);
    if (kind === 'tls' && targets.tls) return targets.tls(socket, first);
    if (kind === 'tls') {
      socket.destroy(); // an HTTP error page would be garbage to a TLS client
      return;
    }
    socket.end(BAD_REQUEST);
  };
  socket.on('data', onData);
  socket.on('error', onError);
}
