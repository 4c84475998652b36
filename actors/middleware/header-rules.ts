import type { HeaderOps } from '../../src/config/types.js';
import { ZproxyError } from '../../src/kernel/errors.js';
import { CONTINUE, type Middleware, type MiddlewareDecision } from './middleware.js';
import type { RequestContext, ResponseContext } from './request-context.js';

/**
 * Compiled add/set/remove edits for one direction. `set` replaces every
 * field of that name, `add` appends another field, `remove` drops them:
 * applied remove -> set -> add, the order nginx users expect from
 * proxy_hide_header / proxy_set_header / add_header.
 */
export class HeaderRules {
  private readonly drop: ReadonlySet<string>;
  private readonly append: readonly string[];
  readonly empty: boolean;

  /** `where` names the rules in errors, e.g. "route 'api' headers.request". */
  constructor(edits: Partial<HeaderOps> | undefined, where = 'headers') {
    const drop = new Set<string>();
    const append: string[] = [];
    for (const name of edits?.remove ?? []) drop.add(checkEditable(name, where));
    for (const [name, value] of Object.entries(edits?.set ?? {})) {
      drop.add(checkEditable(name, where));
      append.push(name, value);
    }
    for (const [name, value] of Object.entries(edits?.add ?? {})) {
      checkEditable(name, where);
      append.push(name, value);
    }
    this.drop = drop;
    this.append = append;
    this.empty = drop.size === 0 && append.length === 0;
  }

  /** Applies the edits to a flat header array in place. */
  apply(headers: string[]): void {
    if (this.empty) return;
    if (this.drop.size > 0) {
      let w = 0;
      for (let r = 0; r < headers.length; r += 2) {
        if (this.drop.has(headers[r]!.toLowerCase())) continue;
        headers[w++] = headers[r]!;
        headers[w++] = headers[r + 1]!;
      }
      headers.length = w;
    }
    for (let i = 0; i < this.append.length; i++) headers.push(this.append[i]!);
  }
}

/**
 * Content-Length and Transfer-Encoding are never editable: the session
 * forwards bodies byte for byte under the framing it validated, so a rule that
 * changed them would make the next hop read the body (or the next request)
 * differently: request smuggling by configuration. Returns the lowercased name.
 */
function checkEditable(name: string, where: string): string {
  const lower = name.toLowerCase();
  if (lower === 'content-length' || lower === 'transfer-encoding') {
    throw new ZproxyError({
      code: 'middleware.framing-header',
      message: `${where}: '${name}' cannot be added, set or removed; the proxy keeps message framing as received`,
      source: 'middleware',
      context: { where, header: name },
    });
  }
  return lower;
}

/** The built-in `headers` middleware: route-independent header edits on both directions. */
export class HeadersMiddleware implements Middleware {
  private readonly request: HeaderRules;
  private readonly response: HeaderRules;

  constructor(readonly name: string, config: { request?: Partial<HeaderOps>; response?: Partial<HeaderOps> }) {
    this.request = new HeaderRules(config.request, `middleware '${name}' request`);
    this.response = new HeaderRules(config.response, `middleware '${name}' response`);
  }

  onRequest(ctx: RequestContext): MiddlewareDecision {
    this.request.apply(ctx.headers);
    return CONTINUE;
  }

  onResponseHead(_ctx: RequestContext, res: ResponseContext): void {
    this.response.apply(res.headers);
  }
}
