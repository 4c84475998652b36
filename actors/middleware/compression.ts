/**
 * On-the-fly response compression (gzip, brotli) as a body filter. Decides
 * in onResponseHead from the client's Accept-Encoding and the response's
 * headers. A body whose Content-Length says it is small (<= 64 KiB) is
 * collected and compressed in one synchronous call at its end; any other
 * body streams through a zlib stream that flushes after every upstream
 * chunk, so a streamed response (server-sent events, a slow generator)
 * reaches the client as it is produced, not when zlib's window fills.
 */
import zlib from 'node:zlib';
import type { CompressionAlgorithm, CompressionMiddlewareConfig } from '../../src/config/types.js';
import { chooseEncoding } from '../../src/protocol/http-semantics/accept-encoding.js';
import type { Middleware, ResponseBodyFilter, ResponseBodyLink } from './middleware.js';
import { getHeader, removeHeader, setHeader, type RequestContext, type ResponseContext } from './request-context.js';

/**
 * zlib level 5: nginx's gzip_comp_level ranges 1-9 with 1 as default; 5 is
 * where the size curve flattens for text while costing about half of level 9.
 * Brotli quality 4: the usual on-the-fly setting (Cloudflare, nginx-brotli's
 * dynamic default is 6); 11 is for precompressed assets only (~100x slower).
 */
const GZIP_LEVEL = 5;
const BROTLI_QUALITY = 4;
/**
 * Up to this Content-Length the body is compressed in one synchronous call:
 * a zlib stream costs two thread-pool round trips per response (measured
 * ~150 us for a 4 KiB JSON body against ~20 us for gzipSync on this
 * machine), and 64 KiB compresses in well under a millisecond of loop time.
 */
const ONE_SHOT_MAX_BYTES = 64 * 1024;

export class CompressionMiddleware implements Middleware {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];
  /** The coding chosen per exchange, and whether its length allows the one-shot path. */
  private readonly chosen = new WeakMap<RequestContext, { algorithm: CompressionAlgorithm; oneShot: boolean }>();

  constructor(readonly name: string, private readonly config: CompressionMiddlewareConfig) {
    for (const t of config.types) {
      const lower = t.toLowerCase();
      if (lower.endsWith('/*')) this.prefixes.push(lower.slice(0, -1));
      else this.exact.add(lower);
    }
  }

  /**
   * When: the upstream head is in. Compresses only a compressible type
   * (config `types`), not already encoded, not marked no-transform, not a
   * 206 (its range refers to the identity bytes), and not known smaller
   * than minBytes. Adds Vary: Accept-Encoding to every compressible-type
   * response, compressed or not, so shared caches keep the variants apart.
   */
  onResponseHead(ctx: RequestContext, res: ResponseContext): void {
    // No body phase in this session (ctx.bodyFilters): the body would go out uncompressed.
    if (ctx.bodyFilters !== true || res.status < 200 || res.status === 204 || res.status === 206 || res.status === 304) return;
    const type = getHeader(res.headers, 'content-type');
    if (type === undefined || !this.compressible(type)) return;
    addVary(res.headers, 'Accept-Encoding');
    if (ctx.method === 'HEAD') return;
    const encoding = getHeader(res.headers, 'content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return;
    const cc = getHeader(res.headers, 'cache-control');
    if (cc !== undefined && /(^|[\s,])no-transform([\s,]|$)/i.test(cc)) return;
    const length = getHeader(res.headers, 'content-length');
    if (length !== undefined && Number(length) < this.config.minBytes) return;
    const algorithm = chooseEncoding(getHeader(ctx.headers, 'accept-encoding'), this.config.algorithms);
    if (algorithm === undefined) return;
    removeHeader(res.headers, 'content-length');
    setHeader(res.headers, 'Content-Encoding', algorithm);
    // A strong validator names exact bytes (RFC 9110 8.8.3): the compressed bytes differ, so
    // the tag becomes weak, as nginx does. Conditional GETs still match through weak comparison.
    const etag = getHeader(res.headers, 'etag');
    if (etag !== undefined && !etag.startsWith('W/')) setHeader(res.headers, 'ETag', 'W/' + etag);
    this.chosen.set(ctx, { algorithm, oneShot: length !== undefined && Number(length) <= ONE_SHOT_MAX_BYTES });
  }

  /** When: the head is final. Result: a zlib filter for the responses onResponseHead chose to compress. */
  onResponseBody(ctx: RequestContext, _res: ResponseContext, link: ResponseBodyLink): ResponseBodyFilter | undefined {
    const chosen = this.chosen.get(ctx);
    if (chosen === undefined) return undefined;
    this.chosen.delete(ctx);
    return chosen.oneShot ? new OneShotFilter(chosen.algorithm, link) : new ZlibFilter(chosen.algorithm, link);
  }

  onDone(ctx: RequestContext): void {
    this.chosen.delete(ctx);
  }

  private compressible(contentType: string): boolean {
    const semi = contentType.indexOf(';');
    const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    if (this.exact.has(type)) return true;
    for (const p of this.prefixes) if (type.startsWith(p)) return true;
    return false;
  }
}

/** Appends a name to Vary unless it (or *) is already there. */
function addVary(headers: string[], name: string): void {
  const current = getHeader(headers, 'vary');
  if (current === undefined) {
    headers.push('Vary', name);
    return;
  }
  const names = current.split(',').map((v) => v.trim().toLowerCase());
  if (names.includes('*') || names.includes(name.toLowerCase())) return;
  setHeader(headers, 'Vary', current + ', ' + name);
}

/** Collects a small body (its Content-Length is at most ONE_SHOT_MAX_BYTES) and compresses it at its end. */
class OneShotFilter implements ResponseBodyFilter {
  private chunks: Buffer[] = [];

  constructor(private readonly algorithm: CompressionAlgorithm, private readonly link: ResponseBodyLink) {}

  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  end(): void {
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    let out: Buffer;
    try {
      out = this.algorithm === 'br'
        ? zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
        : zlib.gzipSync(body, { level: GZIP_LEVEL });
    } catch (err) {
      return this.link.fail(err);
    }
    this.link.push(out);
    this.link.end();
  }

  drained(): void {}

  destroy(): void {
    this.chunks = [];
  }
}

/**
 * Streams payload through a zlib engine with backpressure both ways: zlib's
 * write() false pauses the upstream (link.ready on 'drain'); a full client
 * pauses zlib's output (resumed by drained()), which in turn fills zlib's
 * input and pauses the upstream. Memory stays at zlib's buffers whatever the
 * body size.
 */
class ZlibFilter implements ResponseBodyFilter {
  private readonly engine: zlib.Gzip | zlib.BrotliCompress;
  private failed = false;

  constructor(algorithm: CompressionAlgorithm, private readonly link: ResponseBodyLink) {
    this.engine = algorithm === 'br'
      ? zlib.createBrotliCompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } })
      : zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH, level: GZIP_LEVEL });
    this.engine.on('data', (out: Buffer) => {
      if (!this.link.push(out)) this.engine.pause();
    });
    this.engine.on('drain', () => this.link.ready());
    this.engine.on('end', () => { if (!this.failed) this.link.end(); });
    this.engine.on('error', (err) => {
      if (this.failed) return;
      this.failed = true;
      this.link.fail(err);
    });
  }

  write(chunk: Buffer): boolean {
    return this.engine.write(chunk);
  }

  end(): void {
    this.engine.end();
  }

  drained(): void {
    this.engine.resume();
  }

  destroy(): void {
    this.failed = true;
    this.engine.destroy();
  }
}
