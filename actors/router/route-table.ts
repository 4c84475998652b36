/**
 * The route matcher behind the router actor: a table built once from config,
 * then asked `match(host, method, path)` once per request. Pure: no I/O, no
 * clock. `path` is expected to be normalized already (normalize-path.ts).
 *
 * A route matches a request when its host, path and methods all match.
 * Among the routes that match, the winner is chosen by these rules, in order:
 *
 * 1. Host: a route naming the exact host beats one naming a wildcard
 *    (`*.example.com`), which beats a route without host. Among wildcards the
 *    longest suffix wins (`*.api.example.com` over `*.example.com`). Hosts
 *    compare case-insensitively, without port and trailing dot; a wildcard
 *    needs at least one label in place of `*`, so `*.example.com` does not
 *    match `example.com`. A host-specific route wins even when a host-less
 *    route has a more specific path; if no route of a host matches, the next
 *    host class is tried (a host-less `/*` still catches what an exact host's
 *    routes miss).
 * 2. Path: compare the two patterns segment by segment from the left; at the
 *    first segment where they differ, literal beats `:param` beats `*`, and a
 *    pattern that ends exactly there beats a `*` that would match an empty
 *    remainder (`/static` over `/static/*` for the request `/static`). So for
 *    `/a/b/c`, `/a/b/*` beats `/a/:x/c` (decided at segment 2). When the
 *    preferred branch leads nowhere the walk backtracks, so `/a/:x/c` still
 *    matches `/a/b/c` next to `/a/b/d`.
 * 3. Method: a route listing the method beats a route without methods at the
 *    same host and path. A HEAD request falls back to the route listing GET
 *    (RFC 9110 9.3.2: HEAD is GET without content) before the method-less one.
 *    The method filters candidates, it does not pick the path: with
 *    `GET /a/:x` and `POST /a/b`, `GET /a/b` matches `/a/:x`.
 * 4. Config order: only for patterns that rules 1-3 cannot tell apart, which
 *    building rejects as duplicates ('router.duplicate-route'): same host,
 *    same path shape (param names do not count), same method.
 *
 * If some route matches host and path but none allows the method, the result
 * is method-not-allowed with the sorted union of their methods, plus HEAD
 * when GET is in it (RFC 9110 15.5.6 requires Allow on 405).
 *
 * Cost: one trie per host class, walked segment by segment; each trie node is
 * visited at most once per lookup, so the cost follows the path length and
 * the shape of the routes sharing its prefix, not the number of routes.
 */

import { normalizePath } from './normalize-path.js'

export interface RouteEntry<T> {
  host?: string | string[]
  path: string
  methods?: string[]
  value: T
}

export type RouteMatch<T> =
  | { kind: 'matched'; value: T; params: Record<string, string>; wildcard: string | undefined }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allow: string[] }

export type RouteTableErrorCode =
  | 'router.duplicate-route'
  | 'router.invalid-host'
  | 'router.invalid-path'
  | 'router.invalid-methods'

/** A config error found while building; it never reaches a client (500 if it ever did). */
export class RouteTableError extends Error {
  override readonly name = 'RouteTableError'
  readonly status = 500
  constructor(
    readonly code: RouteTableErrorCode,
    message: string,
    readonly context: Readonly<Record<string, string | number>>,
  ) {
    super(message)
  }
}

const SLASH = 0x2f
const NOT_FOUND: { kind: 'not-found' } = Object.freeze({ kind: 'not-found' })
/** Shared by every match without params, so those matches allocate no params object. */
const NO_PARAMS: Record<string, string> = Object.freeze(Object.create(null))

class Leaf<T> {
  constructor(
    readonly value: T,
    readonly index: number,
    readonly pattern: string,
    readonly paramNames: readonly string[],
  ) {}
}

/** The routes ending at one trie node: at most one per method plus one method-less. */
class Terminal<T> {
  byMethod: Map<string, Leaf<T>> | undefined = undefined
  anyMethod: Leaf<T> | undefined = undefined
}

