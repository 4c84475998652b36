/**
 * A client on a raw TCP socket, for bytes no well-behaved client would send,
 * and a response parser of its own (independent of the codec under test) that
 * splits pipelined responses and decodes Content-Length, chunked and
 * close-delimited bodies.
 */
import net from 'node:net';

export interface ParsedResponse {
  statusLine: string;
  status: number;
  /** Fields as received, names in their original case. */
  headers: Array<[string, string]>;
  /** First value of a field, case-insensitive. */
  get(name: string): string | undefined;
  /** All values of a field, case-insensitive. */
  all(name: string): string[];
  /** Decoded payload (chunk framing removed). */
  body: Buffer;
  framing: 'none' | 'length' | 'chunked' | 'close';
  /** The exact bytes of this response, head and body with framing. */
  raw: Buffer;
  /** 1xx responses that came before this one. */
  interim: ParsedResponse[];
  trailers: Array<[string, string]>;
}

/**
 * Parses complete responses from buf. `methods[i]` is the method of the i-th
 * request (HEAD responses have no body); `closed` says whether the peer has
 * closed (only then is a close-delimited body complete).
 */
export function parseResponses(buf: Buffer, methods: readonly string[], closed: boolean): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let off = 0;
  let interim: ParsedResponse[] = [];
  while (off < buf.length) {
    const headEnd = buf.indexOf('\r\n\r\n', off, 'latin1');
    if (headEnd < 0) break;
    const lines = buf.toString('latin1', off, headEnd).split('\r\n');
    const statusLine = lines[0]!;
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const status = Number(m[1]);
    const headers: Array<[string, string]> = lines.slice(1).map((l) => {
      const c = l.indexOf(':');
      return [l.slice(0, c), l.slice(c + 1).trim()];
    });
    const get = (n: string): string | undefined => headers.find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1];
    const all = (n: string): string[] => headers.filter(([k]) => k.toLowerCase() === n.toLowerCase()).map(([, v]) => v);
    const bodyStart = headEnd + 4;
    const method = methods[out.length] ?? 'GET';
    let framing: ParsedResponse['framing'];
    let body: Buffer;
    let end: number;
    const trailers: Array<[string, string]> = [];
    if (status < 200 || status === 204 || status === 304 || method === 'HEAD') {
      framing = 'none';
      body = Buffer.alloc(0);
      end = bodyStart;
    } else if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
      framing = 'chunked';
      const decoded = decodeChunked(buf, bodyStart, trailers);
      if (decoded === null) break;
      body = decoded.body;
      end = decoded.end;
    } else if (get('content-length') !== undefined) {
      framing = 'length';
      end = bodyStart + Number(get('content-length'));
      if (end > buf.length) break;
      body = buf.subarray(bodyStart, end);
    } else {
      framing = 'close';
      if (!closed) break;
      end = buf.length;
      body = buf.subarray(bodyStart, end);
    }
    const r: ParsedResponse = { statusLine, status, headers, get, all, body, framing, raw: buf.subarray(off, end), interim: [], trailers };
    off = end;
    if (status < 200) {
      interim.push(r);
      continue;
    }
    r.interim = interim;
    interim = [];
    out.push(r);
  }
  return out;
}

function decodeChunked(buf: Buffer, start: number, trailers: Array<[string, string]>): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let p = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', p, 'latin1');
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', p, lineEnd).split(';')[0]!, 16);
    p = lineEnd + 2;
    if (size === 0) break;
    if (p + size + 2 > buf.length) return null;
    parts.push(buf.subarray(p, p + size));
    p += size + 2;
  }
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', p, 'latin1');
    if (lineEnd < 0) return null;
    const line = buf.toString('latin1', p, lineEnd);
    p = lineEnd + 2;
    if (line === '') return { body: Buffer.concat(parts), end: p };
    const c = line.indexOf(':');
    trailers.push([line.slice(0, c), line.slice(c + 1).trim()]);
  }
}

export class RawClient {
  received: Buffer = Buffer.alloc(0);
  closed = false;
  /** performance.now() when the socket closed. */
  closedAt = 0;
  readonly whenClosed: Promise<void>;
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    this.whenClosed = new Promise<void>((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.closedAt = performance.now();
        this.wake();
        resolve();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Waits for `count` final responses to the requests made with `methods` (default all GET). */
  async responses(count: number, methods: readonly string[] = [], timeoutMs = 3000): Promise<ParsedResponse[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponses(this.received, methods, this.closed);
      if (parsed.length >= count) return parsed;
      if (this.closed) throw new Error(`connection closed after ${parsed.length}/${count} responses; received ${JSON.stringify(this.received.toString('latin1').slice(0, 2000))}`);
      if (!(await this.waitEvent(deadline))) throw new Error(`timed out after ${parsed.length}/${count} responses; received ${JSON.stringify(this.received.toString('latin1').slice(0, 2000))}`);
    }
  }

  /** Waits until `text` appears in what was received. */
  async waitFor(text: string, timeoutMs = 3000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.received.includes(text, 0, 'latin1')) {
      if (this.closed) throw new Error(`closed before ${JSON.stringify(text)}; received ${JSON.stringify(this.received.toString('latin1'))}`);
      if (!(await this.waitEvent(deadline))) throw new Error(`timed out waiting for ${JSON.stringify(text)}; received ${JSON.stringify(this.received.toString('latin1'))}`);
    }
  }

  /** Resolves true when the peer closed within timeoutMs, false otherwise. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closed) if (!(await this.waitEvent(deadline))) return false;
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitEvent(deadline: number): Promise<boolean> {
    const left = deadline - performance.now();
    if (left <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => { this.waiter = undefined; resolve(false); }, left);
      this.waiter = () => { clearTimeout(t); resolve(true); };
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

export interface Exchange {
  received: Buffer;
  responses: ParsedResponse[];
  /** Whether the proxy closed the connection within the timeout. */
  closed: boolean;
}

/** Sends bytes on a fresh connection and collects everything until the proxy closes it (or timeoutMs). */
export async function exchangeRaw(port: number, data: string | Buffer, methods: readonly string[] = [], timeoutMs = 3000): Promise<Exchange> {
  const c = await RawClient.connect(port);
  c.write(data);
  const closed = await c.waitClosed(timeoutMs);
  c.destroy();
  return { received: c.received, responses: parseResponses(c.received, methods, closed), closed };
}
