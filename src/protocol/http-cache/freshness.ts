/**
 * The RFC 9111 rules zproxy's shared cache applies, as pure functions over
 * flat [name, value, ...] header arrays and millisecond clocks: no sockets,
 * no threads. Implemented: storability (3, 3.5 Authorization, 5.2 directives
 * no-store, private, no-cache, public, s-maxage, max-age), freshness lifetime
 * (4.2.1: s-maxage > max-age > Expires - Date, else the configured default),
 * age (4.2.3), Vary (4.1), 304 header refresh (3.2 / 4.3.4), and a client's
 * own conditionals against a stored entry (RFC 9110 13.1.1, 13.1.3).
 * Not implemented (so never served): stale-while-revalidate, stale-if-error,
 * partial content (206), invalidation by unsafe methods (4.4).
 */

/** Statuses stored: RFC 9110 15.1's heuristically cacheable set, less 206 (no range support). */
const STORABLE_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

export interface CacheDirectives {
  maxAgeSec?: number;
  sMaxAgeSec?: number;
  noStore: boolean;
  noCache: boolean;
  private: boolean;
  public: boolean;
  mustRevalidate: boolean;
}

export function headerValue(headers: readonly string[], lowerName: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === lowerName) out = out === undefined ? headers[i + 1]! : out + ', ' + headers[i + 1]!;
  }
  return out;
}

/** Parses Cache-Control (RFC 9111 5.2); an invalid delta-seconds counts as 0 (5.2.1: treat as stale). */
export function parseCacheControl(value: string | undefined): CacheDirectives {
  const d: CacheDirectives = { noStore: false, noCache: false, private: false, public: false, mustRevalidate: false };
  if (value === undefined) return d;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? undefined : part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    const seconds = arg !== undefined && /^\d+$/.test(arg) ? Math.min(Number(arg), 2 ** 31) : 0;
    switch (name) {
      case 'max-age': d.maxAgeSec = seconds; break;
      case 's-maxage': d.sMaxAgeSec = seconds; break;
      case 'no-store': d.noStore = true; break;
      // A qualified no-cache="field" only forbids reusing those fields; treating it as
      // unqualified is the conservative reading RFC 9111 5.2.2.4 allows.
      case 'no-cache': d.noCache = true; break;
      case 'private': d.private = true; break;
      case 'public': d.public = true; break;
      case 'must-revalidate': case 'proxy-revalidate': d.mustRevalidate = true; break;
      default: break;
    }
  }
  return d;
}

/** An HTTP-date (IMF-fixdate or the obsolete forms Date.parse reads) in ms, or undefined. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface RequestCacheControl {
  /** no-store: neither answer from nor store into the cache. */
  readonly noStore: boolean;
  /** no-cache, max-age=0 or Pragma: no-cache: a stored response must be revalidated first. */
  readonly revalidate: boolean;
  /** Largest age the client accepts, when it says (max-age=N). */
  readonly maxAgeMs: number | undefined;
}

export function requestCacheControl(headers: readonly string[]): RequestCacheControl {
  const cc = headerValue(headers, 'cache-control');
  const d = parseCacheControl(cc);
  // RFC 9111 5.4: Pragma: no-cache counts only when Cache-Control is absent.
  const pragmaNoCache = cc === undefined && /(^|[\s,])no-cache([\s,]|$)/i.test(headerValue(headers, 'pragma') ?? '');
  return {
    noStore: d.noStore,
    revalidate: d.noCache || pragmaNoCache || d.maxAgeSec === 0,
    maxAgeMs: d.maxAgeSec === undefined ? undefined : d.maxAgeSec * 1000,
  };
}

export interface StoreDecisionInput {
  readonly method: string;
  readonly status: number;
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];
  /** Freshness for a response without explicit freshness; 0: such responses are not stored. */
  readonly defaultTtlMs: number;
  /** When the request was sent upstream and when the response head arrived (ms since epoch). */
  readonly requestTimeMs: number;
  readonly responseTimeMs: number;
}

export type StoreDecision =
  | { readonly store: false; readonly reason: string }
  | {
    readonly store: true;
    readonly freshnessMs: number;
    /** Age the response already had when it arrived (RFC 9111 4.2.3 corrected_initial_age). */
    readonly initialAgeMs: number;
    /** Lower-cased request field names the response varies on. */
    readonly varyNames: readonly string[];
    /** May answer requests that carry Authorization (RFC 9111 3.5). */
    readonly sharedAuthorized: boolean;
  };

/** May a shared cache store this response, and for how long is it fresh (RFC 9111 3, 4.2.1)? */
export function decideStore(input: StoreDecisionInput): StoreDecision {
  if (input.method !== 'GET') return { store: false, reason: 'method' };
  if (!STORABLE_STATUSES.has(input.status)) return { store: false, reason: 'status' };
  const req = requestCacheControl(input.requestHeaders);
  if (req.noStore) return { store: false, reason: 'request no-store' };
  const res = input.responseHeaders;
  const cc = parseCacheControl(headerValue(res, 'cache-control'));
  if (cc.noStore) return { store: false, reason: 'no-store' };
  if (cc.private) return { store: false, reason: 'private' };
  const sharedAuthorized = cc.public || cc.sMaxAgeSec !== undefined || cc.mustRevalidate;
  if (headerValue(input.requestHeaders, 'authorization') !== undefined && !sharedAuthorized) return { store: false, reason: 'authorization' };
  // A per-user cookie stored in a shared cache would be handed to every user.
  if (headerValue(res, 'set-cookie') !== undefined) return { store: false, reason: 'set-cookie' };
  const varyNames = parseVary(headerValue(res, 'vary'));
  if (varyNames === '*') return { store: false, reason: 'vary *' };
  let freshnessMs: number;
  if (cc.sMaxAgeSec !== undefined) freshnessMs = cc.sMaxAgeSec * 1000;
  else if (cc.maxAgeSec !== undefined) freshnessMs = cc.maxAgeSec * 1000;
  else if (headerValue(res, 'expires') !== undefined) {
    const expires = parseHttpDate(headerValue(res, 'expires'));
    const date = parseHttpDate(headerValue(res, 'date')) ?? input.responseTimeMs;
    // 5.3: an invalid Expires (e.g. "0") means already expired.
    freshnessMs = expires === undefined ? 0 : Math.max(0, expires - date);
  } else if (input.defaultTtlMs > 0) freshnessMs = input.defaultTtlMs;
  else if (cc.noCache && hasValidator(res)) freshnessMs = 0;
  else return { store: false, reason: 'no freshness' };
  if (cc.noCache) freshnessMs = 0; // stored, but every reuse revalidates (5.2.2.4)
  if (freshnessMs === 0 && !hasValidator(res)) return { store: false, reason: 'stale on arrival without validator' };
  return { store: true, freshnessMs, initialAgeMs: initialAgeMs(res, input.requestTimeMs, input.responseTimeMs), varyNames, sharedAuthorized };
}

