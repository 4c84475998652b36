/**
 * curl as the client: a real-world HTTP/1.1 stack with its own keep-alive,
 * Expect: 100-continue and chunked upload behaviour. Skipped where curl is
 * not installed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';

const hasCurl = ((): boolean => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = hasCurl ? false : 'curl is not installed';

let origin: RecordingOrigin;
let proxy: ProxyHandle;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zproxy-curl-'));
  origin = await startRecordingOrigin();
  proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--http1.1', '--max-time', '10', ...args], { encoding: 'latin1', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

test('curl fetches three URLs over one kept-alive connection', { skip }, async () => {
  const before = proxy.stats().connectionsTotal;
  const base = `http://127.0.0.1:${proxy.port}`;
  const out = await curl(['-w', ' [%{http_code}]\\n', `${base}/c/1`, `${base}/c/2`, `${base}/c/3`]);
  assert.equal(out, 'GET /c/1 0 [200]\nGET /c/2 0 [200]\nGET /c/3 0 [200]\n');
  assert.equal(proxy.stats().connectionsTotal - before, 1);
});

test('curl uploads 2 MiB with Expect: 100-continue and the origin gets every byte', { skip }, async () => {
  const body = randomBytes(2 * 1024 * 1024);
  const file = join(dir, 'upload.bin');
  writeFileSync(file, body);
  const out = await curl(['-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `http://127.0.0.1:${proxy.port}/upload`]);
  assert.equal(out, `POST /upload ${body.length}`);
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.headers.expect, '100-continue');
  assert.equal(rec.bodySha256, createHash('sha256').update(body).digest('hex'));
});

test('curl sends a chunked upload that arrives intact', { skip }, async () => {
  const body = randomBytes(300 * 1024);
  const file = join(dir, 'chunked.bin');
  writeFileSync(file, body);
  const out = await curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `http://127.0.0.1:${proxy.port}/chunked`]);
  assert.equal(out, `POST /chunked ${body.length}`);
  const rec = origin.requests.at(-1)!;
  assert.equal(rec.headers['transfer-encoding'], 'chunked');
  assert.equal(rec.bodySha256, createHash('sha256').update(body).digest('hex'));
});

test('curl sees the proxy add Via and keep the origin headers', { skip }, async () => {
  const out = await curl(['-D', '-', '-o', '/dev/null', `http://127.0.0.1:${proxy.port}/headers`]);
  const lines = out.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 200 OK');
  assert.ok(lines.includes('via: 1.1 zproxy'), out);
  assert.ok(lines.some((l) => /^x-origin-body-sha256: [0-9a-f]{64}$/i.test(l)), out);
});
