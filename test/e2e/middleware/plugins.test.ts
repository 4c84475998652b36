import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zproxy-plugins-'));

function writePlugin(name: string, source: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return file;
}

const THROWING = writePlugin('throwing.mjs', `
export default function (options) {
  return {
    onRequest(ctx) {
      if (ctx.path.includes('/boom')) throw new Error('plugin bug ' + options.tag);
      return { kind: 'rewrite', setHeaders: { 'x-plugin': options.tag } };
    },
    onResponseHead(ctx, res) { res.headers.push('x-plugin-saw', String(res.status)); },
  };
}`);

const HANGING = writePlugin('hanging.mjs', `
export default function () {
  return { onRequest(ctx) { return ctx.path.includes('/hang') ? new Promise(() => {}) : Promise.resolve({ kind: 'continue' }); } };
}`);

// A pool plugin: its onRequest runs in a piscina thread, on a copy of the request.
const POOLED = writePlugin('pooled.mjs', `
import { isMainThread } from 'node:worker_threads';
export function onRequest(req) {
  let h = 0;
  for (let i = 0; i < 1000; i++) h = (h * 31 + i) | 0; // stands for CPU work
  if (req.path === '/deny') return { kind: 'respond', status: 403, headers: ['x-on-main', String(isMainThread)], body: 'denied by ' + req.options.who };
  return { kind: 'rewrite', setHeaders: { 'x-pooled-thread-main': String(isMainThread) } };
}`);

describe('plugin middleware', { timeout: 60_000 }, () => {
  let origin: RecordingOrigin;
  let proxy: ProxyHandle;

  before(async () => {
    origin = await startRecordingOrigin();
    proxy = await startProxy(proxyConfig({
      upstreams: { app: [origin.port] },
      routes: [
        { name: 'throwing', path: '/t/*', upstream: 'app', middleware: ['throwing'] },
        { name: 'hanging', path: '/h/*', upstream: 'app', middleware: ['hanging'], timeouts: { readMs: 600 } },
        { name: 'pooled', path: '/p/*', upstream: 'app', middleware: ['pooled'], rewrite: { path: '/*' } },
      ],
      middleware: {
        throwing: { type: 'plugin', module: THROWING, options: { tag: 'v1' } },
        hanging: { type: 'plugin', module: HANGING },
        pooled: { type: 'plugin', module: POOLED, pool: true, options: { who: 'pool' } },
      },
    }));
  });

  after(async () => {
    await proxy.close();
    await origin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a plugin edits the upstream request and the response head', async () => {
    const r = await httpRequest(proxy.port, { path: '/t/ok' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-plugin-saw'], '200');
    assert.equal(origin.requests.at(-1)!.headers['x-plugin'], 'v1');
  });

  test('a plugin that throws gives that request a 500 and the next request succeeds', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.message); };
    process.on('warning', onWarning);
    try {
      const before = origin.requests.length;
      const bad = await httpRequest(proxy.port, { path: '/t/boom' });
      assert.equal(bad.status, 500);
      assert.ok(!bad.body.toString().includes('plugin bug'), 'the error message stays in the log, not the response');
      const good = await httpRequest(proxy.port, { path: '/t/after' });
      assert.equal(good.status, 200);
      assert.equal(origin.requests.length, before + 1, 'only the good request reached the upstream');
      await new Promise((r) => setImmediate(r));
      assert.ok(warnings.some((w) => w.includes("middleware 'throwing' failed") && w.includes('plugin bug v1')), warnings.join('\n'));
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('a plugin whose promise never settles ends at the route read timeout with 504, and the proxy keeps serving', async () => {
    const t0 = performance.now();
    const r = await httpRequest(proxy.port, { path: '/h/hang' });
    const elapsed = performance.now() - t0;
    assert.equal(r.status, 504);
    assert.ok(elapsed >= 550, `answered after ${elapsed.toFixed(0)} ms, before the 600 ms read timeout`);
    assert.equal((await httpRequest(proxy.port, { path: '/h/fine' })).status, 200);
  });

  test('a pool plugin runs off the session thread and its decisions apply', async () => {
    const denied = await httpRequest(proxy.port, { path: '/p/deny' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.toString(), 'denied by pool');
    assert.equal(denied.headers['x-on-main'], 'false');
    const ok = await httpRequest(proxy.port, { path: '/p/x' });
    assert.equal(ok.status, 200);
    const rec = origin.requests.at(-1)!;
    assert.equal(rec.url, '/x');
    assert.equal(rec.headers['x-pooled-thread-main'], 'false');
  });
});
