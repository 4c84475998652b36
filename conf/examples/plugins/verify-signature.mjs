// A zproxy pool plugin (docs/plugins.md, "pool": true): checks an HMAC-SHA256
// signature of method + path in x-signature. Its onRequest runs on a worker
// of a piscina pool, never on the thread serving connections.
//
//   "middleware": {
//     "signed": { "type": "plugin", "module": "plugins/verify-signature.mjs", "pool": true, "options": { "secret": "${SIGNING_SECRET}" } }
//   }
import { createHmac, timingSafeEqual } from 'node:crypto';

/** request: a plain copy { method, path, headers, host, clientAddress, routeName, params, locals, options }. */
export function onRequest(request) {
  let signature;
  for (let i = 0; i < request.headers.length; i += 2) if (request.headers[i].toLowerCase() === 'x-signature') signature = request.headers[i + 1];
  const expected = createHmac('sha256', String(request.options.secret)).update(`${request.method} ${request.path}`).digest();
  const given = Buffer.from(signature ?? '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { kind: 'respond', status: 403, body: 'bad signature\n' };
  }
  return { kind: 'rewrite', removeHeaders: ['x-signature'] };
}
