/**
 * The research placements route through a router actor on its own thread
 * (SAB rings or postMessage); what a client sees must not change.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { httpRequest } from '../harness/http-request.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';

for (const placement of ['pipelined', 'postmessage'] as const) {
  describe(`placement ${placement}`, () => {
    let origin: RecordingOrigin;
    let proxy: ProxyHandle;
    before(async () => {
      origin = await startRecordingOrigin();
      proxy = await startProxy(proxyConfig({
        upstreams: { api: [origin.port] },
        server: { placement },
        routes: [
          { name: 'users', path: '/api/users/:id', methods: ['GET'], upstream: 'api', rewrite: { path: '/users/:id' } },
          { name: 'static', path: '/static/*', upstream: 'api' },
        ],
      }));
    });
    after(async () => {
      await proxy.close();
      await origin.close();
    });

    test('a matched route is rewritten with its params, as with the local placement', async () => {
      const r = await httpRequest(proxy.port, { path: '/api/users/42?x=1' });
      assert.equal(r.status, 200);
      assert.equal(origin.requests.at(-1)!.url, '/users/42?x=1');
    });

    test('no route is a 404 and a wrong method a 405 with Allow, without reaching the upstream', async () => {
      const before = origin.requests.length;
      assert.equal((await httpRequest(proxy.port, { path: '/nothing' })).status, 404);
      const r = await httpRequest(proxy.port, { path: '/api/users/1', method: 'DELETE' });
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, 'GET, HEAD');
      assert.equal(origin.requests.length, before);
    });

    test('many concurrent requests all cross to the router thread and come back matched', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => httpRequest(proxy.port, { path: `/static/f${i}.css` })));
      assert.deepEqual(results.map((r) => r.status), Array(200).fill(200));
      const link = (proxy.stats() as unknown as { routerLink: { sent: number; delivered: number } }).routerLink;
      assert.ok(link.sent >= 203, `router link carried ${link.sent} messages`);
    });
  });
}
