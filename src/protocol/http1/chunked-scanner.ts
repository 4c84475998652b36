/**
 * Incremental walker of chunked transfer coding (RFC 9112 7.1). It never copies:
 * it only says how many bytes of each buffer belong to the message body (framing
 * included), so the proxy forwards them as they came, and optionally reports the
 * payload ranges to `onData`. Strict, because it decides where a message ends:
 * any framing two implementations could read differently is an error.
 *
 * Chunk extensions are accepted only in their exact grammar
 *   chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
 * and otherwise ignored; a size line (size + extensions) is capped at 16 KiB, the
 * bound Node adopted for CVE-2024-22019 (unbounded chunk extensions).
 */
import {
  FIELD_VALUE, HEX_VALUE, QDTEXT, TOKEN, latin1,
} from './char-classes.js';
import { httpParseError, type HttpParseError, type HttpParseErrorCode, type MessageSide } from './parse-error.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './limits.js';

// Byte values and tables as module-local consts (not imports): see char-classes.ts.
const TOKEN_ = TOKEN;
const HEX_VALUE_ = HEX_VALUE;
const QDTEXT_ = QDTEXT;
const FIELD_VALUE_ = FIELD_VALUE;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface ChunkedScannerOptions {
  /** Payload bytes only (no framing), as ranges of the buffer given to scan(); called synchronously. */
  onData?: (buf: Buffer, start: number, end: number) => void;
  /** Who sends the body: decides error statuses (responses are always 502). Default 'request'. */
  side?: MessageSide;
  /** maxHeaderBytes bounds the trailer section, maxHeaderCount its lines. Default DEFAULT_HEAD_LIMITS. */
  limits?: HeadLimits;
}

/** Size line (chunk-size + extensions, CRLF excluded): Node's 16 KiB extension bound, CVE-2024-22019. */
const MAX_SIZE_LINE_BYTES = 16 * 1024;
/** 16 hex digits reach 2^64; lengths must also stay exact doubles, so the value is capped at 2^53-1. */
const MAX_SIZE_DIGITS = 16;

// States. Size line:
const SIZE_START = 0;
const SIZE = 1;
const EXT_BEFORE_SEMI = 2; // BWS after the size or a value, a ';' must follow
const EXT_AFTER_SEMI = 3; // BWS after ';', a name must follow
const EXT_NAME = 4;
const EXT_BEFORE_EQ = 5; // BWS after a name: '=' or ';'
const EXT_AFTER_EQ = 6; // BWS after '=': token or quoted-string
const EXT_TOKEN = 7;
const EXT_QUOTED = 8;
const EXT_QUOTED_ESCAPE = 9;
const EXT_AFTER_QUOTE = 10;
const SIZE_LF = 11;
// Data:
const DATA = 12;
const DATA_CR = 13;
const DATA_LF = 14;
// Trailer section (RFC 9112 7.1.2), validated like header fields:
const TRAILER_LINE_START = 15;
const TRAILER_NAME = 16;
const TRAILER_OWS = 17;
const TRAILER_VALUE = 18;
const TRAILER_CR = 19;
const FINAL_LF = 20;
const DONE = 21;
const FAILED = 22;

export class ChunkedScanner {
  /** True once the last chunk, the trailer section and the final CRLF are consumed. */
  done = false;
  /** Set when the framing is invalid; the message (and the connection) cannot continue. */
  error: HttpParseError | null = null;
  /** Trailer fields as flat [name, value, ...] pairs, set when done (empty without trailers). */
  trailers: string[] = [];
  /** Payload bytes seen so far (framing excluded): for body-size limits and logs. */
  payloadBytes = 0;
  /** Body bytes consumed so far, framing included. */
  consumedBytes = 0;

  private state = SIZE_START;
  private remaining = 0; // chunk size while reading it, then data bytes left in the chunk
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private trailerText = '';
  private trailerOffsets: number[] = [];
  private nameStart = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private readonly onData: ((buf: Buffer, start: number, end: number) => void) | undefined;
  private readonly side: MessageSide;
  private readonly maxTrailerBytes: number;
  private readonly maxTrailerCount: number;

  constructor(options: ChunkedScannerOptions = {}) {
    this.onData = options.onData;
    this.side = options.side ?? 'request';
    const limits = options.limits ?? DEFAULT_HEAD_LIMITS;
    this.maxTrailerBytes = limits.maxHeaderBytes;
    this.maxTrailerCount = limits.maxHeaderCount;
  }

  /** Back to the start of a new chunked body (keeps options), so scanners can be pooled. */
  reset(): void {
    this.done = false;
    this.error = null;
    this.trailers = [];
    this.payloadBytes = 0;
    this.consumedBytes = 0;
    this.state = SIZE_START;
    this.remaining = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.trailerText = '';
    this.trailerOffsets = [];
  }