class TrieNode<T> {
  literals: Map<string, TrieNode<T>> | undefined = undefined
  // Most nodes have one literal child (`/api/v1/...`): compare it in place
  // with startsWith instead of slicing the segment for a Map lookup.
  singleKey: string | undefined = undefined
  singleChild: TrieNode<T> | undefined = undefined
  param: TrieNode<T> | undefined = undefined
  wildcard: Terminal<T> | undefined = undefined
  terminal: Terminal<T> | undefined = undefined
}

type HostClass = { kind: 'exact'; key: string } | { kind: 'wildcard'; suffix: string } | { kind: 'any' }

export class RouteTable<T> {
  private readonly exact = new Map<string, TrieNode<T>>()
  /** Keyed by suffix with its leading dot: `*.example.com` -> `.example.com`. */
  private readonly wildcards = new Map<string, TrieNode<T>>()
  /** Suffix lengths present, so a lookup slices only candidate suffixes. */
  private readonly wildcardLengths = new Set<number>()
  private anyHost: TrieNode<T> | undefined = undefined
  // Scratch state of one lookup. match() is synchronous and not re-entrant,
  // so keeping it on the table saves an allocation per request.
  private captures: Int32Array
  private wildcardStart = -1
  private pathSeen = false
  private lastHost = ''
  private lastKey = ''

