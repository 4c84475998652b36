import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlugin, type LoadedPlugin } from '../../../actors/middleware/plugin/load-plugin.js';
import type { PluginMiddlewareConfig } from '../../../src/config/types.js';
import type { RequestContext, ResponseContext } from '../../../actors/middleware/request-context.js';

const EXAMPLES = fileURLToPath(new URL('../../../../conf/examples/plugins/', import.meta.url));

function plugin(module: string, options: Record<string, unknown> = {}, pool = false): PluginMiddlewareConfig {
  return { type: 'plugin', name: 'p', module, options, pool };
}

function ctx(method: string, p: string, headers: string[]): RequestContext {
  return { requestId: 'r', method, path: p, headers, host: 'h', clientAddress: '127.0.0.1', clientPort: 1, tls: false, routeName: 'r', params: {}, locals: {} };
}

describe('plugin loading', () => {
  const loaded: LoadedPlugin[] = [];
  after(async () => { for (const l of loaded) await l.close(); });

  test('the shipped example require-header.mjs answers 400 without its header and passes with it', async () => {
    const p = await loadPlugin(plugin(path.join(EXAMPLES, 'require-header.mjs'), { header: 'X-Tenant' }));
    const mw = p.create();
    assert.equal(mw.name, 'p');
    const missing = await mw.onRequest!(ctx('GET', '/', []));
    assert.equal(missing.kind, 'respond');
    const c = ctx('GET', '/', ['X-Tenant', 'acme']);
    assert.deepEqual(await mw.onRequest!(c), { kind: 'continue' });
    assert.equal(c.locals.tenant, 'acme');
    const res: ResponseContext = { status: 200, headers: [] };
    mw.onResponseHead!(c, res);
    assert.deepEqual(res.headers, ['x-checked-by', 'p']);
  });

  test('the shipped pool example verify-signature.mjs checks signatures on a pool thread', async () => {
    const p = await loadPlugin(plugin(path.join(EXAMPLES, 'verify-signature.mjs'), { secret: 's' }, true));
    loaded.push(p);
    const mw = p.create();
    const sig = createHmac('sha256', 's').update('GET /a').digest('hex');
    assert.deepEqual(await mw.onRequest!(ctx('GET', '/a', ['x-signature', sig])), { kind: 'rewrite', removeHeaders: ['x-signature'] });
    assert.equal(((await mw.onRequest!(ctx('GET', '/b', ['x-signature', sig]))) as { status: number }).status, 403);
  });

  test('a module without a factory, or one that fails to import, is refused at load with its path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zproxy-plugin-'));
    try {
      const noFactory = path.join(dir, 'no-factory.mjs');
      fs.writeFileSync(noFactory, 'export const x = 1;\n');
      await assert.rejects(loadPlugin(plugin(noFactory)), /no-factory\.mjs\): must export a default function/);
      const broken = path.join(dir, 'broken.mjs');
      fs.writeFileSync(broken, 'throw new Error("top-level failure");\n');
      await assert.rejects(loadPlugin(plugin(broken)), /broken\.mjs\): cannot be loaded: top-level failure/);
      const poolWithout = path.join(dir, 'pool.mjs');
      fs.writeFileSync(poolWithout, 'export default () => ({});\n');
      await assert.rejects(loadPlugin(plugin(poolWithout, {}, true)), /must export a function onRequest/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
