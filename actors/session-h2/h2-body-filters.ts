/**
 * The response body phase (Middleware.onResponseBody) of one HTTP/2
 * exchange: the route's filters linked innermost (nearest the upstream) to
 * outermost (nearest the client stream). The exchange feeds the innermost
 * and receives the outermost's output through its BodyFilterSink.
 */
import type { Middleware, ResponseBodyFilter, ResponseBodyLink } from '../middleware/middleware.js';
import type { RequestContext, ResponseContext } from '../middleware/request-context.js';

/** Where the chain's ends lead: the client stream outward, the upstream socket inward. */
export interface BodyFilterSink {
  /** The outermost filter's output. False: the stream is full; drained() follows its 'drain'. */
  push(chunk: Buffer): boolean;
  /** The filtered body is complete. */
  end(): void;
  /** A filter gave up after the head went out: the stream is reset. */
  fail(err: unknown): void;
  /** The innermost filter takes bytes again: the upstream socket resumes. */
  resume(): void;
}

export class BodyFilterChain {
  /** Outermost first, as the middlewares were asked. */
  private readonly filters: ResponseBodyFilter[] = [];
  /** False once the body ended or was abandoned: late calls (a zlib callback after a reset) are dropped. */
  private live = true;

  private constructor(private readonly sink: BodyFilterSink) {}

  /**
   * Asks each middleware in route order (outermost first, as the HTTP/1.1
   * session does) for a filter; undefined when none wants the body. A throw
   * destroys the filters made so far and propagates.
   */
  static create(chain: readonly Middleware[], ctx: RequestContext, res: ResponseContext, sink: BodyFilterSink): BodyFilterChain | undefined {
    let c: BodyFilterChain | undefined;
    try {
      for (const mw of chain) {
        if (!mw.onResponseBody) continue;
        c ??= new BodyFilterChain(sink);
        const f = mw.onResponseBody(ctx, res, c.link(c.filters.length));
        if (f !== undefined) c.filters.push(f);
      }
    } catch (err) {
      c?.destroy();
      throw err;
    }
    if (c !== undefined && c.filters.length === 0) {
      c.live = false;
      return undefined;
    }
    return c;
  }

  /** Every filter passes its bytes on unchanged: an upstream Content-Length still holds. */
  get preservesLength(): boolean {
    return this.filters.every((f) => f.preservesLength === true);
  }

  /** Upstream payload into the innermost filter. False: pause the upstream until sink.resume(). */
  write(chunk: Buffer): boolean {
    return this.filters[this.filters.length - 1]!.write(chunk);
  }

  /** The upstream body is complete (or there was none: a filter may answer with its own bytes). */
  end(): void {
    this.filters[this.filters.length - 1]!.end();
  }

  /** The client stream drained: the outermost filter may push again. */
  drained(): void {
    if (this.live) this.filters[0]!.drained();
  }

  /** The exchange was aborted: every filter releases what it holds. */
  destroy(): void {
    this.live = false;
    for (const f of this.filters) {
      try { f.destroy(); } catch { /* the exchange is over either way */ }
    }
  }

  /** The link of filters[j]: push/end lead out (filters[j-1] or the sink), ready leads in (filters[j+1] or the upstream). */
  private link(j: number): ResponseBodyLink {
    const filters = this.filters;
    return {
      push: (chunk) => {
        if (!this.live) return true;
        return j === 0 ? this.sink.push(chunk) : filters[j - 1]!.write(chunk);
      },
      end: () => {
        if (!this.live) return;
        if (j > 0) return filters[j - 1]!.end();
        this.live = false;
        this.sink.end();
      },
      fail: (err) => {
        if (!this.live) return;
        this.sink.fail(err);
      },
      ready: () => {
        if (!this.live) return;
        if (j < filters.length - 1) filters[j + 1]!.drained();
        else this.sink.resume();
      },
    };
  }
}
