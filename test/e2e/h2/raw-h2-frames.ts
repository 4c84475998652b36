/**
 * Raw HTTP/2 frames (RFC 9113 4.1) for abuse tests that a well-behaved
 * client library will not send: floods of PING, SETTINGS and RST_STREAM,
 * frames with lying lengths, on the wrong stream or badly padded, and header
 * floods. Small header blocks use only HPACK static-table entries (RFC 7541
 * Appendix A) and literals without indexing, so no encoder state is needed;
 * large ones come from hpack.js (hpackBlock).
 */
import { createRequire } from 'node:module';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A GET request's header block: :method GET, :scheme http, :path and :authority as literals (nghttp2 wants an authority). */
export function getHeaderBlock(path: string, authority = 'localhost'): Buffer {
  const p = Buffer.from(path, 'latin1');
  const a = Buffer.from(authority, 'latin1');
  if (p.length > 126 || a.length > 126) throw new Error('too long for a one-byte HPACK length');
  return Buffer.concat([Buffer.from([0x82, 0x86, 0x04, p.length]), p, Buffer.from([0x01, a.length]), a]);
}

/** HEADERS with END_STREAM | END_HEADERS. */
export function getRequest(streamId: number, path: string): Buffer {
  return frame(FRAME.HEADERS, 0x1 | 0x4, streamId, getHeaderBlock(path));
}

export function rstStream(streamId: number, code: number = ERROR.CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export function ping(n: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(n >>> 0, 4);
  return frame(FRAME.PING, 0, 0, p);
}

export function settings(entries: Array<[number, number]> = []): Buffer {
  const p = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => { p.writeUInt16BE(id, i * 6); p.writeUInt32BE(value, i * 6 + 2); });
  return frame(FRAME.SETTINGS, 0, 0, p);
}

export interface ReceivedFrame { type: number; flags: number; streamId: number; payload: Buffer }

/** Splits a byte stream into frames as it arrives. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  readonly frames: ReceivedFrame[] = [];

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
      this.buf = this.buf.subarray(9 + len);
    }
  }

  /** The error code of the first GOAWAY received, or undefined. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return g === undefined ? undefined : g.payload.readUInt32BE(4);
  }
}

// ---- invalid frames and header floods (h2-frame-abuse.test.ts) ----

export const FRAME_TYPE = { ...FRAME, PRIORITY: 2, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8 } as const;
/** RFC 9113 7. */
export const H2_ERROR = {
  ...ERROR, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, COMPRESSION_ERROR: 9,
} as const;

/** A frame whose length field says `declaredLength` whatever the payload is (a lying length). */
export function frameWithLength(type: number, flags: number, streamId: number, payload: Buffer, declaredLength: number): Buffer {
  const f = frame(type, flags, streamId, payload);
  f.writeUIntBE(declaredLength, 0, 3);
  return f;
}

interface HpackCompressor {
  write(headers: Array<{ name: string; value: string }>): void;
  read(): Buffer | null;
}
interface HpackModule { compressor: { create(options: { table: { size: number } }): HpackCompressor } }

/**
 * An HPACK header block from hpack.js (no type declarations ship with it, hence
 * createRequire and the local interface). A fresh compressor per block: the
 * peer's decoder starts from an empty dynamic table on each new connection, so
 * use one block per connection, or pass the same compressor for a sequence.
 */
export function hpackBlock(headers: Array<[string, string]>, compressor: HpackCompressor = newCompressor()): Buffer {
  compressor.write(headers.map(([name, value]) => ({ name, value })));
  const out: Buffer[] = [];
  for (let b = compressor.read(); b !== null; b = compressor.read()) out.push(b);
  return Buffer.concat(out);
}

export function newCompressor(): HpackCompressor {
  const hpack = createRequire(import.meta.url)('hpack.js') as HpackModule;
  return hpack.compressor.create({ table: { size: 4096 } });
}

/** A header block split into HEADERS + CONTINUATION frames of at most `chunk` bytes; END_HEADERS on the last. */
export function headersWithContinuations(streamId: number, block: Buffer, chunk: number, endStream = true): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0, first = true; first || off < block.length; first = false) {
    const piece = block.subarray(off, Math.min(block.length, off + chunk));
    off += piece.length;
    const last = off >= block.length;
    const flags = (last ? FLAG.END_HEADERS : 0) | (first && endStream ? FLAG.END_STREAM : 0);
    parts.push(frame(first ? FRAME_TYPE.HEADERS : FRAME_TYPE.CONTINUATION, flags, streamId, piece));
  }
  return Buffer.concat(parts);
}

/** All RST_STREAM frames received, as [streamId, code]. */
export function rstCodes(frames: readonly ReceivedFrame[]): Array<[number, number]> {
  return frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)]);
}

interface HpackDecompressor {
  write(block: Buffer): void;
  execute(): void;
  read(): { name: string; value: string } | null;
}

/** Decodes one header block (from a fresh decoder: the first block the peer sent on a connection). */
export function decodeFirstHeaderBlock(block: Buffer): Array<[string, string]> {
  const hpack = createRequire(import.meta.url)('hpack.js') as { decompressor: { create(o: { table: { size: number } }): HpackDecompressor } };
  const d = hpack.decompressor.create({ table: { size: 4096 } });
  d.write(block);
  d.execute();
  const out: Array<[string, string]> = [];
  for (let h = d.read(); h !== null; h = d.read()) out.push([h.name, h.value]);
  return out;
}
