// Command line of the Node peer processes:
//   --port P --upstream-port U [--cert FILE --key FILE]
// With --cert/--key the peer listens with TLS and offers h2 (and HTTP/1.1).

import { readFileSync } from 'node:fs';

export interface PeerOptions {
  port: number;
  upstreamPort: number;
  tls: { cert: Buffer; key: Buffer } | null;
}

function valueOf(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
}

export function readPeerOptions(args: string[]): PeerOptions {
  const port = Number(valueOf(args, '--port'));
  const upstreamPort = Number(valueOf(args, '--upstream-port'));
  if (!Number.isInteger(port) || !Number.isInteger(upstreamPort)) {
    throw new Error('usage: --port P --upstream-port U [--cert FILE --key FILE]');
  }
  const cert = valueOf(args, '--cert');
  const key = valueOf(args, '--key');
  return {
    port,
    upstreamPort,
    tls: cert === undefined || key === undefined ? null : { cert: readFileSync(cert), key: readFileSync(key) },
  };
}

/** Peers are stopped with SIGTERM by the harness; exit at once. */
export function exitOnSigterm(): void {
  process.on('SIGTERM', () => process.exit(0));
}