  constructor(entries: ReadonlyArray<RouteEntry<T>>) {
    let maxParams = 0
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]
      const paramNames = parsePattern(entry.path, i)
      maxParams = Math.max(maxParams, paramNames.length)
      const leaf = new Leaf(entry.value, i, entry.path, paramNames)
      const methods = normalizeMethods(entry.methods, i)
      const hosts = entry.host === undefined ? [undefined] : Array.isArray(entry.host) ? entry.host : [entry.host]
      if (hosts.length === 0) throw new RouteTableError('router.invalid-host', `route #${i}: host list is empty`, { index: i })
      const seen = new Set<string>()
      for (const rawHost of hosts) {
        const hostClass = rawHost === undefined ? ({ kind: 'any' } as const) : classifyHost(rawHost, i)
        const hostLabel = hostClass.kind === 'exact' ? hostClass.key : hostClass.kind === 'wildcard' ? '*' + hostClass.suffix : '*'
        if (seen.has(hostLabel)) continue
        seen.add(hostLabel)
        const root = this.rootFor(hostClass)
        this.insert(root, leaf, methods, hostLabel)
      }
    }
    this.captures = new Int32Array(maxParams * 2)
  }

  /**
   * Runs once per request, on the hot path. `host` is the Host header (or
   * :authority) as received; `path` the normalized path without query (a '?'
   * ends it anyway). Treat the returned params as read-only: matches without
   * params share one frozen object.
   */
  match(host: string | undefined, method: string, path: string): RouteMatch<T> {
    if (path.length === 0 || path.charCodeAt(0) !== SLASH) return NOT_FOUND
    let len = path.indexOf('?')
    if (len === -1) len = path.length
    this.pathSeen = false
    // Most traffic repeats the same Host: comparing with the previous one (a
    // memcmp) is cheaper than lowercasing and re-hashing it, and hands the Map
    // a key whose hash V8 has already cached.
    let key = ''
    if (host !== undefined) {
      if (host === this.lastHost) key = this.lastKey
      else {
        key = hostKey(host)
        this.lastHost = host
        this.lastKey = key
      }
    }
    const found = this.search(key, method, path, len, undefined)
    if (found !== undefined) return found
    if (!this.pathSeen) return NOT_FOUND
    const methods = new Set<string>()
    this.search(key, method, path, len, methods)
    if (methods.has('GET')) methods.add('HEAD')
    return { kind: 'method-not-allowed', allow: [...methods].sort() }
  }

  /**
   * Tries the host classes in precedence order. With `allow` set it instead
   * visits every route matching host and path, collecting their methods (the
   * 405 path, taken only after a failed lookup).
   */
  private search(key: string, method: string, path: string, len: number, allow: Set<string> | undefined): RouteMatch<T> | undefined {
    let found: RouteMatch<T> | undefined
    if (key.length > 0) {
      if (this.exact.size > 0) {
        const root = this.exact.get(key)
        if (root !== undefined && (found = this.searchRoot(root, method, path, len, allow)) !== undefined) return found
      }
      if (this.wildcardLengths.size > 0) {
        // Dots from the left give suffixes from the longest; starting at 1
        // keeps at least one non-empty label in place of the `*`.
        for (let dot = key.indexOf('.', 1); dot !== -1; dot = key.indexOf('.', dot + 1)) {
          if (!this.wildcardLengths.has(key.length - dot)) continue
          const root = this.wildcards.get(key.slice(dot))
          if (root !== undefined && (found = this.searchRoot(root, method, path, len, allow)) !== undefined) return found
        }
      }
    }
    if (this.anyHost !== undefined) return this.searchRoot(this.anyHost, method, path, len, allow)
    return undefined
  }

  private searchRoot(root: TrieNode<T>, method: string, path: string, len: number, allow: Set<string> | undefined): RouteMatch<T> | undefined {
    if (allow !== undefined) {
      collect(root, path, 1, len, allow)
      return undefined
    }
    const leaf = this.walk(root, method, path, 1, len, 0)
    if (leaf === undefined) return undefined
    const names = leaf.paramNames
    let params = NO_PARAMS
    if (names.length > 0) {
      params = {}
      const caps = this.captures
      for (let i = 0; i < names.length; i++) params[names[i]] = path.slice(caps[2 * i], caps[2 * i + 1])
    }
    const wildcard = this.wildcardStart < 0 ? undefined : path.slice(this.wildcardStart, len)
    return { kind: 'matched', value: leaf.value, params, wildcard }
  }

  /**
   * Depth-first over the trie: literal, then param, then wildcard, returning
   * the first route that also allows the method, which by construction is
   * the most specific one. `pos` is the start of the next segment; `pos > len`
   * means every segment is consumed. No segment array: segments are index
   * ranges found with indexOf, and param captures go to a preallocated array.
   */
  private walk(node: TrieNode<T>, method: string, path: string, pos: number, len: number, depth: number): Leaf<T> | undefined {
    let leaf: Leaf<T> | undefined
    if (pos > len) {
      if (node.terminal !== undefined && (leaf = this.pick(node.terminal, method)) !== undefined) {
        this.wildcardStart = -1
        return leaf
      }
      if (node.wildcard !== undefined && (leaf = this.pick(node.wildcard, method)) !== undefined) {
        this.wildcardStart = len
        return leaf
      }
      return undefined
    }
    let segEnd = path.indexOf('/', pos)
    if (segEnd === -1 || segEnd > len) segEnd = len
    const next = segEnd === len ? len + 1 : segEnd + 1
    const segLen = segEnd - pos
    const key = node.singleKey
    if (key !== undefined) {
      if (key.length === segLen && path.startsWith(key, pos)) {
        if ((leaf = this.walk(node.singleChild!, method, path, next, len, depth)) !== undefined) return leaf
      }
    } else if (node.literals !== undefined) {
      const child = node.literals.get(path.slice(pos, segEnd))
      if (child !== undefined && (leaf = this.walk(child, method, path, next, len, depth)) !== undefined) return leaf
    }
    if (node.param !== undefined && segLen > 0) {
      this.captures[2 * depth] = pos
      this.captures[2 * depth + 1] = segEnd
      if ((leaf = this.walk(node.param, method, path, next, len, depth + 1)) !== undefined) return leaf
    }
    if (node.wildcard !== undefined && (leaf = this.pick(node.wildcard, method)) !== undefined) {
      this.wildcardStart = pos
      return leaf
    }
    return undefined
  }

  private pick(terminal: Terminal<T>, method: string): Leaf<T> | undefined {
    const byMethod = terminal.byMethod
    if (byMethod !== undefined) {
      const leaf = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined)
      if (leaf !== undefined) return leaf
    }
    if (terminal.anyMethod === undefined) this.pathSeen = true
    return terminal.anyMethod
  }

  private rootFor(hostClass: HostClass): TrieNode<T> {
    if (hostClass.kind === 'any') return (this.anyHost ??= new TrieNode<T>())
    const map = hostClass.kind === 'exact' ? this.exact : this.wildcards
    const key = hostClass.kind === 'exact' ? hostClass.key : hostClass.suffix
    let root = map.get(key)
    if (root === undefined) {
      root = new TrieNode<T>()
      map.set(key, root)
      if (hostClass.kind === 'wildcard') this.wildcardLengths.add(key.length)
    }
    return root
  }

  private insert(root: TrieNode<T>, leaf: Leaf<T>, methods: string[] | undefined, hostLabel: string): void {
    let node = root
    const p = leaf.pattern
    let start = 1
    let terminal: Terminal<T> | undefined
    for (;;) {
      let end = p.indexOf('/', start)
      if (end === -1) end = p.length
      const seg = p.slice(start, end)
      if (seg === '*') {
        terminal = node.wildcard ??= new Terminal<T>()
        break
      }
      if (seg.charCodeAt(0) === 0x3a /* ':' */) {
        node = node.param ??= new TrieNode<T>()
      } else {
        node.literals ??= new Map()
        let child = node.literals.get(seg)
        if (child === undefined) {
          child = new TrieNode<T>()
          node.literals.set(seg, child)
        }
        const single = node.literals.size === 1
        node.singleKey = single ? seg : undefined
        node.singleChild = single ? child : undefined
        node = child
      }
      if (end === p.length) {
        terminal = node.terminal ??= new Terminal<T>()
        break
      }
      start = end + 1
    }
    if (methods === undefined) {
      if (terminal.anyMethod !== undefined) throw duplicate(terminal.anyMethod, leaf, hostLabel, '*')
      terminal.anyMethod = leaf
      return
    }
    terminal.byMethod ??= new Map()
    for (const m of methods) {
      const previous = terminal.byMethod.get(m)
      if (previous !== undefined) throw duplicate(previous, leaf, hostLabel, m)
      terminal.byMethod.set(m, leaf)
    }
  }
}

