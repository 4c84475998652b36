import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { RouteTable, RouteTableError, type RouteEntry, type RouteMatch } from '../../../actors/router/route-table.js'

function table(entries: Array<RouteEntry<string>>): RouteTable<string> {
  return new RouteTable(entries)
}

/** The value of the matched route, or the result kind when nothing matched. */
function hit(t: RouteTable<string>, host: string | undefined, method: string, path: string): string {
  const r = t.match(host, method, path)
  return r.kind === 'matched' ? r.value : r.kind
}

function matched(r: RouteMatch<string>): { value: string; params: Record<string, string>; wildcard: string | undefined } {
  assert.equal(r.kind, 'matched')
  if (r.kind !== 'matched') throw new Error('unreachable')
  return { value: r.value, params: { ...r.params }, wildcard: r.wildcard }
}

function buildError(entries: Array<RouteEntry<string>>): RouteTableError {
  try {
    table(entries)
  } catch (err) {
    assert.ok(err instanceof RouteTableError)
    return err
  }
  assert.fail('expected the table build to throw')
}

describe('RouteTable paths', () => {
  test('matches an exact literal path and nothing longer or shorter', () => {
    const t = table([{ path: '/api/users', value: 'users' }])
    assert.equal(hit(t, undefined, 'GET', '/api/users'), 'users')
    assert.equal(hit(t, undefined, 'GET', '/api'), 'not-found')
    assert.equal(hit(t, undefined, 'GET', '/api/users/1'), 'not-found')
    assert.equal(hit(t, undefined, 'GET', '/api/users/'), 'not-found')
  })

  test('treats a trailing slash as its own literal', () => {
    const t = table([
      { path: '/docs', value: 'bare' },
      { path: '/docs/', value: 'slash' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/docs'), 'bare')
    assert.equal(hit(t, undefined, 'GET', '/docs/'), 'slash')
  })

  test('matches the root path only with the root route', () => {
    const t = table([
      { path: '/', value: 'root' },
      { path: '/a', value: 'a' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/'), 'root')
    assert.equal(hit(t, undefined, 'GET', '/b'), 'not-found')
  })

  test('captures params by name, one non-empty segment each', () => {
    const t = table([{ path: '/users/:id/posts/:postId', value: 'post' }])
    assert.deepEqual(matched(t.match(undefined, 'GET', '/users/42/posts/a%20b')), {
      value: 'post',
      params: { id: '42', postId: 'a%20b' },
      wildcard: undefined,
    })
    assert.equal(hit(t, undefined, 'GET', '/users//posts/1'), 'not-found')
    assert.equal(hit(t, undefined, 'GET', '/users/42/posts/'), 'not-found')
  })

  test('shares one frozen empty params object between param-less matches', () => {
    const t = table([{ path: '/a', value: 'a' }, { path: '/b', value: 'b' }])
    const a = t.match(undefined, 'GET', '/a')
    const b = t.match(undefined, 'GET', '/b')
    assert.ok(a.kind === 'matched' && b.kind === 'matched')
    assert.equal(a.params, b.params)
    assert.deepEqual(Object.keys(a.params), [])
    assert.ok(Object.isFrozen(a.params))
  })

  test('uses the param names of the matched route when routes share a trie node', () => {
    const t = table([
      { path: '/u/:id', methods: ['GET'], value: 'get' },
      { path: '/u/:userId', methods: ['DELETE'], value: 'delete' },
    ])
    assert.deepEqual(matched(t.match(undefined, 'GET', '/u/7')).params, { id: '7' })
    assert.deepEqual(matched(t.match(undefined, 'DELETE', '/u/7')).params, { userId: '7' })
  })

  test('trailing wildcard matches the prefix with and without slash and everything below', () => {
    const t = table([{ path: '/static/*', value: 'static' }])
    assert.equal(matched(t.match(undefined, 'GET', '/static/css/site.css')).wildcard, 'css/site.css')
    assert.equal(matched(t.match(undefined, 'GET', '/static/')).wildcard, '')
    assert.equal(matched(t.match(undefined, 'GET', '/static')).wildcard, '')
    assert.equal(hit(t, undefined, 'GET', '/staticx'), 'not-found')
    assert.equal(hit(t, undefined, 'GET', '/'), 'not-found')
  })

  test('root wildcard matches every path', () => {
    const t = table([{ path: '/*', value: 'all' }])
    assert.equal(matched(t.match(undefined, 'GET', '/')).wildcard, '')
    assert.equal(matched(t.match(undefined, 'GET', '/a/b/c/')).wildcard, 'a/b/c/')
  })

  test('captures params and wildcard together', () => {
    const t = table([{ path: '/repos/:owner/files/*', value: 'files' }])
    assert.deepEqual(matched(t.match(undefined, 'GET', '/repos/zp/files/src/a.ts')), {
      value: 'files',
      params: { owner: 'zp' },
      wildcard: 'src/a.ts',
    })
  })

  test('prefers literal over param over wildcard at the same segment', () => {
    const t = table([
      { path: '/u/*', value: 'wild' },
      { path: '/u/:id', value: 'param' },
      { path: '/u/me', value: 'literal' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/u/me'), 'literal')
    assert.equal(hit(t, undefined, 'GET', '/u/42'), 'param')
    assert.equal(hit(t, undefined, 'GET', '/u/42/x'), 'wild')
    assert.equal(hit(t, undefined, 'GET', '/u'), 'wild')
  })

  test('prefers a route ending at the path over a wildcard with empty remainder', () => {
    const t = table([
      { path: '/static/*', value: 'wild' },
      { path: '/static', value: 'exact' },
      { path: '/static/', value: 'slash' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/static'), 'exact')
    assert.equal(hit(t, undefined, 'GET', '/static/'), 'slash')
    assert.equal(hit(t, undefined, 'GET', '/static/x'), 'wild')
  })

  test('backtracks from a literal branch that dead-ends to the param branch', () => {
    const t = table([
      { path: '/a/:x/c', value: 'param' },
      { path: '/a/b/d', value: 'literal' },
    ])
    assert.deepEqual(matched(t.match(undefined, 'GET', '/a/b/c')), { value: 'param', params: { x: 'b' }, wildcard: undefined })
    assert.equal(hit(t, undefined, 'GET', '/a/b/d'), 'literal')
  })

  test('backtracks to an earlier wildcard when deeper branches dead-end', () => {
    const t = table([
      { path: '/a/*', value: 'wild' },
      { path: '/a/:x/c', value: 'param' },
      { path: '/a/b/d', value: 'literal' },
    ])
    assert.equal(matched(t.match(undefined, 'GET', '/a/b/e')).wildcard, 'b/e')
    assert.equal(hit(t, undefined, 'GET', '/a/b/c'), 'param')
  })

  test('decides specificity at the first differing segment', () => {
    const t = table([
      { path: '/a/:x/c', value: 'param-then-literal' },
      { path: '/a/b/*', value: 'literal-then-wild' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/a/b/c'), 'literal-then-wild')
  })

  test('restores param captures after backtracking out of a deeper param', () => {
    const t = table([
      { path: '/:a/:b/x', value: 'deep' },
      { path: '/:a/*', value: 'shallow' },
    ])
    assert.deepEqual(matched(t.match(undefined, 'GET', '/p/q/y')), { value: 'shallow', params: { a: 'p' }, wildcard: 'q/y' })
    assert.deepEqual(matched(t.match(undefined, 'GET', '/p/q/x')), { value: 'deep', params: { a: 'p', b: 'q' }, wildcard: undefined })
  })

  test("treats '?' in the path as its end", () => {
    const t = table([
      { path: '/search', value: 'search' },
      { path: '/f/*', value: 'files' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/search?q=/a/b'), 'search')
    assert.equal(matched(t.match(undefined, 'GET', '/f/a/b?x=/y')).wildcard, 'a/b')
  })

  test("answers not-found for a path that does not start with '/'", () => {
    const t = table([{ path: '/*', value: 'all' }])
    assert.equal(hit(t, undefined, 'OPTIONS', '*'), 'not-found')
    assert.equal(hit(t, undefined, 'GET', ''), 'not-found')
  })

  test('matches literal segments case-sensitively', () => {
    const t = table([{ path: '/API', value: 'upper' }])
    assert.equal(hit(t, undefined, 'GET', '/api'), 'not-found')
    assert.equal(hit(t, undefined, 'GET', '/API'), 'upper')
  })

  test('looks up among many literal siblings through the map', () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({ path: `/r${i}/:id`, value: `r${i}` }))
    const t = table(entries)
    assert.deepEqual(matched(t.match(undefined, 'GET', '/r37/x')), { value: 'r37', params: { id: 'x' }, wildcard: undefined })
    assert.equal(hit(t, undefined, 'GET', '/r50/x'), 'not-found')
  })
})

describe('RouteTable hosts', () => {
  const t = table([
    { host: 'example.com', path: '/*', value: 'exact' },
    { host: '*.example.com', path: '/*', value: 'wild' },
    { host: '*.api.example.com', path: '/*', value: 'wild-api' },
    { path: '/*', value: 'any' },
  ])

  test('matches an exact host case-insensitively', () => {
    assert.equal(hit(t, 'Example.COM', 'GET', '/'), 'exact')
  })

  test('strips the port and a trailing dot from the incoming host', () => {
    assert.equal(hit(t, 'example.com:8080', 'GET', '/'), 'exact')
    assert.equal(hit(t, 'example.com.', 'GET', '/'), 'exact')
    assert.equal(hit(t, 'EXAMPLE.com.:443', 'GET', '/'), 'exact')
  })

  test('wildcard needs at least one label and does not match the bare domain', () => {
    assert.equal(hit(t, 'www.example.com', 'GET', '/'), 'wild')
    assert.equal(hit(t, 'a.b.c.example.com', 'GET', '/'), 'wild')
    assert.equal(hit(t, '.example.com', 'GET', '/'), 'any')
    assert.equal(hit(t, 'badexample.com', 'GET', '/'), 'any')
  })

  test('longest wildcard suffix wins', () => {
    assert.equal(hit(t, 'v1.api.example.com', 'GET', '/'), 'wild-api')
    assert.equal(hit(t, 'api.example.com', 'GET', '/'), 'wild')
  })

  test('falls back to host-less routes for unknown, absent and unusable hosts', () => {
    assert.equal(hit(t, 'other.org', 'GET', '/'), 'any')
    assert.equal(hit(t, undefined, 'GET', '/'), 'any')
    assert.equal(hit(t, '', 'GET', '/'), 'any')
    assert.equal(hit(t, '[::1', 'GET', '/'), 'any')
  })

  test('matches IPv6 literals with and without port, configured bracketed or bare', () => {
    const v6 = table([
      { host: '[::1]', path: '/', value: 'loopback' },
      { host: '2001:DB8::1', path: '/', value: 'doc' },
    ])
    assert.equal(hit(v6, '[::1]:8080', 'GET', '/'), 'loopback')
    assert.equal(hit(v6, '[::1]', 'GET', '/'), 'loopback')
    assert.equal(hit(v6, '[2001:db8::1]:443', 'GET', '/'), 'doc')
    assert.equal(hit(v6, '[2001:db8::2]', 'GET', '/'), 'not-found')
  })

  test('exact host beats a host-less route even with a less specific path', () => {
    const h = table([
      { path: '/api/users', value: 'any-literal' },
      { host: 'a.test', path: '/*', value: 'host-wild' },
    ])
    assert.equal(hit(h, 'a.test', 'GET', '/api/users'), 'host-wild')
    assert.equal(hit(h, 'b.test', 'GET', '/api/users'), 'any-literal')
  })

  test('falls through to the next host class when the host has no matching route', () => {
    const h = table([
      { host: 'a.test', path: '/admin', value: 'admin' },
      { host: '*.test', path: '/blog', value: 'blog' },
      { path: '/*', value: 'default' },
    ])
    assert.equal(hit(h, 'a.test', 'GET', '/admin'), 'admin')
    assert.equal(hit(h, 'a.test', 'GET', '/blog'), 'blog')
    assert.equal(hit(h, 'a.test', 'GET', '/other'), 'default')
  })

  test('resolves each host afresh when consecutive requests alternate hosts', () => {
    const h = table([
      { host: 'a.test', path: '/', value: 'a' },
      { host: 'b.test', path: '/', value: 'b' },
    ])
    const seen = ['a.test', 'B.TEST:81', 'a.test', 'A.test', 'c.test', 'b.test', undefined, 'a.test'].map((host) => hit(h, host, 'GET', '/'))
    assert.deepEqual(seen, ['a', 'b', 'a', 'a', 'not-found', 'b', 'not-found', 'a'])
  })

  test('accepts a list of hosts for one route', () => {
    const h = table([{ host: ['a.test', '*.b.test'], path: '/', value: 'multi' }])
    assert.equal(hit(h, 'a.test', 'GET', '/'), 'multi')
    assert.equal(hit(h, 'x.b.test', 'GET', '/'), 'multi')
    assert.equal(hit(h, 'c.test', 'GET', '/'), 'not-found')
  })

  test("treats host '*' as no host", () => {
    const h = table([{ host: '*', path: '/', value: 'star' }])
    assert.equal(hit(h, 'anything.test', 'GET', '/'), 'star')
  })

  test('rejects invalid configured hosts with router.invalid-host', () => {
    for (const host of ['', 'example.com:8080', 'a.*.com', '*example.com', 'a..com', '[::1', 'a b.com']) {
      const err = buildError([{ host, path: '/', value: 'x' }])
      assert.equal(err.code, 'router.invalid-host', host)
      assert.equal(err.context.host, host)
    }
    assert.equal(buildError([{ host: [], path: '/', value: 'x' }]).code, 'router.invalid-host')
  })
})

describe('RouteTable methods', () => {
  test('a route without methods matches every method', () => {
    const t = table([{ path: '/a', value: 'a' }])
    assert.equal(hit(t, undefined, 'PATCH', '/a'), 'a')
    assert.equal(hit(t, undefined, 'BREW', '/a'), 'a')
  })

  test('answers 405 with the sorted union of methods, HEAD added for GET', () => {
    const t = table([
      { path: '/items/:id', methods: ['PUT', 'GET'], value: 'item' },
      { path: '/items/*', methods: ['DELETE'], value: 'items' },
      { path: '/other', methods: ['POST'], value: 'other' },
    ])
    assert.deepEqual(t.match(undefined, 'POST', '/items/1'), { kind: 'method-not-allowed', allow: ['DELETE', 'GET', 'HEAD', 'PUT'] })
    assert.deepEqual(t.match(undefined, 'POST', '/items/1/x'), { kind: 'method-not-allowed', allow: ['DELETE'] })
    assert.equal(hit(t, undefined, 'POST', '/nope'), 'not-found')
  })

  test('collects Allow across the host classes matching the request', () => {
    const t = table([
      { host: 'a.test', path: '/x', methods: ['GET'], value: 'exact' },
      { host: '*.test', path: '/x', methods: ['PUT'], value: 'wild' },
      { path: '/x', methods: ['POST'], value: 'any' },
      { host: 'b.test', path: '/x', methods: ['PATCH'], value: 'other-host' },
    ])
    assert.deepEqual(t.match('a.test', 'DELETE', '/x'), { kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'POST', 'PUT'] })
  })

  test('lets a less specific path with the method win over a specific path without it', () => {
    const t = table([
      { path: '/a/:x', methods: ['GET'], value: 'param' },
      { path: '/a/b', methods: ['POST'], value: 'literal' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/a/b'), 'param')
    assert.equal(hit(t, undefined, 'POST', '/a/b'), 'literal')
  })

  test('lets a host-less route with the method win over a host route without it', () => {
    const t = table([
      { host: 'a.test', path: '/x', methods: ['GET'], value: 'host' },
      { path: '/*', value: 'fallback' },
    ])
    assert.equal(hit(t, 'a.test', 'POST', '/x'), 'fallback')
  })

  test('prefers a route listing the method over a method-less route at the same path', () => {
    const t = table([
      { path: '/x', value: 'any' },
      { path: '/x', methods: ['GET'], value: 'get' },
    ])
    assert.equal(hit(t, undefined, 'GET', '/x'), 'get')
    assert.equal(hit(t, undefined, 'POST', '/x'), 'any')
  })

  test('serves HEAD from the GET route unless a route lists HEAD', () => {
    const t = table([
      { path: '/x', methods: ['GET'], value: 'get' },
      { path: '/x', value: 'any' },
      { path: '/y', methods: ['GET'], value: 'y-get' },
      { path: '/y', methods: ['HEAD'], value: 'y-head' },
    ])
    assert.equal(hit(t, undefined, 'HEAD', '/x'), 'get')
    assert.equal(hit(t, undefined, 'HEAD', '/y'), 'y-head')
  })

  test('uppercases configured methods and compares incoming methods case-sensitively', () => {
    const t = table([{ path: '/x', methods: ['get'], value: 'get' }])
    assert.equal(hit(t, undefined, 'GET', '/x'), 'get')
    assert.deepEqual(t.match(undefined, 'get', '/x'), { kind: 'method-not-allowed', allow: ['GET', 'HEAD'] })
  })

  test('rejects an empty or malformed method list with router.invalid-methods', () => {
    assert.equal(buildError([{ path: '/', methods: [], value: 'x' }]).code, 'router.invalid-methods')
    assert.equal(buildError([{ path: '/', methods: ['GE T'], value: 'x' }]).code, 'router.invalid-methods')
  })
})

describe('RouteTable build errors', () => {
  test('rejects a duplicate route naming both indexes', () => {
    const err = buildError([
      { path: '/a', value: 'zero' },
      { path: '/u/:id', methods: ['GET', 'POST'], value: 'one' },
      { path: '/u/:name', methods: ['post'], value: 'two' },
    ])
    assert.equal(err.code, 'router.duplicate-route')
    assert.deepEqual(err.context, { firstIndex: 1, secondIndex: 2, host: '*', path: '/u/:name', method: 'POST' })
    assert.match(err.message, /#2.*#1/)
  })

  test('rejects two method-less routes on the same host and path', () => {
    const err = buildError([
      { host: 'A.test', path: '/s/*', value: 'zero' },
      { host: 'a.test', path: '/s/*', value: 'one' },
    ])
    assert.deepEqual(err.context, { firstIndex: 0, secondIndex: 1, host: 'a.test', path: '/s/*', method: '*' })
  })

  test('accepts the same path and method on different hosts', () => {
    const t = table([
      { host: 'a.test', path: '/x', methods: ['GET'], value: 'a' },
      { host: '*.a.test', path: '/x', methods: ['GET'], value: 'wild-a' },
      { path: '/x', methods: ['GET'], value: 'any' },
    ])
    assert.equal(hit(t, 'a.test', 'GET', '/x'), 'a')
    assert.equal(hit(t, 'b.a.test', 'GET', '/x'), 'wild-a')
  })

  test('accepts a host repeated in one entry in different spellings', () => {
    const t = table([{ host: ['a.test', 'A.TEST.'], path: '/', value: 'a' }])
    assert.equal(hit(t, 'a.test', 'GET', '/'), 'a')
  })

  test('rejects malformed or non-normalized paths with router.invalid-path', () => {
    const bad = ['', 'api', '/a/*/b', '/a*', '/:', '/:a-b', '/:id/:id', '/a//b', '/a/./b', '/a/../b', '/%61', '/%2f', '/%2F', '/a%3a', '/a?x', '/:__proto__']
    for (const path of bad) {
      const err = buildError([{ path, value: 'x' }])
      assert.equal(err.code, 'router.invalid-path', path)
      assert.equal(err.context.path, path)
      assert.equal(err.context.index, 0)
    }
    const ok = table([{ path: '/a%3A/%20', value: 'escaped' }])
    assert.equal(hit(ok, undefined, 'GET', '/a%3A/%20'), 'escaped')
  })
})

/**
 * A brute-force reading of the precedence rules at the top of route-table.ts:
 * rank every matching route by its per-segment kinds (literal 0, param 1,
 * wildcard 2; a shorter key that is a prefix wins), then by method fit.
 */
function referenceMatch(routes: Array<RouteEntry<string>>, host: string | undefined, method: string, path: string): RouteMatch<string> {
  const segs = path.slice(1).split('/')
  let best: { hostRank: number; key: number[]; fit: number; route: RouteEntry<string>; params: Record<string, string>; wildcard: string | undefined } | undefined
  const allow = new Set<string>()
  let pathMatched = false
  for (const route of routes) {
    const hostRank = referenceHostRank(route.host as string | undefined, host)
    if (hostRank === undefined) continue
    const ps = route.path.slice(1).split('/')
    const key: number[] = []
    const params: Record<string, string> = {}
    let wildcard: string | undefined
    let ok = true
    for (let j = 0; j < ps.length && ok; j++) {
      if (ps[j] === '*') {
        ok = j <= segs.length
        key.push(2)
        wildcard = segs.slice(j).join('/')
      } else if (j >= segs.length) ok = false
      else if (ps[j].startsWith(':')) {
        ok = segs[j] !== ''
        params[ps[j].slice(1)] = segs[j]
        key.push(1)
      } else {
        ok = segs[j] === ps[j]
        key.push(0)
      }
    }
    if (!ok || (wildcard === undefined && ps.length !== segs.length)) continue
    pathMatched = true
    const listed = route.methods
    const fit = listed === undefined ? 2 : listed.includes(method) ? 0 : method === 'HEAD' && listed.includes('GET') ? 1 : -1
    if (fit < 0) {
      for (const m of listed!) allow.add(m)
      continue
    }
    const order = best === undefined ? -1 : hostRank - best.hostRank || compareKeys(key, best.key) || fit - best.fit
    if (order < 0) {
      best = { hostRank, key, fit, route, params, wildcard }
    }
  }
  if (best !== undefined) return { kind: 'matched', value: best.route.value, params: best.params, wildcard: best.wildcard }
  if (!pathMatched) return { kind: 'not-found' }
  if (allow.has('GET')) allow.add('HEAD')
  return { kind: 'method-not-allowed', allow: [...allow].sort() }
}

/** Lower is more specific: exact 0, wildcards by decreasing suffix length, no host 1000; undefined when the host does not match. */
function referenceHostRank(routeHost: string | undefined, host: string | undefined): number | undefined {
  if (routeHost === undefined) return 1000
  if (host === undefined) return undefined
  if (routeHost === host) return 0
  if (routeHost.startsWith('*.')) {
    const suffix = routeHost.slice(1)
    if (host.endsWith(suffix) && host.length > suffix.length) return 500 - suffix.length
  }
  return undefined
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

describe('RouteTable against a brute-force reference', () => {
  test('agrees with the documented precedence rules on random tables, hosts and paths', async () => {
    const fc = (await import('fast-check')).default
    const segment = fc.constantFrom('a', 'b', ':p')
    const route = fc.record({
      host: fc.constantFrom(undefined, 'a.b.test', '*.b.test', '*.test'),
      segs: fc.array(segment, { maxLength: 3 }),
      tail: fc.constantFrom('', '*', undefined),
      methods: fc.option(fc.subarray(['GET', 'POST', 'DELETE'], { minLength: 1 }), { nil: undefined }),
    })
    const request = fc.record({
      host: fc.constantFrom(undefined, 'a.b.test', 'x.b.test', 'b.test', 'c.org'),
      segs: fc.array(fc.constantFrom('a', 'b', 'c', ''), { minLength: 1, maxLength: 4 }),
      method: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT'),
    })
    fc.assert(
      fc.property(fc.array(route, { maxLength: 12 }), fc.array(request, { minLength: 1, maxLength: 8 }), (specs, requests) => {
        const entries: Array<RouteEntry<string>> = []
        const taken = new Set<string>()
        for (const spec of specs) {
          const segs = spec.segs.map((s, i) => (s === ':p' ? `:p${i}` : s))
          if (spec.tail !== undefined) segs.push(spec.tail)
          const path = '/' + segs.join('/')
          const shape = path.replace(/:p\d/g, ':')
          const keys = (spec.methods ?? ['*']).map((m) => `${spec.host} ${shape} ${m}`)
          if (keys.some((k) => taken.has(k))) continue
          for (const k of keys) taken.add(k)
          entries.push({ host: spec.host, path, methods: spec.methods, value: `#${entries.length}` })
        }
        const t = new RouteTable(entries)
        for (const req of requests) {
          const path = '/' + req.segs.join('/')
          const got = t.match(req.host, req.method, path)
          const normalized = got.kind === 'matched' ? { ...got, params: { ...got.params } } : got
          assert.deepEqual(normalized, referenceMatch(entries, req.host, req.method, path), `${req.method} ${req.host} ${path}`)
        }
      }),
      { numRuns: 400, seed: 20240611 },
    )
  })
})
