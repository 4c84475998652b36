/**
 * One request on an HTTP/2 upstream, seen by the exchanges (http1-session,
 * h2-exchange) as the byte stream of an HTTP/1.1 upstream connection: the
 * HTTP/1.1 request they write is parsed and sent as HEADERS + DATA (+ request
 * trailers), and the HTTP/2 response is read back as an HTTP/1.1 response
 * (Content-Length kept, else chunked with the trailers in the trailer
 * section, which is how grpc-status reaches the client). So every phase of
 * those exchanges (middleware, deadlines, body filters, backpressure) works
 * unchanged for HTTP/2 upstreams.
 *
 * Flow control holds both ways: a full stream holds the writer's callbacks
 * (its write() returns false and 'drain' follows), a paused reader pauses the
 * stream (nghttp2 then stops sending WINDOW_UPDATE to the upstream).
 */
import { Duplex } from 'node:stream';
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { parseRequestHead, type RequestHead } from '../../src/protocol/http1/request-head.js';
import { ChunkedScanner } from '../../src/protocol/http1/chunked-scanner.js';
import type { HttpParseError } from '../../src/protocol/http1/parse-error.js';
import type { HeadLimits } from '../../src/protocol/http1/limits.js';
import { STATUS_REASONS } from '../../src/protocol/http1/serialize.js';

const { NGHTTP2_CANCEL } = http2.constants;

/**
 * The head was validated against the listener's limits by the session that
 * wrote it; here it is only re-read, so the bounds just stop a runaway buffer.
 */
const WRITTEN_HEAD_LIMITS: HeadLimits = { maxRequestLineBytes: 1 << 20, maxHeaderBytes: 4 << 20, maxHeaderCount: 10_000 };

/** Request fields that are hop-by-hop or forbidden in HTTP/2 (RFC 9113 8.2.2); Host becomes :authority. */
function droppedRequestField(lower: string): boolean {
  switch (lower) {
    case 'host': case 'connection': case 'keep-alive': case 'proxy-connection': case 'transfer-encoding': case 'upgrade': case 'te': case 'trailer':
      return true;
    default:
      return false;
  }
}

function isParseError(r: RequestHead | HttpParseError): r is HttpParseError {
  return (r as HttpParseError).code !== undefined;
}

const enum ReqBody { None, Length, Chunked }

export class H2StreamBridge extends Duplex {
  private headBuf: Buffer | undefined;
  private stream: ClientHttp2Stream | undefined;
  private method = 'GET';
  private reqBody = ReqBody.None;
  private reqRemaining = 0;
  private reqScanner: ChunkedScanner | undefined;
  private reqEnded = false;
  private reqTrailers: OutgoingHttpHeaders = {};
  private resChunked = false;
  private resTrailers: IncomingHttpHeaders | undefined;
  /** The exchange has the whole response: END_STREAM seen, or the bytes of its Content-Length, or a bodyless status. */
  private resComplete = false;
  /** Content-Length body bytes still expected (-1: chunked or unknown). */
  private resRemaining = -1;
  private streamPaused = false;
  private slotFreed = false;

  /**
   * `onStreamDone` runs once, when this request no longer holds one of the
   * session's concurrent-stream slots (the stream closed or never opened).
   */
  constructor(private readonly session: ClientHttp2Session, private readonly scheme: 'http' | 'https', private readonly defaultAuthority: string, private readonly onStreamDone: () => void) {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    if (this.stream === undefined) {
      const buf = this.headBuf === undefined ? chunk : Buffer.concat([this.headBuf, chunk]);
      const r = parseRequestHead(buf, 0, buf.length, WRITTEN_HEAD_LIMITS);
      if (r === null) {
        this.headBuf = buf;
        return cb();
      }
      this.headBuf = undefined;
      if (isParseError(r)) return cb(new Error(`request head for the HTTP/2 upstream is invalid: ${r.message}`));
      // An Upgrade (WebSocket) needs an HTTP/1.1 upstream: HTTP/2 has no 101.
      if (r.upgrade !== undefined) return cb(new Error('an Upgrade request cannot be sent to an HTTP/2 upstream'));
      try {
        this.openStream(r);
      } catch (err) {
        return cb(err as Error);
      }
      if (r.headBytes >= buf.length) return cb();
      return this.writeBody(buf.subarray(r.headBytes), cb);
    }
    this.writeBody(chunk, cb);
  }

  override _final(cb: (error?: Error | null) => void): void {
    cb();
  }