/** Visits every terminal matching the path (any method) and gathers the methods listed there. */
function collect<T>(node: TrieNode<T>, path: string, pos: number, len: number, allow: Set<string>): void {
  if (pos > len) {
    if (node.terminal?.byMethod !== undefined) for (const m of node.terminal.byMethod.keys()) allow.add(m)
  } else {
    let segEnd = path.indexOf('/', pos)
    if (segEnd === -1 || segEnd > len) segEnd = len
    const next = segEnd === len ? len + 1 : segEnd + 1
    const child = node.literals?.get(path.slice(pos, segEnd))
    if (child !== undefined) collect(child, path, next, len, allow)
    if (node.param !== undefined && segEnd > pos) collect(node.param, path, next, len, allow)
  }
  if (node.wildcard?.byMethod !== undefined) for (const m of node.wildcard.byMethod.keys()) allow.add(m)
}

function duplicate<T>(first: Leaf<T>, second: Leaf<T>, host: string, method: string): RouteTableError {
  return new RouteTableError(
    'router.duplicate-route',
    `route #${second.index} (${second.pattern}) duplicates route #${first.index} (${first.pattern}): host ${host}, method ${method}`,
    { firstIndex: first.index, secondIndex: second.index, host, path: second.pattern, method },
  )
}

/**
 * Lowercased host without port and trailing dot; '' when unusable (then only
 * host-less routes can match). Allocates only when it has to cut or lowercase.
 */
