/**
 * Path rewriting for a matched route: a template such as `/users/:id` or
 * `/v2/*` is filled from the match of a source pattern such as
 * `/api/users/:id` or `/api/*`. Compiled once at config load; the returned
 * function runs per request.
 *
 * Values are inserted exactly as matched, still percent-encoded as they
 * arrived. Nothing is decoded, so a param (one segment, and normalizePath has
 * rejected `%2F`) can never introduce a '/' or a dot segment into the
 * upstream path.
 *
 * A `*` remainder of '' (request `/api` or `/api/` for `/api/*`) makes
 * `/v2/*` produce `/v2/`.
 */

export type RewriteErrorCode = 'router.unknown-rewrite-param' | 'router.invalid-rewrite' | 'router.rewrite-missing-param'

/** Build-time config errors, and the invariant check when a caller passes params not from the source pattern. */
export class RewriteError extends Error {
  override readonly name = 'RewriteError'
  readonly status = 500
  constructor(
    readonly code: RewriteErrorCode,
    message: string,
    readonly context: Readonly<Record<string, string>>,
  ) {
    super(message)
  }
}

export type RewriteFn = (params: Record<string, string>, wildcard: string | undefined) => string

/** Marks the `*` slot in the compiled slot list; not a valid param name. */
const WILDCARD = '*'

/**
 * Compiles `template` (whole-segment `:name` params, optional trailing `*`,
 * literal segments otherwise) against the route pattern it rewrites; throws
 * 'router.unknown-rewrite-param' for a `:name` or `*` the source lacks, and
 * 'router.invalid-rewrite' for a malformed template.
 */
export function compileRewrite(template: string, sourcePattern: string): RewriteFn {
  const context = { template, sourcePattern }
  if (typeof template !== 'string' || !template.startsWith('/')) {
    throw new RewriteError('router.invalid-rewrite', `rewrite "${template}" must start with '/'`, context)
  }
  if (template.includes('?') || template.includes('#')) {
    throw new RewriteError('router.invalid-rewrite', `rewrite "${template}" must not hold a query or fragment`, context)
  }
  const sourceSegments = sourcePattern.split('/')
  const sourceParams = new Set(sourceSegments.filter((s) => s.startsWith(':')).map((s) => s.slice(1)))
  const sourceHasWildcard = sourceSegments[sourceSegments.length - 1] === WILDCARD

  // The output is statics[0] + slot 0 + statics[1] + ... + statics[n].
  const statics: string[] = []
  const slots: string[] = []
  let pending = ''
  const segments = template.slice(1).split('/')
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]
    pending += '/'
    if (seg === WILDCARD) {
      if (i !== segments.length - 1) {
        throw new RewriteError('router.invalid-rewrite', `rewrite "${template}" may hold '*' only as its last segment`, context)
      }
      if (!sourceHasWildcard) {
        throw new RewriteError('router.unknown-rewrite-param', `rewrite "${template}" uses '*' but "${sourcePattern}" has no '*'`, { ...context, param: WILDCARD })
      }
    } else if (seg.startsWith(':')) {
      const name = seg.slice(1)
      if (!sourceParams.has(name)) {
        throw new RewriteError('router.unknown-rewrite-param', `rewrite "${template}" uses ":${name}" which "${sourcePattern}" does not define`, { ...context, param: name })
      }
    } else {
      if (seg.includes('*')) {
        throw new RewriteError('router.invalid-rewrite', `rewrite "${template}" may hold '*' only as a whole last segment`, context)
      }
      pending += seg
      continue
    }
    statics.push(pending)
    slots.push(seg === WILDCARD ? WILDCARD : seg.slice(1))
    pending = ''
  }
  statics.push(pending)

  if (slots.length === 0) {
    const constant = statics[0]
    return () => constant
  }
  return (params, wildcard) => {
    let out = statics[0]
    for (let i = 0; i < slots.length; i++) {
      const name = slots[i]
      const v = name === WILDCARD ? wildcard : params[name]
      if (v === undefined) {
        throw new RewriteError('router.rewrite-missing-param', `rewrite "${template}" got no value for "${name}"`, { ...context, param: name })
      }
      out += v + statics[i + 1]
    }
    return out
  }
}
