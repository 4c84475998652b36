/**
 * A bug in zproxy's own request path (simulated by a route whose compiled
 * rewrite throws) fails that request with a 500 and closes its connection;
 * the worker keeps serving every other request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';
import { startRecordingOrigin } from '../harness/recording-origin.js';

test('an exception inside the request path becomes a 500 for that request only', async () => {
  const origin = await startRecordingOrigin();
  const proxy = await startProxy(proxyConfig({
    upstreams: { api: [origin.port] },
    routes: [
      { name: 'broken', path: '/broken/:x', upstream: 'api', rewrite: { path: '/x/:x' } },
      { name: 'fine', path: '/*', upstream: 'api' },
    ],
  }));
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.message); };
  process.on('warning', onWarning);
  try {
    // Fault injection: the compiled rewrite of route 'broken' throws, as a bug would.
    const session = (proxy.app as unknown as { session: { current: { routeList: Array<{ name: string; rewritePath: unknown }> } } }).session;
    const broken = session.current.routeList.find((r) => r.name === 'broken')!;
    broken.rewritePath = () => { throw new Error('injected bug'); };

    const bad = await httpRequest(proxy.port, { path: '/broken/1' });
    assert.equal(bad.status, 500);
    assert.match(bad.body.toString(), /^500 Internal Server Error/);
    assert.equal(bad.headers.connection, 'close');
    const ok = await Promise.all([1, 2, 3].map((i) => httpRequest(proxy.port, { path: `/fine/${i}` })));
    assert.deepEqual(ok.map((r) => r.status), [200, 200, 200]);
    assert.equal(origin.requests.filter((r) => r.url.startsWith('/x/')).length, 0, 'the failing request never reached the upstream');
    await new Promise((r) => setImmediate(r));
    assert.equal((proxy.stats() as unknown as { internalErrors: number }).internalErrors, 1);
    assert.ok(warnings.some((w) => w.includes('injected bug')), 'the bug is logged with its stack');
  } finally {
    process.off('warning', onWarning);
    await proxy.close();
    await origin.close();
  }
});
