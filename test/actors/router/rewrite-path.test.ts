import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { compileRewrite, RewriteError } from '../../../actors/router/rewrite-path.js'
import { RouteTable } from '../../../actors/router/route-table.js'

function compileError(template: string, source: string): RewriteError {
  try {
    compileRewrite(template, source)
  } catch (err) {
    assert.ok(err instanceof RewriteError)
    return err
  }
  assert.fail('expected compileRewrite to throw')
}

describe('compileRewrite', () => {
  test('fills a param from the match', () => {
    const rewrite = compileRewrite('/users/:id', '/api/users/:id')
    assert.equal(rewrite({ id: '42' }, undefined), '/users/42')
  })

  test('fills several params in template order, which may differ from the source', () => {
    const rewrite = compileRewrite('/:b/x/:a/', '/s/:a/:b')
    assert.equal(rewrite({ a: '1', b: '2' }, undefined), '/2/x/1/')
  })

  test('fills the wildcard remainder', () => {
    const rewrite = compileRewrite('/v2/*', '/api/*')
    assert.equal(rewrite({}, 'a/b.css'), '/v2/a/b.css')
    assert.equal(rewrite({}, ''), '/v2/')
  })

  test('fills a root wildcard template', () => {
    assert.equal(compileRewrite('/*', '/old/*')({}, 'x/y'), '/x/y')
  })

  test('returns a template without slots unchanged', () => {
    assert.equal(compileRewrite('/health', '/healthz')({}, undefined), '/health')
    assert.equal(compileRewrite('/', '/a/:id')({ id: '1' }, undefined), '/')
  })

  test('inserts values as matched, without decoding escapes', () => {
    const rewrite = compileRewrite('/files/:name', '/f/:name')
    assert.equal(rewrite({ name: 'a%2Fb%20c' }, undefined), '/files/a%2Fb%20c')
  })

  test('fills a rewrite from a real route match', () => {
    const t = new RouteTable([{ path: '/api/:ver/users/:id/*', value: 'u' }])
    const rewrite = compileRewrite('/:ver/u/:id/*', '/api/:ver/users/:id/*')
    const m = t.match('x.test', 'GET', '/api/v3/users/7/avatar/big.png')
    assert.ok(m.kind === 'matched')
    assert.equal(rewrite(m.params, m.wildcard), '/v3/u/7/avatar/big.png')
  })

  test('rejects a param the source pattern does not define', () => {
    const err = compileError('/users/:userId', '/api/users/:id')
    assert.equal(err.code, 'router.unknown-rewrite-param')
    assert.deepEqual(err.context, { template: '/users/:userId', sourcePattern: '/api/users/:id', param: 'userId' })
  })

  test('rejects a wildcard when the source pattern has none', () => {
    const err = compileError('/v2/*', '/api/:id')
    assert.equal(err.code, 'router.unknown-rewrite-param')
    assert.equal(err.context.param, '*')
  })

  test('rejects malformed templates with router.invalid-rewrite', () => {
    for (const template of ['users/:id', '/v2/*/x', '/v2/*.json', '/a?b=1', '/a#f', '']) {
      assert.equal(compileError(template, '/api/*').code, 'router.invalid-rewrite', template)
    }
  })

  test('throws router.rewrite-missing-param when called without a value the template needs', () => {
    const rewrite = compileRewrite('/u/:id/*', '/x/:id/*')
    assert.throws(() => rewrite({}, 'w'), (err: unknown) => err instanceof RewriteError && err.code === 'router.rewrite-missing-param')
    assert.throws(() => rewrite({ id: '1' }, undefined), (err: unknown) => err instanceof RewriteError && err.context.param === '*')
  })
})
