/**
 * Reads the server name (SNI, RFC 6066 section 3) and ALPN list (RFC 7301)
 * from the start of a TLS connection without terminating it: bytes in, a
 * verdict out, no sockets. The ClientHello may arrive split across reads and
 * across several TLS records (RFC 8446 5.1 lets a handshake message span
 * records); the caller keeps every byte and forwards them unchanged.
 *
 * Call it with everything received so far: it answers 'need-more' until the
 * whole ClientHello is there, then 'hello' or 'malformed'. Before the message
 * is complete only the record headers are walked (O(records)), so a client
 * trickling bytes does not make each read re-parse the message.
 */

export type ClientHelloResult =
  | { readonly kind: 'need-more' }
  | {
      readonly kind: 'hello';
      /** Lowercase host_name from server_name; undefined when the client sent none. */
      readonly serverName: string | undefined;
      /** Protocols offered by ALPN, in the client's order; undefined without the extension. */
      readonly alpn: readonly string[] | undefined;
    }
  | { readonly kind: 'malformed'; readonly reason: string };

/**
 * Largest ClientHello handshake message waited for. Real ones are 0.5-2 KiB
 * (post-quantum key shares included); 64 KiB is Envoy's tls_inspector bound,
 * room for large PSK tickets while capping what a client can make us hold.
 */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;
/**
 * Records the ClientHello may be split into. Stacks send one record (a
 * 16 KiB record holds any real hello); DPI-evasion tools split into a few.
 * The bound keeps the header walk short and the bytes held at most
 * MAX_CLIENT_HELLO_BYTES + 5 per record.
 */
export const MAX_CLIENT_HELLO_RECORDS = 32;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** RFC 8446 5.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD_PAYLOAD = 16384;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const NAME_TYPE_HOST = 0;
/** RFC 1035 2.3.4: 255 octets; host_name carries no trailing dot. */
const MAX_HOST_NAME = 255;

const NEED_MORE: ClientHelloResult = { kind: 'need-more' };

function malformed(reason: string): ClientHelloResult {
  return { kind: 'malformed', reason };
}

export function readClientHello(buf: Uint8Array): ClientHelloResult {
  // Walk the record headers: check each, and find where the handshake message ends.
  let off = 0;
  let records = 0;
  let payloadBytes = 0;
  let messageBytes = -1; // 4 + handshake length, once the handshake header is in
  const headerBytes: number[] = [];
  while (messageBytes < 0 || payloadBytes < messageBytes) {
    if (off >= buf.length) return NEED_MORE;
    if (buf[off] !== CONTENT_HANDSHAKE) return malformed(records === 0 ? 'not a TLS handshake record' : 'record other than handshake inside the ClientHello');
    if (off + 1 < buf.length && buf[off + 1] !== 0x03) return malformed('unknown record version');
    if (off + 2 < buf.length && buf[off + 2]! > 0x04) return malformed('unknown record version');
    if (off + RECORD_HEADER > buf.length) return NEED_MORE;
    const length = (buf[off + 3]! << 8) | buf[off + 4]!;
    if (length === 0 || length > MAX_RECORD_PAYLOAD) return malformed('bad record length');
    if (++records > MAX_CLIENT_HELLO_RECORDS) return malformed('ClientHello split into too many records');
    const payloadStart = off + RECORD_HEADER;
    const available = Math.min(length, buf.length - payloadStart);
    // The handshake header (4 bytes) may itself straddle records.
    for (let i = 0; i < available && headerBytes.length < 4; i++) headerBytes.push(buf[payloadStart + i]!);
    if (messageBytes < 0 && headerBytes.length === 4) {
      if (headerBytes[0] !== HANDSHAKE_CLIENT_HELLO) return malformed('first handshake message is not a ClientHello');
      const hsLength = (headerBytes[1]! << 16) | (headerBytes[2]! << 8) | headerBytes[3]!;
      if (hsLength > MAX_CLIENT_HELLO_BYTES) return malformed('ClientHello larger than the limit');
      messageBytes = 4 + hsLength;
    }
    payloadBytes += available;
    if (available < length) {
      if (messageBytes >= 0 && payloadBytes >= messageBytes) break; // the rest of the record is not ours to wait for
      return NEED_MORE;
    }
    off = payloadStart + length;
  }
  return parseClientHello(assemble(buf, messageBytes));
}

/** Concatenates the first `messageBytes` payload bytes of the records (copies only when split). */
function assemble(buf: Uint8Array, messageBytes: number): Uint8Array {
  const firstLength = (buf[3]! << 8) | buf[4]!;
  if (firstLength >= messageBytes) return buf.subarray(RECORD_HEADER, RECORD_HEADER + messageBytes);
  const out = new Uint8Array(messageBytes);
  let off = 0;
  let at = 0;
  while (at < messageBytes) {
    const length = (buf[off + 3]! << 8) | buf[off + 4]!;
    const take = Math.min(length, messageBytes - at);
    out.set(buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + take), at);
    at += take;
    off += RECORD_HEADER + length;
  }
  return out;
}

