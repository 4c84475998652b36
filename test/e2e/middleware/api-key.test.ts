import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCli, tempDir, waitFor, writeJson } from '../cli/cli-process.js';
import { cliConfig, freePorts } from '../cli/cli-config.js';
import { startRecordingOrigin } from '../harness/recording-origin.js';
import { httpRequest } from '../harness/http-request.js';

const INLINE_KEY = 'inline-key-7f3a9c1e55';
const FILE_KEY = 'file-key:b81d2e44aa';
const WRONG_KEY = 'wrong-key-0c4d1f2e99';

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

// A real CLI (two workers, the logger thread writing a file): the key must appear in no line it writes.
describe('api-key middleware through the real CLI', { timeout: 60_000 }, () => {
  test('accepts header and query keys, 401s the rest, strips keys upstream, and never logs a key', async () => {
    const origin = await startRecordingOrigin();
    const [listenerPort, adminPort] = await freePorts(2);
    const dir = tempDir('api-key');
    const log = path.join(dir, 'access.log');
    fs.writeFileSync(path.join(dir, 'keys.txt'), `# name:key\nci-bot:${FILE_KEY}\n`);
    const file = path.join(dir, 'zproxy.json');
    const config = cliConfig({
      listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { app: origin.port },
      routes: [{ name: 'api', path: '/*', upstream: 'app', middleware: ['auth'] }],
      access: { enabled: true, path: log, format: '$request_uri $status $api_key_name $http_x_api_key' },
    });
    config.middleware = { auth: { type: 'api-key', keys: [{ name: 'alice', key: INLINE_KEY }], keysFile: 'keys.txt', queryParam: 'api_key' } };
    writeJson(file, config);
    const proxy = await startCli(file);
    try {
      const viaHeader = await httpRequest(listenerPort!, { path: '/h', headers: { 'x-api-key': INLINE_KEY } });
      assert.equal(viaHeader.status, 200);
      const viaFile = await httpRequest(listenerPort!, { path: '/f', headers: { 'x-api-key': FILE_KEY } });
      assert.equal(viaFile.status, 200);
      const viaQuery = await httpRequest(listenerPort!, { path: `/q?a=1&api_key=${encodeURIComponent(INLINE_KEY)}` });
      assert.equal(viaQuery.status, 200);
      const missing = await httpRequest(listenerPort!, { path: '/m' });
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'ApiKey realm="zproxy", header="x-api-key", query="api_key"');
      const wrongHeader = await httpRequest(listenerPort!, { path: '/w', headers: { 'x-api-key': WRONG_KEY } });
      const wrongQuery = await httpRequest(listenerPort!, { path: `/wq?api_key=${WRONG_KEY}` });
      for (const r of [wrongHeader, wrongQuery]) {
        assert.equal(r.status, 401);
        assert.ok(!r.body.toString().includes(WRONG_KEY), 'the 401 body never echoes the key');
      }

      // Upstream: three requests, without the key header or parameter.
      assert.deepEqual(origin.requests.map((r) => r.url), ['/h', '/f', '/q?a=1']);
      for (const r of origin.requests) assert.equal(r.headers['x-api-key'], undefined);

      await waitFor(() => readLines(log).length === 6, 10_000, '6 access log lines');
      const lines = readLines(log).sort();
      assert.deepEqual(lines, [
        // An accepted key's header was stripped before the upstream (and the log) saw the request.
        '/f 200 ci-bot -',
        '/h 200 alice -',
        '/m 401 - -',
        '/q?a=1&api_key=[redacted] 200 alice -',
        '/w 401 - [redacted]',
        '/wq?api_key=[redacted] 401 - -',
      ]);
      const everything = fs.readFileSync(log, 'utf8') + proxy.stderr();
      for (const key of [INLINE_KEY, FILE_KEY, WRONG_KEY, encodeURIComponent(INLINE_KEY)]) assert.ok(!everything.includes(key), `${key} appears in a log`);
    } finally {
      await proxy.kill();
      await origin.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