function hostKey(host: string): string {
  let end = host.length
  if (host.charCodeAt(0) === 0x5b /* '[' */) {
    end = host.indexOf(']') + 1 // IPv6 literal (RFC 3986 3.2.2): its colons are not a port
    if (end === 0) return ''
  } else {
    const colon = host.indexOf(':')
    if (colon !== -1) end = colon
  }
  if (end > 0 && host.charCodeAt(end - 1) === 0x2e /* '.' */) end-- // FQDN form `example.com.`
  let upper = false
  for (let i = 0; i < end; i++) {
    const c = host.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) {
      upper = true
      break
    }
  }
  const cut = end === host.length ? host : host.slice(0, end)
  return upper ? cut.toLowerCase() : cut
}

function classifyHost(raw: string, index: number): HostClass {
  const invalid = (why: string) => new RouteTableError('router.invalid-host', `route #${index}: host "${raw}" ${why}`, { index, host: raw })
  let h = raw.toLowerCase()
  if (h === '*') return { kind: 'any' }
  if (h.length === 0) throw invalid('is empty')
  if (/[\s/@?#]/.test(h)) throw invalid('contains a character not allowed in a host name')
  if (h.startsWith('[')) {
    if (!h.endsWith(']')) throw invalid('has an unclosed IPv6 bracket or a port (ports are not matched)')
    return { kind: 'exact', key: h }
  }
  const colons = h.split(':').length - 1
  if (colons === 1) throw invalid('has a port; ports are not matched, the incoming port is ignored')
  if (colons > 1) return { kind: 'exact', key: `[${h}]` } // bare IPv6, bracketed as it arrives in Host
  if (h.endsWith('.')) h = h.slice(0, -1)
  const wildcard = h.startsWith('*.')
  const name = wildcard ? h.slice(2) : h
  if (name.includes('*')) throw invalid("may hold '*' only as its whole first label (`*.example.com`)")
  if (name.split('.').some((label) => label.length === 0)) throw invalid('has an empty label')
  return wildcard ? { kind: 'wildcard', suffix: '.' + name } : { kind: 'exact', key: name }
}

function normalizeMethods(methods: string[] | undefined, index: number): string[] | undefined {
  if (methods === undefined) return undefined
  if (methods.length === 0) {
    throw new RouteTableError('router.invalid-methods', `route #${index}: methods is empty; omit it to allow every method`, { index })
  }
  const out = new Set<string>()
  for (const m of methods) {
    // RFC 9110 9.1: method names are tokens; config may spell them in lowercase.
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(m)) {
      throw new RouteTableError('router.invalid-methods', `route #${index}: "${m}" is not a method name`, { index, method: m })
    }
    out.add(m.toUpperCase())
  }
  return [...out]
}

/**
 * Checks a route pattern and returns its param names in order. Literal parts
 * must already be in the form normalizePath produces, or no request could
 * ever reach them.
 */
function parsePattern(pattern: string, index: number): string[] {
  const invalid = (why: string) => new RouteTableError('router.invalid-path', `route #${index}: path "${pattern}" ${why}`, { index, path: pattern })
  if (typeof pattern !== 'string' || pattern.charCodeAt(0) !== SLASH) throw invalid("must start with '/'")
  if (pattern.includes('?') || pattern.includes('#')) throw invalid('must not hold a query or fragment')
  const names: string[] = []
  const segments = pattern.slice(1).split('/')
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]
    if (seg === '*') {
      if (i !== segments.length - 1) throw invalid("may hold '*' only as its last segment")
    } else if (seg.startsWith(':')) {
      const name = seg.slice(1)
      if (!/^[A-Za-z0-9_]+$/.test(name) || name === '__proto__') throw invalid(`has an invalid param name "${name}"`)
      if (names.includes(name)) throw invalid(`repeats the param name "${name}"`)
      names.push(name)
    } else if (seg.includes('*')) {
      throw invalid("may hold '*' only as a whole last segment")
    } else if (seg.length === 0 && i !== segments.length - 1) {
      throw invalid('has an empty segment (requests have repeated slashes merged)')
    } else if (normalizePath('/' + seg) !== '/' + seg) {
      throw invalid(`has segment "${seg}" that no normalized request holds (dot segment, lowercase hex, encoded unreserved character, %2F or %00)`)
    }
  }
  return names
}
