import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { normalizePath } from '../../../actors/router/normalize-path.js'

describe('normalizePath', () => {
  test('returns an already normal path as the same string', () => {
    for (const p of ['/', '/api/users/42', '/a/b/', '/.well-known/acme', '/a/..b/.c', '/file.tar.gz', '/a?x=//./..']) {
      assert.equal(normalizePath(p), p, p)
    }
  })

  const table: Array<[string, string]> = [
    // repeated slashes merge (nginx merge_slashes)
    ['//', '/'],
    ['/a//b', '/a/b'],
    ['///a///b///', '/a/b/'],
    // dot segments (RFC 3986 5.2.4)
    ['/.', '/'],
    ['/./a', '/a'],
    ['/a/.', '/a/'],
    ['/a/./b', '/a/b'],
    ['/a/..', '/'],
    ['/a/../', '/'],
    ['/a/b/..', '/a/'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/c/./../../g', '/a/g'],
    ['/a/.//b', '/a/b'],
    ['/a/..//b', '/b'],
    // unreserved escapes decode, in either case
    ['/%61pi', '/api'],
    ['/%41%5a%30%39%2D%2e%5F%7e', '/AZ09-._~'],
    // decoding happens before dot removal: encoded dots are dot segments
    ['/a/%2E%2E/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/a/.%2E/b', '/b'],
    // other escapes stay, hex uppercased
    ['/a%20b', '/a%20b'],
    ['/a%3fb', '/a%3Fb'],
    ['/%e2%82%ac', '/%E2%82%AC'],
    ['/%25', '/%25'],
    ['/%2561', '/%2561'],
    ['/%3a%40', '/%3A%40'],
    // the query is carried over untouched
    ['/a/./b?x=%61&y=//', '/a/b?x=%61&y=//'],
    ['/a//?', '/a/?'],
  ]
  for (const [input, expected] of table) {
    test(`normalizes ${input} to ${expected}`, () => {
      assert.equal(normalizePath(input), expected)
    })
  }

  const rejected: Array<[string, string]> = [
    ['', 'empty'],
    ['a/b', 'no leading slash'],
    ['*', 'asterisk-form'],
    ['http://x/a', 'absolute-form'],
    ['/..', 'climbs above root'],
    ['/a/../..', 'climbs above root after one level'],
    ['/%2E%2E/a', 'encoded climb above root'],
    ['/a/%2F/b', 'encoded slash'],
    ['/a%2fb', 'encoded slash, lowercase'],
    ['/a%00', 'encoded NUL'],
    ['/%zz', 'non-hex escape'],
    ['/%g1', 'non-hex first digit'],
    ['/a%', 'truncated escape at end'],
    ['/a%4', 'one hex digit at end'],
    ['/a%4/b', 'one hex digit before a slash'],
    ['/a%4?x', 'one hex digit before the query'],
  ]
  for (const [input, why] of rejected) {
    test(`rejects ${JSON.stringify(input)} (${why})`, () => {
      assert.equal(normalizePath(input), null)
    })
  }

  test('is idempotent on its own output', () => {
    for (const [input] of table) {
      const once = normalizePath(input)
      assert.ok(once !== null)
      assert.equal(normalizePath(once), once)
    }
  })
})
