/**
 * What middlewares see of one request. The session owns it and reuses
 * nothing across requests: a middleware may keep a reference until onDone.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly method: string;
  /** Path plus query as it will be sent upstream; middlewares may change it. */
  path: string;
  /** Flat [name, value, name, value, ...] request headers as received (hop-by-hop still in). */
  headers: string[];
  readonly host: string | undefined;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly tls: boolean;
  readonly routeName: string;
  readonly params: Readonly<Record<string, string>>;
  /** Values middlewares pass to later ones and to the access log (e.g. apiKeyName). */
  readonly locals: Record<string, string>;
  /**
   * True when the session runs Middleware.onResponseBody filters (the
   * HTTP/1.1 and HTTP/2 sessions; unset by any without the phase). A middleware
   * whose head edits promise a body change (Content-Encoding) must check it:
   * a session without the body phase would send the old body under new headers.
   */
  readonly bodyFilters?: boolean;
}

export interface ResponseContext {
  status: number;
  /** Flat [name, value, ...] response headers (hop-by-hop already removed). */
  headers: string[];
}

/** Case-insensitive lookup in a flat header array; the first value wins. */
export function getHeader(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === lowerName.length && n.toLowerCase() === lowerName) return headers[i + 1];
  }
  return undefined;
}

/** Removes every field named `lowerName`. */
export function removeHeader(headers: string[], lowerName: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const n = headers[i]!;
    if (n.length === lowerName.length && n.toLowerCase() === lowerName) headers.splice(i, 2);
  }
}

/** Replaces every field named like `name` with one field. */
export function setHeader(headers: string[], name: string, value: string): void {
  removeHeader(headers, name.toLowerCase());
  headers.push(name, value);
}
