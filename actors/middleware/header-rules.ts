import type { HeaderOps } from '../../src/config/types.js';
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

  constructor(edits: Partial<HeaderOps> | undefined) {
    const drop = new Set<string>();
    const append: string[] = [];
    for (const name of edits?.remove ?? []) drop.add(name.toLowerCase());
    for (const [name, value] of Object.entries(edits?.set ?? {})) {
      drop.add(name.toLowerCase());
      append.push(name, value);
    }
    for (const [name, value] of Object.entries(edits?.add ?? {})) append.push(name, value);
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

/** The built-in `headers` middleware: route-independent header edits on both directions. */
export class HeadersMiddleware implements Middleware {
  private readonly request: HeaderRules;
  private readonly response: HeaderRules;

  constructor(readonly name: string, config: { request?: Partial<HeaderOps>; response?: Partial<HeaderOps> }) {
    this.request = new HeaderRules(config.request);
    this.response = new HeaderRules(config.response);
  }

  onRequest(ctx: RequestContext): MiddlewareDecision {
    this.request.apply(ctx.headers);
    return CONTINUE;
  }

  onResponseHead(_ctx: RequestContext, res: ResponseContext): void {
    this.response.apply(res.headers);
  }
}
