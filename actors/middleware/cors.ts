/**
 * The `cors` middleware (Fetch standard, "CORS protocol"). A preflight
 * (OPTIONS with Origin and Access-Control-Request-Method) is answered here
 * with 204 and never reaches the upstream. Other requests from an allowed
 * origin go upstream and get Access-Control-Allow-Origin (and credentials,
 * exposed headers) added to the response.
 *
 * A disallowed origin (or a preflight for a method not allowed) gets no CORS
 * headers at all: the preflight is still a 204, which the browser then
 * refuses for lack of Access-Control-Allow-Origin, as Kong's cors plugin
 * answers. Non-browser clients never send preflights, so a 403 would protect
 * nothing and only tell a prober which origins are listed.
 *
 * `Vary: Origin` is added to every response whose CORS headers depend on the
 * Origin (everything except a plain "*" without credentials), allowed or
 * not, so a shared cache never serves one origin's answer to another.
 */
import type { CorsMiddlewareConfig } from '../../src/config/types.js';
import { CONTINUE, type Middleware, type MiddlewareDecision, type RespondDecision } from './middleware.js';
import { getHeader, setHeader, type RequestContext, type ResponseContext } from './request-context.js';

/** Matches an Origin value (already lowercased where exact). */
type OriginTest = (origin: string) => boolean;

export class CorsMiddleware implements Middleware {
  private readonly anyOrigin: boolean;
  private readonly exact: ReadonlySet<string>;
  private readonly tests: readonly OriginTest[];
  private readonly methods: ReadonlySet<string>;
  private readonly allowMethods: string;
  private readonly allowHeaders: string | undefined;
  private readonly exposeHeaders: string | undefined;
  private readonly credentials: boolean;
  private readonly maxAge: string;
  /** The answer depends on the Origin: Vary: Origin on every response. */
  private readonly varies: boolean;
  private readonly originLocal: string;
  private readonly refused: RespondDecision;

  constructor(readonly name: string, config: CorsMiddlewareConfig) {
    this.anyOrigin = config.origins.includes('*');
    const exact = new Set<string>();
    const tests: OriginTest[] = [];
    for (const o of config.origins) {
      if (o === '*') continue;
      const star = o.indexOf('://*.');
      if (star < 0) exact.add(o.toLowerCase());
      else tests.push(wildcardTest(o.slice(0, star + 3).toLowerCase(), o.slice(star + 5).toLowerCase()));
    }
    for (const source of config.originRegex ?? []) {
      const re = new RegExp(`^(?:${source})$`);
      tests.push((origin) => re.test(origin));
    }
    this.exact = exact;
    this.tests = tests;
    this.methods = new Set(config.methods);
    this.allowMethods = config.methods.join(', ');
    this.allowHeaders = config.headers.length > 0 ? config.headers.join(', ') : undefined;
    this.exposeHeaders = config.exposeHeaders.length > 0 ? config.exposeHeaders.join(', ') : undefined;
    this.credentials = config.credentials;
    this.maxAge = String(config.maxAgeSeconds);
    // "*" answers every origin the same way (the literal "*"), unless credentials force echoing the origin.
    this.varies = !(this.anyOrigin && !this.credentials);
    this.originLocal = `cors.${name}.origin`;
    this.refused = Object.freeze({ kind: 'respond', status: 204, headers: this.varies ? ['Vary', 'Origin'] : [] });
  }

  /** Whether `origin` is one of the allowed origins. */
  allowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    const lower = origin.toLowerCase();
    if (this.exact.has(lower)) return true;
    for (const t of this.tests) if (t(origin)) return true;
    return false;
  }

  /**
   * When: after routing. Result: respond 204 for a preflight (with CORS
   * headers when origin and method are allowed, without otherwise);
   * continue for anything else, remembering an allowed origin for
   * onResponseHead.
   */
  onRequest(ctx: RequestContext): MiddlewareDecision {
    const origin = getHeader(ctx.headers, 'origin');
    if (origin === undefined) return CONTINUE;
    const ok = this.allowed(origin);
    if (ctx.method === 'OPTIONS') {
      const requested = getHeader(ctx.headers, 'access-control-request-method');
      if (requested !== undefined) return ok && this.methods.has(requested.trim()) ? this.preflight(origin, ctx) : this.refused;
    }
    if (ok) ctx.locals[this.originLocal] = origin;
    return CONTINUE;
  }

  /** When: the upstream answered. Adds the CORS response headers for an allowed origin; Vary: Origin when origin-dependent. */
  onResponseHead(ctx: RequestContext, res: ResponseContext): void {
    if (this.varies) addVary(res.headers, 'Origin');
    const origin = ctx.locals[this.originLocal];
    if (origin === undefined) return;
    setHeader(res.headers, 'Access-Control-Allow-Origin', this.varies ? origin : '*');
    if (this.credentials) setHeader(res.headers, 'Access-Control-Allow-Credentials', 'true');
    if (this.exposeHeaders !== undefined) setHeader(res.headers, 'Access-Control-Expose-Headers', this.exposeHeaders);
  }

  private preflight(origin: string, ctx: RequestContext): RespondDecision {
    const headers = ['Access-Control-Allow-Origin', this.varies ? origin : '*', 'Access-Control-Allow-Methods', this.allowMethods];
    // No configured list: allow what the preflight asks for (the schema's documented default).
    const allowHeaders = this.allowHeaders ?? getHeader(ctx.headers, 'access-control-request-headers');
    if (allowHeaders !== undefined && allowHeaders !== '') headers.push('Access-Control-Allow-Headers', allowHeaders);
    if (this.credentials) headers.push('Access-Control-Allow-Credentials', 'true');
    headers.push('Access-Control-Max-Age', this.maxAge);
    headers.push('Vary', this.varies ? 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' : 'Access-Control-Request-Method, Access-Control-Request-Headers');
    return { kind: 'respond', status: 204, headers };
  }
}

/** "https://" + "example.com": matches https://a.example.com and https://a.b.example.com, not https://example.com. */
function wildcardTest(scheme: string, suffix: string): OriginTest {
  const dotted = `.${suffix}`;
  return (origin) => {
    const lower = origin.toLowerCase();
    if (!lower.startsWith(scheme) || !lower.endsWith(dotted)) return false;
    const label = lower.slice(scheme.length, lower.length - dotted.length);
    return label.length > 0 && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(label);
  };
}

/** Adds `token` to the response's Vary unless it (or "*") is already there. */
function addVary(headers: string[], token: string): void {
  const lower = token.toLowerCase();
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'vary') continue;
    const parts = headers[i + 1]!.split(',').map((p) => p.trim().toLowerCase());
    if (parts.includes('*') || parts.includes(lower)) return;
    headers[i + 1] = `${headers[i + 1]}, ${token}`;
    return;
  }
  headers.push('Vary', token);
}