  /**
   * Walks buf[start, end). Returns how many bytes from `start` belong to the body; fewer
   * than offered when the body ends inside the range (done) or the framing is invalid
   * (error set; the count stops before the offending byte). 0 once done or failed.
   */
  scan(buf: Buffer, start: number, end: number): number {
    let p = start;
    let state = this.state;
    if (state === DONE || state === FAILED) return 0;
    // Start of the trailer bytes seen in this call, kept to build trailer strings once done.
    let segStart = state >= TRAILER_LINE_START ? start : -1;
    while (p < end) {
      if (state === DATA) {
        // The bulk of the body: skip it in one step, no per-byte work.
        const avail = end - p;
        const n = this.remaining < avail ? this.remaining : avail;
        if (this.onData !== undefined) this.onData(buf, p, p + n);
        p += n;
        this.payloadBytes += n;
        this.remaining -= n;
        if (this.remaining === 0) state = DATA_CR;
        continue;
      }
      const c = buf[p];
      if (state < SIZE_LF) {
        // Size line: per byte, but these lines are a few bytes per chunk.
        if (++this.lineBytes > MAX_SIZE_LINE_BYTES) return this.fail('http1.chunk-line-too-long', p, start);
        const next = this.sizeLineStep(state, c);
        if (next < 0) return this.fail(next === -2 ? 'http1.chunk-size-too-large' : sizeLineFault(state, c), p, start);
        state = next;
        p++;
        continue;
      }
      switch (state) {
        case SIZE_LF:
          if (c !== LF) return this.fail('http1.bare-cr', p, start);
          p++;
          this.lineBytes = 0;
          if (this.remaining === 0) {
            state = TRAILER_LINE_START;
            segStart = p;
          } else {
            state = DATA;
          }
          continue;
        case DATA_CR:
          if (c !== CR) return this.fail(c === LF ? 'http1.bare-lf' : 'http1.chunk-data-unterminated', p, start);
          state = DATA_LF;
          p++;
          continue;
        case DATA_LF:
          if (c !== LF) return this.fail('http1.bare-cr', p, start);
          state = SIZE_START;
          p++;
          continue;
        default: {
          if (++this.trailerBytes > this.maxTrailerBytes) return this.fail('http1.trailers-too-large', p, start);
          const next = this.trailerStep(state, c);
          if (next < 0) return this.fail(trailerFault(state, c, next), p, start);
          state = next;
          p++;
          if (state === DONE) {
            this.trailerText += latin1(buf, segStart, p);
            this.finishTrailers();
            this.state = DONE;
            this.done = true;
            this.consumedBytes += p - start;
            return p - start;
          }
        }
      }
    }
    if (segStart >= 0) this.trailerText += latin1(buf, segStart, p);
    this.state = state;
    this.consumedBytes += p - start;
    return p - start;
  }

  /** One size-line byte; returns the next state, -1 for a syntax fault, -2 for a size over the bound. */
  private sizeLineStep(state: number, c: number): number {
    switch (state) {
      case SIZE_START: {
        const v = HEX_VALUE_[c];
        if (v < 0) return -1;
        this.remaining = v;
        this.digits = 1;
        return SIZE;
      }
      case SIZE: {
        const v = HEX_VALUE_[c];
        if (v >= 0) {
          if (++this.digits > MAX_SIZE_DIGITS) return -2;
          this.remaining = this.remaining * 16 + v;
          return this.remaining > Number.MAX_SAFE_INTEGER ? -2 : SIZE;
        }
        if (c === CR) return SIZE_LF;
        if (c === SEMICOLON) return EXT_AFTER_SEMI;
        return c === SP || c === HTAB ? EXT_BEFORE_SEMI : -1;
      }
      case EXT_BEFORE_SEMI:
        if (c === SEMICOLON) return EXT_AFTER_SEMI;
        return c === SP || c === HTAB ? EXT_BEFORE_SEMI : -1;
      case EXT_AFTER_SEMI:
        if (TOKEN_[c] === 1) return EXT_NAME;
        return c === SP || c === HTAB ? EXT_AFTER_SEMI : -1;
      case EXT_NAME:
        if (TOKEN_[c] === 1) return EXT_NAME;
        return afterExtWord(c, true);
      case EXT_BEFORE_EQ:
        if (c === EQUALS) return EXT_AFTER_EQ;
        if (c === SEMICOLON) return EXT_AFTER_SEMI;
        return c === SP || c === HTAB ? EXT_BEFORE_EQ : -1;
      case EXT_AFTER_EQ:
        if (TOKEN_[c] === 1) return EXT_TOKEN;
        if (c === DQUOTE) return EXT_QUOTED;
        return c === SP || c === HTAB ? EXT_AFTER_EQ : -1;
      case EXT_TOKEN:
        if (TOKEN_[c] === 1) return EXT_TOKEN;
        return afterExtWord(c, false);
      case EXT_QUOTED:
        if (c === DQUOTE) return EXT_AFTER_QUOTE;
        if (c === BACKSLASH) return EXT_QUOTED_ESCAPE;
        return QDTEXT_[c] === 1 ? EXT_QUOTED : -1;
      case EXT_QUOTED_ESCAPE:
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        return FIELD_VALUE_[c] !== 0 ? EXT_QUOTED : -1;
      default: // EXT_AFTER_QUOTE
        return afterExtWord(c, false);
    }
  }