function hasValidator(headers: readonly string[]): boolean {
  return headerValue(headers, 'etag') !== undefined || headerValue(headers, 'last-modified') !== undefined;
}

/** RFC 9111 4.2.3: corrected_initial_age = max(apparent_age, age_value + response_delay). */
export function initialAgeMs(responseHeaders: readonly string[], requestTimeMs: number, responseTimeMs: number): number {
  const date = parseHttpDate(headerValue(responseHeaders, 'date'));
  const apparent = date === undefined ? 0 : Math.max(0, responseTimeMs - date);
  const ageHeader = headerValue(responseHeaders, 'age');
  const ageSec = ageHeader !== undefined && /^\d+$/.test(ageHeader.trim()) ? Number(ageHeader.trim()) : 0;
  const delay = Math.max(0, responseTimeMs - requestTimeMs);
  return Math.max(apparent, ageSec * 1000 + delay);
}

/** current_age = corrected_initial_age + resident_time (RFC 9111 4.2.3). */
export function currentAgeMs(initialAge: number, storedAtMs: number, nowMs: number): number {
  return initialAge + Math.max(0, nowMs - storedAtMs);
}

/** Lower-cased names from Vary, '*' for Vary: *, [] when absent. */
export function parseVary(value: string | undefined): string[] | '*' {
  if (value === undefined) return [];
  const names: string[] = [];
  for (const raw of value.split(',')) {
    const n = raw.trim().toLowerCase();
    if (n === '*') return '*';
    if (n.length > 0 && !names.includes(n)) names.push(n);
  }
  return names.sort();
}

/**
 * The request's values for the Vary names, normalized so equivalent requests
 * match (RFC 9111 4.1: whitespace around commas, combined field lines). An
 * absent field is distinct from an empty one.
 */
export function varyValues(requestHeaders: readonly string[], varyNames: readonly string[]): string[] {
  return varyNames.map((n) => {
    const v = headerValue(requestHeaders, n);
    return v === undefined ? '\u0000' : v.split(',').map((s) => s.trim()).join(',');
  });
}

/** Does the client's own If-None-Match / If-Modified-Since match the stored response (answer 304)? */
export function clientConditionalMatches(requestHeaders: readonly string[], storedHeaders: readonly string[]): boolean {
  const inm = headerValue(requestHeaders, 'if-none-match');
  if (inm !== undefined) {
    // RFC 9110 13.1.2: If-None-Match uses weak comparison; it takes precedence over IMS (13.2.2).
    const etag = headerValue(storedHeaders, 'etag');
    if (inm.trim() === '*') return true; // any stored representation matches
    if (etag === undefined) return false;
    const opaque = stripWeak(etag.trim());
    return inm.split(',').some((t) => stripWeak(t.trim()) === opaque);
  }
  const ims = parseHttpDate(headerValue(requestHeaders, 'if-modified-since'));
  if (ims === undefined) return false;
  const lastModified = parseHttpDate(headerValue(storedHeaders, 'last-modified')) ?? parseHttpDate(headerValue(storedHeaders, 'date'));
  return lastModified !== undefined && lastModified <= ims;
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Fields a 304 must not replace in the stored response (RFC 9111 3.2: framing and our own). */
const NOT_REFRESHED: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'content-encoding', 'content-range', 'x-cache', 'age']);

/** The stored response's fields updated with those of a 304 that validated it (RFC 9111 4.3.4). */
export function refreshHeaders(stored: readonly string[], notModified: readonly string[]): string[] {
  const replaced = new Set<string>();
  for (let i = 0; i < notModified.length; i += 2) {
    const n = notModified[i]!.toLowerCase();
    if (!NOT_REFRESHED.has(n)) replaced.add(n);
  }
  const out: string[] = [];
  for (let i = 0; i < stored.length; i += 2) if (!replaced.has(stored[i]!.toLowerCase())) out.push(stored[i]!, stored[i + 1]!);
  for (let i = 0; i < notModified.length; i += 2) if (replaced.has(notModified[i]!.toLowerCase())) out.push(notModified[i]!, notModified[i + 1]!);
  return out;
}

/** Fields 304 answers carry (RFC 9110 15.4.5): what a client needs to update its own copy. */
const NOT_MODIFIED_FIELDS: ReadonlySet<string> = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified']);

export function notModifiedHeaders(stored: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < stored.length; i += 2) if (NOT_MODIFIED_FIELDS.has(stored[i]!.toLowerCase())) out.push(stored[i]!, stored[i + 1]!);
  return out;
}
