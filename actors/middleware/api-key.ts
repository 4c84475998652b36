/**
 * The `api-key` middleware: a request passes only with a known key, read from
 * a header (default `x-api-key`) or, when configured, a query parameter.
 * Keys come inline from the config (where `${ENV}` was already substituted by
 * the loader) and/or from a keys file. The key's name (never its value) goes
 * into ctx.locals.apiKeyName for later middleware (rate-limit by api-key) and
 * the access log ($api_key_name).
 *
 * The key is removed from the request before it goes upstream (header and
 * query parameter): it is the proxy's credential, and an upstream that logs
 * its requests would otherwise store it. (Kong's key-auth and Envoy's
 * api_key_auth keep it unless told to hide it; we pick the safe default.)
 */
import crypto, { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApiKey, ApiKeyMiddlewareConfig } from '../../src/config/types.js';
import { ZproxyError } from '../../src/kernel/errors.js';
import { CONTINUE, type Middleware, type MiddlewareDecision, type RespondDecision } from './middleware.js';
import { getHeader, removeHeader, type RequestContext } from './request-context.js';

/** The locals key later middleware and the access log read. */
export const API_KEY_NAME_LOCAL = 'apiKeyName';

interface KnownKey {
  readonly name: string;
  /** SHA-256 of the key: every comparison is over 32 bytes, so the time taken says nothing about the key's length. */
  readonly digest: Buffer;
}

/**
 * Reads a keys file: one `name:key` per line (the name cannot contain ':',
 * so the key is everything after the first one and may contain any
 * character); blank lines and lines starting with '#' are skipped; spaces
 * around the name and the key are trimmed. Errors name the file and line,
 * never the line's text (it holds a secret).
 */
export function parseKeysFile(text: string, file: string): ApiKey[] {
  const keys: ApiKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    const key = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || key === '') {
      throw new ZproxyError({
        code: 'middleware.api-key-file',
        message: `${file} line ${i + 1}: expected "name:key" (name: letters, digits, '.', '_', '-'; key: not empty)`,
        source: 'middleware',
        context: { file, line: i + 1 },
      });
    }
    keys.push({ name, key });
  }
  return keys;
}

/** crypto.hash (Node >= 20.12) is the one-shot form: about a third cheaper than createHash per request. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

function digestOf(key: string): Buffer {
  return oneShot !== undefined ? oneShot('sha256', key, 'buffer') : createHash('sha256').update(key, 'utf8').digest();
}

export class ApiKeyMiddleware implements Middleware {
  private readonly keys: readonly KnownKey[];
  private readonly header: string;
  private readonly queryParam: string | undefined;
  private readonly unauthorized: RespondDecision;

  constructor(readonly name: string, config: ApiKeyMiddlewareConfig, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')) {
    const all = [...config.keys];
    if (config.keysFile !== undefined) all.push(...parseKeysFile(readFile(config.keysFile), config.keysFile));
    if (all.length === 0) {
      throw new ZproxyError({ code: 'middleware.api-key-empty', message: `middleware '${name}': no keys (keys and keysFile are both empty)`, source: 'middleware', context: { middleware: name } });
    }
    this.keys = all.map((k) => ({ name: k.name, digest: digestOf(k.key) }));
    this.header = config.header.toLowerCase();
    this.queryParam = config.queryParam;
    const where = this.queryParam === undefined ? `header="${this.header}"` : `header="${this.header}", query="${this.queryParam}"`;
    // No standard scheme exists for API keys; RFC 9110 11.6.1 still requires a challenge with every 401.
    this.unauthorized = Object.freeze({
      kind: 'respond',
      status: 401,
      headers: ['www-authenticate', `ApiKey realm="zproxy", ${where}`, 'cache-control', 'no-store'],
      body: '401 Unauthorized: a valid API key is required\n',
    });
  }

  /**
   * When: after routing. Result: continue (the key is known; its name is in
   * ctx.locals.apiKeyName and the key is stripped) or respond 401 (missing
   * or unknown key; the body never echoes what was sent).
   */
  onRequest(ctx: RequestContext): MiddlewareDecision {
    let presented = getHeader(ctx.headers, this.header);
    if (presented === undefined && this.queryParam !== undefined) presented = queryValue(ctx.path, this.queryParam);
    if (presented === undefined || presented === '') return this.unauthorized;
    const name = this.match(presented);
    if (name === undefined) return this.unauthorized;
    ctx.locals[API_KEY_NAME_LOCAL] = name;
    removeHeader(ctx.headers, this.header);
    if (this.queryParam !== undefined) ctx.path = withoutQueryParam(ctx.path, this.queryParam);
    return CONTINUE;
  }

  /**
   * Compares the presented key's digest with every known digest, without
   * stopping at a match: the time taken does not depend on which key (if
   * any) matched, nor on how many leading bytes agree (timingSafeEqual).
   */
  private match(presented: string): string | undefined {
    const d = digestOf(presented);
    let found: string | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(d, k.digest) && found === undefined) found = k.name;
    }
    return found;
  }
}

/** The first value of `param` in the query of `path` (percent-decoded), or undefined. */
export function queryValue(path: string, param: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of path.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const n = eq < 0 ? pair : pair.slice(0, eq);
    if (decodeComponent(n) !== param) continue;
    return eq < 0 ? '' : decodeComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
  }
  return undefined;
}

/** `path` with every `param=...` pair removed from its query (the '?' goes too when nothing is left). */
export function withoutQueryParam(path: string, param: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const kept = path.slice(q + 1).split('&').filter((pair) => {
    const eq = pair.indexOf('=');
    return decodeComponent(eq < 0 ? pair : pair.slice(0, eq)) !== param;
  });
  return kept.length === 0 ? path.slice(0, q) : `${path.slice(0, q)}?${kept.join('&')}`;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes: compared as sent, so they never match a configured name
  }
}