  override _read(): void {
    if (this.streamPaused && this.stream !== undefined) {
      this.streamPaused = false;
      this.stream.resume();
    }
  }

  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    const s = this.stream;
    if (s !== undefined && !s.closed && !s.destroyed) {
      // A stream whose request and response were both delivered closes by itself (its END_STREAM
      // may still be on the way): cancelling it would cost an RST_STREAM per request, which servers
      // count against their rapid-reset budget (CVE-2023-44487) and answer with GOAWAY.
      if (this.resComplete && this.reqEnded) s.resume();
      else s.close(NGHTTP2_CANCEL);
    }
    if (s === undefined) this.freeSlot();
    cb(error);
  }

  private freeSlot(): void {
    if (this.slotFreed) return;
    this.slotFreed = true;
    this.onStreamDone();
  }

  private openStream(head: RequestHead): void {
    this.method = head.method;
    const headers: OutgoingHttpHeaders = { ':method': head.method, ':scheme': this.scheme, ':path': head.target };
    let authority = this.defaultAuthority;
    const fields = head.headers;
    for (let i = 0; i < fields.length; i += 2) {
      const lower = fields[i]!.toLowerCase();
      const value = fields[i + 1]!;
      if (lower === 'host') { authority = value; continue; }
      if (droppedRequestField(lower)) continue;
      const prev = headers[lower];
      headers[lower] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
    }
    headers[':authority'] = authority;
    // We relay trailers (as an HTTP/1.1 trailer section, or HTTP/2 trailers); gRPC servers expect this field.
    headers.te = 'trailers';
    if (head.chunked) this.reqBody = ReqBody.Chunked;
    else if (head.contentLength > 0) {
      this.reqBody = ReqBody.Length;
      this.reqRemaining = head.contentLength;
    }
    const endStream = this.reqBody === ReqBody.None;
    const stream = this.session.request(headers, { endStream, waitForTrailers: this.reqBody === ReqBody.Chunked });
    this.stream = stream;
    this.reqEnded = endStream;
    if (this.reqBody === ReqBody.Chunked) {
      stream.once('wantTrailers', () => stream.sendTrailers(this.reqTrailers));
      this.reqScanner = new ChunkedScanner({ onData: (b, s, e) => { if (e > s) this.bodyWriteOk = stream.write(b.subarray(s, e)) && this.bodyWriteOk; } });
    }
    stream.on('response', this.onResponse);
    stream.on('data', this.onData);
    stream.on('trailers', (t: IncomingHttpHeaders) => { this.resTrailers = t; });
    stream.on('end', this.onEnd);
    stream.on('error', (err: Error) => { if (!this.resComplete) this.destroy(err); });
    stream.on('close', () => {
      this.freeSlot();
      if (!this.resComplete && !this.destroyed) this.destroy(new Error(`the HTTP/2 upstream closed the stream (code ${stream.rstCode ?? 0})`));
    });
  }

  /** Set by the scanner's onData during one writeBody call. */
  private bodyWriteOk = true;

  private writeBody(buf: Buffer, cb: (error?: Error | null) => void): void {
    const stream = this.stream!;
    if (this.reqEnded) return cb(); // bytes past the request's end: never sent
    this.bodyWriteOk = true;
    if (this.reqBody === ReqBody.Length) {
      const n = Math.min(buf.length, this.reqRemaining);
      this.reqRemaining -= n;
      this.bodyWriteOk = stream.write(n === buf.length ? buf : buf.subarray(0, n));
      if (this.reqRemaining === 0) {
        this.reqEnded = true;
        stream.end();
      }
    } else {
      const scanner = this.reqScanner!;
      scanner.scan(buf, 0, buf.length);
      if (scanner.error) return cb(new Error(`request body for the HTTP/2 upstream is invalid: ${scanner.error.message}`));
      if (scanner.done) {
        this.reqEnded = true;
        for (let i = 0; i < scanner.trailers.length; i += 2) {
          const lower = scanner.trailers[i]!.toLowerCase();
          if (droppedRequestField(lower) || lower === 'content-length') continue;
          this.reqTrailers[lower] = scanner.trailers[i + 1]!;
        }
        stream.end();
      }
    }
    if (this.bodyWriteOk || this.reqEnded) return cb();
    // The stream's window or buffer is full: the writer waits (its own 'drain' comes after cb).
    stream.once('drain', () => cb());
  }

  private readonly onResponse = (headers: IncomingHttpHeaders): void => {
    const status = Number(headers[':status']);
    let head = 'HTTP/1.1 ' + status + ' ' + (STATUS_REASONS[status] ?? 'Unknown') + '\r\n';
    let hasLength = false;
    for (const [name, value] of Object.entries(headers)) {
      if (name.charCodeAt(0) === 0x3a || value === undefined) continue;
      if (name === 'content-length') hasLength = true;
      if (Array.isArray(value)) for (const v of value) head += name + ': ' + v + '\r\n';
      else head += name + ': ' + value + '\r\n';
    }
    const bodyless = this.method === 'HEAD' || status === 204 || status === 304;
    if (bodyless) this.resComplete = true;
    else if (hasLength) {
      this.resRemaining = Number(headers['content-length']);
      if (this.resRemaining === 0) this.resComplete = true;
    }
    // No length: only chunked framing can end the body and carry trailers over HTTP/1.1.
    if (!hasLength && !bodyless) {
      this.resChunked = true;
      head += 'transfer-encoding: chunked\r\n';
    }
    this.pushOut(Buffer.from(head + '\r\n', 'latin1'));
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.resChunked) {
      if (chunk.length === 0) return;
      this.pushOut(Buffer.concat([Buffer.from(chunk.length.toString(16) + '\r\n', 'latin1'), chunk, Buffer.from('\r\n', 'latin1')]));
    } else {
      if (this.resRemaining > 0) {
        this.resRemaining -= chunk.length;
        if (this.resRemaining <= 0) this.resComplete = true;
      }
      this.pushOut(chunk);
    }
  };

  private readonly onEnd = (): void => {
    this.resComplete = true;
    if (!this.resChunked) return;
    let tail = '0\r\n';
    const t = this.resTrailers;
    if (t !== undefined) {
      for (const [name, value] of Object.entries(t)) {
        if (name.charCodeAt(0) === 0x3a || value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) tail += name + ': ' + v + '\r\n';
      }
    }
    this.pushOut(Buffer.from(tail + '\r\n', 'latin1'));
  };

  /** The response end is never a FIN: the exchange sees a complete framed response and releases the bridge. */
  private pushOut(buf: Buffer): void {
    if (this.destroyed) return;
    if (!this.push(buf) && this.stream !== undefined && !this.streamPaused) {
      this.streamPaused = true;
      this.stream.pause();
    }
  }
}
