/**
 * A response with Content-Length: 0 ends at its head: the exchange must
 * finish there, so the next request on the same connection is served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startRecordingOrigin } from '../harness/recording-origin.js';
import { startProxy } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';

test('a Content-Length: 0 response lets the next keep-alive request through', async () => {
  const origin = await startRecordingOrigin({ respond: (_rec, res) => { res.writeHead(200, { 'content-length': 0 }); res.end(); } });
  const proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(await new Promise<number>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: proxy.port, path: `/${i}`, agent, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
      }));
    }
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(origin.requests.length, 3);
    assert.equal(proxy.stats().connectionsTotal, 1);
  } finally {
    agent.destroy();
    await proxy.close();
    await origin.close();
  }
});
