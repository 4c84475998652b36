/**
 * Which upstream group a TLS passthrough connection goes to, by the server
 * name in its ClientHello: an exact name, else the wildcard with the longest
 * suffix (`*.example.com` matches `a.example.com` and `a.b.example.com`, not
 * `example.com`, as host routes do in docs/routing.md), else the listener's
 * defaultUpstream, else none (the connection is closed).
 */
export class SniRoutes<T> {
  private readonly exact = new Map<string, T>();
  /** [".example.com", target], longest suffix first. */
  private readonly wildcards: Array<[string, T]> = [];

  constructor(routes: Record<string, T>, private readonly fallback: T | undefined) {
    for (const [name, target] of Object.entries(routes)) {
      const lower = name.toLowerCase();
      if (lower.startsWith('*.')) this.wildcards.push([lower.slice(1), target]);
      else this.exact.set(lower, target);
    }
    this.wildcards.sort((a, b) => b[0].length - a[0].length);
  }

  /** `serverName` lowercase, or undefined when the client sent no SNI (only the default applies). */
  pick(serverName: string | undefined): T | undefined {
    if (serverName === undefined) return this.fallback;
    const name = serverName.endsWith('.') ? serverName.slice(0, -1) : serverName;
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    for (const [suffix, target] of this.wildcards) {
      if (name.length > suffix.length && name.endsWith(suffix)) return target;
    }
    return this.fallback;
  }
}
