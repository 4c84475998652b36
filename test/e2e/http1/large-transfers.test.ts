/**
 * 256 MiB each way through the proxy with flat memory: the bodies are
 * generated on the fly and hashed at both ends, never held. The proxy runs in
 * this process next to its clients, so the RSS growth measured here is the
 * proxy's and the test's together; streaming keeps it to socket buffers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomFillSync } from 'node:crypto';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, hashStream, type RecordingOrigin } from '../harness/recording-origin.js';

const TOTAL_BYTES = 256 * 1024 * 1024;
const BLOCK_BYTES = 64 * 1024;
/** The brief's bound for this in-process setup: buffers in flight are a few MB, 100 MB means something is held. */
const MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024;

/** 1 MiB of random bytes; block i is the 64 KiB window at a rotating offset, so consecutive blocks differ. */
const POOL = randomFillSync(Buffer.alloc(1024 * 1024 + BLOCK_BYTES));
function block(i: number): Buffer {
  const off = (i * 4099) % (POOL.length - BLOCK_BYTES);
  return POOL.subarray(off, off + BLOCK_BYTES);
}

/** Writes TOTAL_BYTES of blocks to `out` with backpressure, feeding `hash`; resolves when all is queued. */
async function pump(out: NodeJS.WritableStream, hash: ReturnType<typeof createHash>): Promise<void> {
  const blocks = TOTAL_BYTES / BLOCK_BYTES;
  for (let i = 0; i < blocks; i++) {
    const b = block(i);
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
}

class RssSampler {
  readonly baseline = process.memoryUsage.rss();
  peak = this.baseline;
  private readonly timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }, 20);

  stop(): number {
    clearInterval(this.timer);
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return this.peak - this.baseline;
  }
}

let origin: RecordingOrigin;
let proxy: ProxyHandle;
let downloadSha = '';

before(async () => {
  origin = await startRecordingOrigin({
    onHead(req, res) {
      if (req.method !== 'GET') {
        // Uploads: the recording origin hashes the body; answer once it is all in.
        req.on('end', () => {
          const rec = origin.requests.at(-1)!;
          res.setHeader('content-type', 'text/plain');
          res.end(`${rec.bodyBytes} ${rec.bodySha256}`);
        });
        return;
      }
      // '/download-chunked': no length, so node frames it chunked and the proxy scans every chunk.
      if (req.url === '/download') res.setHeader('content-length', TOTAL_BYTES);
      const hash = createHash('sha256');
      void pump(res, hash).then(() => {
        downloadSha = hash.digest('hex');
        res.end();
      });
    },
  });
  proxy = await startProxy(proxyConfig({ upstreams: { origin: [origin.port] } }));
});

after(async () => {
  await proxy.close();
  await origin.close();
});

for (const framing of ['content-length', 'chunked'] as const) {
  test(`streams a 256 MiB ${framing} upload through the proxy with flat memory and identical bytes`, async () => {
    const sampler = new RssSampler();
    const hash = createHash('sha256');
    const started = performance.now();
    const headers = framing === 'chunked' ? {} : { 'content-length': TOTAL_BYTES };
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path: '/upload', headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      void pump(req, hash).then(() => req.end());
    });
    const growth = sampler.stop();
    const seconds = (performance.now() - started) / 1000;
    const [bytes, sha] = answer.split(' ');
    assert.equal(Number(bytes), TOTAL_BYTES);
    assert.equal(sha, hash.digest('hex'));
    assert.ok(growth < MAX_RSS_GROWTH_BYTES, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
    process.stdout.write(`# ${framing} upload: 256 MiB in ${seconds.toFixed(2)} s, RSS growth ${(growth / 1048576).toFixed(1)} MiB\n`);
  });
}

for (const framing of ['content-length', 'chunked'] as const) {
  test(`streams a 256 MiB ${framing} download through the proxy with flat memory and identical bytes`, async () => {
    const sampler = new RssSampler();
    const started = performance.now();
    const path = framing === 'chunked' ? '/download-chunked' : '/download';
    const result = await new Promise<{ bytes: number; sha256: string; status: number; te: string | undefined }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'GET', path, agent: false }, (res) => {
        hashStream(res).then((h) => resolve({ ...h, status: res.statusCode!, te: res.headers['transfer-encoding'] }), reject);
      });
      req.on('error', reject);
      req.end();
    });
    const growth = sampler.stop();
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.status, 200);
    assert.equal(result.te, framing === 'chunked' ? 'chunked' : undefined);
    assert.equal(result.bytes, TOTAL_BYTES);
    assert.equal(result.sha256, downloadSha);
    assert.ok(growth < MAX_RSS_GROWTH_BYTES, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
    process.stdout.write(`# ${framing} download: 256 MiB in ${seconds.toFixed(2)} s, RSS growth ${(growth / 1048576).toFixed(1)} MiB\n`);
  });
}