  /** One trailer-section byte (field-line syntax of RFC 9112 5); returns the next state or -1. */
  private trailerStep(state: number, c: number): number {
    const rel = this.trailerBytes - 1; // offset of c in the trailer section
    switch (state) {
      case TRAILER_LINE_START:
        if (c === CR) return FINAL_LF;
        if (TOKEN_[c] !== 1) return -1;
        if (this.trailerOffsets.length >= this.maxTrailerCount * 4) return -3;
        this.nameStart = rel;
        return TRAILER_NAME;
      case TRAILER_NAME:
        if (TOKEN_[c] === 1) return TRAILER_NAME;
        if (c !== COLON) return -1;
        this.trailerOffsets.push(this.nameStart, rel);
        this.valueStart = -1;
        return TRAILER_OWS;
      case TRAILER_OWS:
        if (c === SP || c === HTAB) return TRAILER_OWS;
        if (c === CR) {
          this.valueStart = this.valueEnd = rel;
          return TRAILER_CR;
        }
        if (FIELD_VALUE_[c] !== 1) return -1;
        this.valueStart = rel;
        this.valueEnd = rel + 1;
        return TRAILER_VALUE;
      case TRAILER_VALUE: {
        if (c === CR) return TRAILER_CR;
        const k = FIELD_VALUE_[c];
        if (k === 1) this.valueEnd = rel + 1;
        return k === 0 ? -1 : TRAILER_VALUE;
      }
      case TRAILER_CR:
        if (c !== LF) return -1;
        this.trailerOffsets.push(this.valueStart, this.valueEnd);
        return TRAILER_LINE_START;
      default: // FINAL_LF
        return c === LF ? DONE : -1;
    }
  }

  private finishTrailers(): void {
    const offsets = this.trailerOffsets;
    const text = this.trailerText;
    const out: string[] = [];
    for (let i = 0; i < offsets.length; i += 4) {
      out.push(text.slice(offsets[i], offsets[i + 1]), text.slice(offsets[i + 2], offsets[i + 3]));
    }
    this.trailers = out;
    this.trailerText = '';
  }

  private fail(code: HttpParseErrorCode, p: number, start: number): number {
    const consumed = p - start;
    this.consumedBytes += consumed;
    this.error = httpParseError(code, this.side, this.consumedBytes);
    this.state = FAILED;
    return consumed;
  }
}

/** After an extension name or value: BWS, ';' for the next extension, '=' (names only), or the CR ending the line. */
function afterExtWord(c: number, isName: boolean): number {
  if (c === CR) return SIZE_LF;
  if (c === SEMICOLON) return EXT_AFTER_SEMI;
  if (isName && c === EQUALS) return EXT_AFTER_EQ;
  if (c === SP || c === HTAB) return isName ? EXT_BEFORE_EQ : EXT_BEFORE_SEMI;
  return -1;
}

function sizeLineFault(state: number, c: number): HttpParseErrorCode {
  if (c === LF) return 'http1.bare-lf';
  return state <= SIZE ? 'http1.chunk-size-invalid' : 'http1.chunk-ext-invalid';
}

function trailerFault(state: number, c: number, verdict: number): HttpParseErrorCode {
  if (verdict === -3) return 'http1.too-many-headers';
  if (c === LF) return 'http1.bare-lf';
  switch (state) {
    case TRAILER_LINE_START:
      if (c === SP || c === HTAB) return 'http1.obs-fold';
      return c === COLON ? 'http1.empty-header-name' : 'http1.invalid-header-name';
    case TRAILER_NAME:
      if (c === SP || c === HTAB) return 'http1.space-before-colon';
      return c === CR ? 'http1.header-without-colon' : 'http1.invalid-header-name';
    case TRAILER_OWS:
    case TRAILER_VALUE:
      return 'http1.invalid-header-value';
    default: // TRAILER_CR, FINAL_LF
      return 'http1.bare-cr';
  }
}
