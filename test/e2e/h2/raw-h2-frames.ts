/**
 * Raw HTTP/2 frames (RFC 9113 4.1) for abuse tests that a well-behaved
 * client library will not send: floods of PING, SETTINGS and RST_STREAM.
 * Header blocks use only HPACK static-table entries (RFC 7541 Appendix A)
 * and literals without indexing, so no encoder state is needed.
 */
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
