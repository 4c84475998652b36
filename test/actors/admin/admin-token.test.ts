import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { adminGet, baseConfig, Origin, startCli, ZPROXY_BIN, type CliProxy } from '../metrics/fixtures/zproxy-cli.js';

const TOKEN = 's3cret-admin-token';

/** Opens GET /stream; resolves with the HTTP status of a refusal, or 101 and the first message. */
function openStream(admin: string, token?: string): Promise<{ status: number; first?: { v: number; workers: unknown[] } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${admin.replace('http:', 'ws:')}/stream`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    ws.once('unexpected-response', (_req, res) => { res.resume(); ws.terminate(); resolve({ status: res.statusCode ?? 0 }); });
    ws.once('message', (data) => { ws.close(); resolve({ status: 101, first: JSON.parse(data.toString()) as { v: number; workers: unknown[] } }); });
    ws.once('error', (err) => { if (!/Unexpected server response/.test(err.message)) reject(err); });
  });
}

describe('admin listener bound beyond loopback', () => {
  test('zproxy refuses to start a non-loopback admin listener without a token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zproxy-admin-'));
    try {
      const path = join(dir, 'c.json');
      writeFileSync(path, JSON.stringify(baseConfig({ upstreams: { app: { hosts: ['127.0.0.1:9'] } }, routes: [{ path: '/*', upstream: 'app' }], admin: { enabled: true, address: '0.0.0.0', port: 0 } })));
      const r = await promisify(execFile)(process.execPath, [ZPROXY_BIN, 'start', '-c', path], { encoding: 'utf8', timeout: 15_000 })
        .then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /\/admin\/token: is required when the admin API listens on "0\.0\.0\.0", which is not a loopback address/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('with a token, on 0.0.0.0', () => {
    let proxy: CliProxy;
    let origin: Origin;

    before(async () => {
      origin = await new Origin().listen();
      proxy = await startCli(baseConfig({
        upstreams: { app: { hosts: [`127.0.0.1:${origin.port}`] } },
        routes: [{ path: '/*', upstream: 'app' }],
        admin: { enabled: true, address: '0.0.0.0', port: 0, token: TOKEN },
      }));
    });

    after(async () => {
      await proxy?.stop();
      await origin?.kill();
    });

    test('answers 401 to every endpoint without the token or with a wrong one', async () => {
      for (const path of ['/metrics', '/stats', '/readyz', '/healthz', '/config']) {
        const none = await adminGet(proxy.admin, path);
        assert.equal(none.status, 401, `${path} without a token`);
        assert.equal(none.headers['www-authenticate'], 'Bearer realm="zproxy-admin"');
        assert.equal((await adminGet(proxy.admin, path, 'wrong-token-same-len')).status, 401, `${path} with a wrong token`);
      }
      assert.equal((await adminGet(proxy.admin, '/metrics', TOKEN)).status, 200);
    });

    test('refuses the stats stream upgrade without the token and streams snapshots with it', async () => {
      assert.deepEqual(await openStream(proxy.admin), { status: 401 });
      assert.deepEqual(await openStream(proxy.admin, 'nope'), { status: 401 });
      const ok = await openStream(proxy.admin, TOKEN);
      assert.equal(ok.status, 101);
      assert.equal(ok.first!.v, 1);
      assert.equal(ok.first!.workers.length, 2);
    });
  });
});
