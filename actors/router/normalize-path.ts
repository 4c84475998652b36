/**
 * The path the router matches on. Requests that spell the same resource
 * differently (`/a/./b`, `/a//b`, `/%61/b`) must reach the same route, or a
 * rule guarding `/admin` is bypassed by `/%61dmin`. Steps, in the order
 * RFC 3986 6.2.2 prescribes (decode before removing dot segments, so `%2E%2E`
 * cannot survive as a `..` that the upstream would resolve after us):
 *   1. percent-decode unreserved characters only (ALPHA DIGIT - . _ ~,
 *      RFC 3986 2.3 says their encoded and plain forms are equivalent); keep
 *      every other escape, with its hex digits uppercased (RFC 3986 2.1);
 *   2. merge repeated slashes (nginx `merge_slashes on`, its default);
 *   3. remove `.` and `..` segments (RFC 3986 5.2.4).
 * Returns null (the caller answers 400) when:
 *   - the path is empty or does not start with '/' (origin-form, RFC 9112 3.2.1);
 *   - an escape is malformed (`%zz`, `%4`, a trailing `%`);
 *   - `..` would climb above the root (RFC 3986 clamps silently; a request
 *     that tries it is hostile or broken, and nginx also answers 400);
 *   - it contains `%2F` (encoded '/') or `%00` (encoded NUL): the proxy sees
 *     one segment where an upstream that decodes sees two, or a truncated
 *     string; nginx rejects `%00` outright and many deployments reject `%2F`
 *     (Apache's AllowEncodedSlashes defaults to Off, answering 404).
 * A query string is not part of the path: if one is present it is appended
 * unchanged after the normalized path.
 */

const SLASH = 0x2f
const DOT = 0x2e
const PERCENT = 0x25
const QUESTION = 0x3f

/**
 * Hot path: most request paths are already normal, so one scan without
 * allocation decides that and hands the input back.
 */
export function normalizePath(rawPath: string): string | null {
  if (rawPath.length === 0 || rawPath.charCodeAt(0) !== SLASH) return null
  if (isAlreadyNormal(rawPath)) return rawPath
  return normalizeSlow(rawPath)
}

/**
 * True when the path holds no '%', no '//' and no `.`/`..` segment (before any
 * '?'). `/.well-known/` stays on the fast path: only whole dot segments count.
 */
function isAlreadyNormal(p: string): boolean {
  const n = p.length
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i)
    if (c === QUESTION) return true
    if (c === PERCENT) return false
    if (c !== SLASH) continue
    const c1 = i + 1 < n ? p.charCodeAt(i + 1) : -1
    if (c1 === SLASH) return false
    if (c1 !== DOT) continue
    const c2 = i + 2 < n ? p.charCodeAt(i + 2) : -1
    if (c2 === -1 || c2 === SLASH || c2 === QUESTION) return false
    if (c2 !== DOT) continue
    const c3 = i + 3 < n ? p.charCodeAt(i + 3) : -1
    if (c3 === -1 || c3 === SLASH || c3 === QUESTION) return false
  }
  return true
}

function normalizeSlow(p: string): string | null {
  const q = p.indexOf('?')
  const end = q === -1 ? p.length : q
  const out: string[] = []
  // Whether the result ends in '/': set by an empty, '.' or '..' last segment.
  let trailingSlash = false
  let start = 1
  while (start <= end) {
    let segEnd = p.indexOf('/', start)
    if (segEnd === -1 || segEnd > end) segEnd = end
    const last = segEnd === end
    const seg = decodeSegment(p, start, segEnd)
    if (seg === null) return null
    if (seg === '..') {
      if (out.length === 0) return null
      out.pop()
      trailingSlash = last
    } else if (seg === '' || seg === '.') {
      trailingSlash = last
    } else {
      out.push(seg)
      trailingSlash = false
    }
    start = segEnd + 1
  }
  let result = '/' + out.join('/')
  if (trailingSlash && out.length > 0) result += '/'
  return q === -1 ? result : result + p.slice(q)
}

/** One segment with unreserved escapes decoded, others uppercased; null if rejected. */
function decodeSegment(p: string, start: number, end: number): string | null {
  let pct = p.indexOf('%', start)
  if (pct === -1 || pct >= end) return p.slice(start, end)
  let seg = ''
  let from = start
  while (pct !== -1 && pct < end) {
    if (pct + 2 >= end) return null // truncated: `%`, `%4` at the segment's end
    const hi = hexValue(p.charCodeAt(pct + 1))
    const lo = hexValue(p.charCodeAt(pct + 2))
    if (hi < 0 || lo < 0) return null
    const byte = hi * 16 + lo
    if (byte === SLASH || byte === 0) return null
    seg += p.slice(from, pct)
    seg += isUnreserved(byte) ? String.fromCharCode(byte) : '%' + HEX[hi] + HEX[lo]
    from = pct + 3
    pct = p.indexOf('%', from)
  }
  return seg + p.slice(from, end)
}

const HEX = '0123456789ABCDEF'

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** RFC 3986 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    (b >= 0x30 && b <= 0x39) ||
    b === 0x2d ||
    b === DOT ||
    b === 0x5f ||
    b === 0x7e
  )
}
