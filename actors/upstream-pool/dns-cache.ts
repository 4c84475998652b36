import dns from 'node:dns';
import net from 'node:net';

/** How long a resolved address is reused; upstream names rarely move faster (nginx `resolver valid=30s`). */
const TTL_MS = 30_000;

interface Entry {
  address: string;
  expires: number;
}

/**
 * Resolves upstream host names with a cache and a timeout. IP literals skip
 * the resolver entirely (the common case for upstreams), so the hot path
 * makes no lookup at all.
 */
export class DnsCache {
  private readonly entries = new Map<string, Entry>();

  resolve(hostname: string, timeoutMs: number, cb: (err: Error | undefined, address: string) => void): void {
    if (net.isIP(hostname)) return cb(undefined, hostname);
    const hit = this.entries.get(hostname);
    if (hit && hit.expires > Date.now()) return cb(undefined, hit.address);
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      cb(Object.assign(new Error(`resolving ${hostname} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }), '');
    }, timeoutMs);
    dns.lookup(hostname, (err, address) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) return cb(err, '');
      this.entries.set(hostname, { address, expires: Date.now() + TTL_MS });
      cb(undefined, address);
    });
  }
}
