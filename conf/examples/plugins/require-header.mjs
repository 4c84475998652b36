// A zproxy plugin (docs/plugins.md): answers 400 unless the request carries
// the header named in options.header, and tags responses it let through.
//
//   "middleware": {
//     "need-tenant": { "type": "plugin", "module": "plugins/require-header.mjs", "options": { "header": "x-tenant" } }
//   }

/** ctx.headers is a flat [name, value, name, value, ...] array; names keep the client's case. */
function header(headers, lowerName) {
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === lowerName) return headers[i + 1];
  return undefined;
}

export default function requireHeader(options, info) {
  const wanted = String(options.header ?? 'x-tenant').toLowerCase();
  return {
    // Runs after routing; returning a plain object (not a promise) keeps the request on the fast path.
    onRequest(ctx) {
      const value = header(ctx.headers, wanted);
      if (value === undefined || value === '') {
        return { kind: 'respond', status: 400, headers: ['content-type', 'text/plain'], body: `missing ${wanted}\n` };
      }
      ctx.locals.tenant = value; // seen by the middlewares after this one
      return { kind: 'continue' };
    },
    onResponseHead(ctx, res) {
      res.headers.push('x-checked-by', info.name);
    },
  };
}
