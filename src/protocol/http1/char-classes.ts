/**
 * Byte classes of HTTP/1.1 syntax as 256-entry tables, so the per-byte loops
 * of the codec do one typed-array load per byte instead of a chain of range
 * comparisons or a regex. Built once at module load.
 *
 * Hot loops must not read these through the import binding: V8 reloads an
 * imported binding on every access (measured: field scan 495 ns -> 330 ns for a
 * 300-byte head when the table is first bound to a module-local const). Importing
 * modules therefore alias them (`const TOKEN_ = TOKEN;`) and define the byte
 * values they compare against (CR, LF, ...) as their own module-local consts.
 */

const ALPHA_DIGIT = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function tableOf(chars: string): Uint8Array {
  const table = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

/** tchar (RFC 9110 5.6.2): field names, methods, transfer codings, Connection options, chunk-ext names. */
export const TOKEN: Uint8Array = tableOf("!#$%&'*+-.^_`|~" + ALPHA_DIGIT);

/**
 * Field value bytes (RFC 9110 5.5): 1 = field-vchar (VCHAR or obs-text),
 * 2 = SP / HTAB (allowed inside, trimmed at the ends), 0 = forbidden
 * (NUL, other controls, DEL, and CR/LF which only end the line).
 */
export const FIELD_VALUE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let c = 0x21; c <= 0x7e; c++) table[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) table[c] = 1;
  table[0x20] = 2; // SP
  table[0x09] = 2; // HTAB
  return table;
})();

/** Any byte allowed inside a field value (FIELD_VALUE !== 0) as 1, so four lookups can be AND-ed. */
export const FIELD_CONTENT: Uint8Array = FIELD_VALUE.map((k) => (k === 0 ? 0 : 1));

/**
 * Request-target bytes: visible US-ASCII only (RFC 9112 3.2 is built from URI
 * characters; we take the wider VCHAR set as nginx does, but never spaces,
 * controls, DEL or non-ASCII).
 */
export const TARGET: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let c = 0x21; c <= 0x7e; c++) table[c] = 1;
  return table;
})();

/**
 * Host / authority bytes (RFC 3986 3.2.2 reg-name, IP-literal and port):
 * unreserved, pct-encoded, sub-delims, ':' and the IPv6 brackets. No '@'
 * (userinfo), no '/', '?', '#', spaces or controls.
 */
export const HOST: Uint8Array = tableOf("-._~!$&'()*+,;=%:[]" + ALPHA_DIGIT);

/** quoted-string text inside a chunk extension (RFC 9110 5.6.4 qdtext): HTAB, SP, VCHAR except '"' and '\', obs-text. */
export const QDTEXT: Uint8Array = (() => {
  const table = new Uint8Array(256);
  table[0x09] = 1; // HTAB
  table[0x20] = 1; // SP
  for (let c = 0x21; c <= 0x7e; c++) table[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) table[c] = 1;
  table[0x22] = 0; // DQUOTE
  table[0x5c] = 0; // backslash
  return table;
})();

/** HEXDIG value, or -1. */
export const HEX_VALUE: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) table[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[0x41 + i] = 10 + i;
    table[0x61 + i] = 10 + i;
  }
  return table;
})();

/**
 * True when buf[at, at + lower.length) equals `lower` ignoring ASCII case.
 * `lower` holds only lowercase letters, digits, '-', ':' and '/'. OR-ing 0x20 folds
 * 'A'-'Z' onto 'a'-'z'; the only other bytes it folds onto those characters are
 * control bytes (0x0d -> '-', 0x10-0x1a -> digits/':', 0x0f -> '/'), and callers
 * only pass ranges already checked to hold no control bytes (tokens, VCHAR targets,
 * field values).
 */
export function equalsLowerAscii(buf: Uint8Array, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[at + i] | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** One latin1 string for buf[start, end): a single native call, then substrings are cheap slices of it. */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1Slicer).latin1Slice(start, end);
}

/** Buffer#latin1Slice exists on every Node Buffer but is not in @types/node; it skips toString's encoding lookup. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