/** A bounds-checked cursor over the handshake message; every read past `end` marks it broken. */
class Cursor {
  broken = false;
  constructor(private readonly b: Uint8Array, public pos: number, public end: number) {}
  u8(): number {
    if (this.pos + 1 > this.end) return this.fail();
    return this.b[this.pos++]!;
  }
  u16(): number {
    if (this.pos + 2 > this.end) return this.fail();
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  skip(n: number): void {
    if (this.pos + n > this.end) this.fail();
    else this.pos += n;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) {
      this.fail();
      return new Uint8Array(0);
    }
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  private fail(): number {
    this.broken = true;
    this.pos = this.end;
    return 0;
  }
}

/** RFC 8446 4.1.2 (and 5246 7.4.1.2: extensions may be absent in TLS 1.2 and older). */
function parseClientHello(m: Uint8Array): ClientHelloResult {
  const c = new Cursor(m, 4, m.length);
  c.skip(2 + 32); // legacy_version, random
  const sessionId = c.u8();
  if (sessionId > 32) return malformed('session id longer than 32 bytes');
  c.skip(sessionId);
  const suites = c.u16();
  if (suites < 2 || suites % 2 !== 0) return malformed('bad cipher suite list');
  c.skip(suites);
  const compression = c.u8();
  if (compression < 1) return malformed('empty compression method list');
  c.skip(compression);
  if (c.broken) return malformed('ClientHello truncated');
  if (c.pos === c.end) return { kind: 'hello', serverName: undefined, alpn: undefined };
  const extLength = c.u16();
  if (c.broken || c.pos + extLength !== c.end) return malformed('extensions do not fill the ClientHello');
  let serverName: string | undefined;
  let alpn: string[] | undefined;
  const seen = new Set<number>();
  while (c.pos < c.end) {
    const type = c.u16();
    const length = c.u16();
    const body = c.bytes(length);
    if (c.broken) return malformed('extension overruns the ClientHello');
    if (seen.has(type)) return malformed('duplicate extension'); // RFC 8446 4.2
    seen.add(type);
    if (type === EXT_SERVER_NAME) {
      const r = parseServerName(body);
      if (typeof r !== 'string' && r !== undefined) return r;
      serverName = r;
    } else if (type === EXT_ALPN) {
      const r = parseAlpn(body);
      if (!Array.isArray(r)) return r as ClientHelloResult;
      alpn = r;
    }
  }
  return { kind: 'hello', serverName, alpn };
}

/** RFC 6066 3: ServerNameList; the first host_name entry wins, other name types are skipped. */
function parseServerName(body: Uint8Array): string | undefined | ClientHelloResult {
  const c = new Cursor(body, 0, body.length);
  const listLength = c.u16();
  if (c.broken || listLength === 0 || listLength !== body.length - 2) return malformed('bad server_name list');
  let name: string | undefined;
  while (c.pos < c.end) {
    const type = c.u8();
    const length = c.u16();
    const value = c.bytes(length);
    if (c.broken || length === 0) return malformed('bad server_name entry');
    if (type !== NAME_TYPE_HOST || name !== undefined) continue;
    if (length > MAX_HOST_NAME) return malformed('server name too long');
    let s = '';
    for (let i = 0; i < value.length; i++) {
      let ch = value[i]!;
      // Letters, digits, '-', '.', '_' (seen in the wild); anything else cannot be a DNS name.
      const ok = (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x2d || ch === 0x2e || ch === 0x5f || (ch >= 0x41 && ch <= 0x5a);
      if (!ok) return malformed('server name is not a DNS host name');
      if (ch >= 0x41 && ch <= 0x5a) ch |= 0x20;
      s += String.fromCharCode(ch);
    }
    name = s;
  }
  return name;
}

/** RFC 7301 3.1: ProtocolNameList of non-empty names. */
function parseAlpn(body: Uint8Array): string[] | ClientHelloResult {
  const c = new Cursor(body, 0, body.length);
  const listLength = c.u16();
  if (c.broken || listLength < 2 || listLength !== body.length - 2) return malformed('bad ALPN list');
  const names: string[] = [];
  while (c.pos < c.end) {
    const length = c.u8();
    const value = c.bytes(length);
    if (c.broken || length === 0) return malformed('bad ALPN protocol name');
    names.push(String.fromCharCode(...value));
  }
  return names;
}
