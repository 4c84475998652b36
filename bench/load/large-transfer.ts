/**
 * `node dist/bench/load/large-transfer.js [--gib 1]`: streams a large upload
 * and a large download through zproxy (one worker, its own process) and
 * samples the proxy's RSS every 100 ms: bodies must stream, never buffer, so
 * peak RSS stays flat (target < 200 MB for 1 GiB each way). Both ends hash
 * the bytes, so a lost or reordered byte fails the run.
 * With --write, records the result in docs/PERFORMANCE.md (transfer markers).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, LOOPBACK } from './free-port.js';
import { sampleTreeRss } from './proc-stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHUNK = Buffer.alloc(64 * 1024, 'zproxy-large-transfer-');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function startOrigin(totalBytes: number): Promise<{ server: http.Server; port: number; uploadHash: Promise<{ bytes: number; sha: string }> }> {
  let resolveUpload!: (v: { bytes: number; sha: string }) => void;
  const uploadHash = new Promise<{ bytes: number; sha: string }>((r) => { resolveUpload = r; });
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
      req.on('end', () => { resolveUpload({ bytes: n, sha: h.digest('hex') }); res.end('ok'); });
      return;
    }
    res.writeHead(200, { 'content-length': String(totalBytes) });
    let sent = 0;
    const pump = (): void => {
      while (sent < totalBytes) {
        const n = Math.min(CHUNK.length, totalBytes - sent);
        sent += n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  return new Promise((resolve) => server.listen(0, LOOPBACK, () => {
    const port = (server.address() as { port: number }).port;
    resolve({ server, port, uploadHash });
  }));
}

function expectedSha(totalBytes: number): string {
  const h = createHash('sha256');
  for (let sent = 0; sent < totalBytes; sent += CHUNK.length) h.update(CHUNK.subarray(0, Math.min(CHUNK.length, totalBytes - sent)));
  return h.digest('hex');
}

async function upload(port: number, totalBytes: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: LOOPBACK, port, method: 'POST', path: '/up', headers: { 'content-length': String(totalBytes) } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < totalBytes) {
        const n = Math.min(CHUNK.length, totalBytes - sent);
        sent += n;
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  return performance.now() - t0;
}

async function download(port: number): Promise<{ ms: number; bytes: number; sha: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: LOOPBACK, port, path: '/down' }, (res) => {
      const h = createHash('sha256');
      let n = 0;
      res.on('data', (c: Buffer) => { h.update(c); n += c.length; });
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes: n, sha: h.digest('hex') }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const gib = Number(arg('--gib', '1'));
  const totalBytes = Math.round(gib * 1024 * 1024 * 1024);
  const origin = await startOrigin(totalBytes);
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zproxy-transfer-'));
  const configPath = path.join(dir, 'zproxy.json');
  writeFileSync(configPath, JSON.stringify({
    server: { workers: 1, pinning: false }, listeners: [{ name: 'http', port }],
    upstreams: { origin: { hosts: [`${LOOPBACK}:${origin.port}`] } }, routes: [{ path: '/*', upstream: 'origin' }],
    logging: { access: { enabled: false } }, admin: { enabled: false },
  }));
  const proxy = spawn(process.execPath, [path.join(ROOT, 'bin/zproxy.js'), 'start', '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      proxy.stderr!.on('data', (d: Buffer) => { err += d; if (err.includes('listening on')) resolve(); });
      proxy.once('exit', (code) => reject(new Error(`zproxy exited (${code}): ${err}`)));
    });
    const rss = sampleTreeRss(proxy.pid!);
    const idleRss = readRssMb(proxy.pid!);
    const up = await upload(port, totalBytes);
    const got = await origin.uploadHash;
    const down = await download(port);
    const peak = rss.stop();
    const want = expectedSha(totalBytes);
    const ok = got.bytes === totalBytes && got.sha === want && down.bytes === totalBytes && down.sha === want;
    const mb = (b: number): string => (b / 1048576).toFixed(0);
    const lines = [
      `| direction | bytes | time s | MiB/s | intact |`,
      `| --- | ---: | ---: | ---: | --- |`,
      `| upload (client -> origin) | ${got.bytes} | ${(up / 1000).toFixed(1)} | ${(totalBytes / 1048576 / (up / 1000)).toFixed(0)} | ${got.sha === want ? 'sha256 match' : 'MISMATCH'} |`,
      `| download (origin -> client) | ${down.bytes} | ${(down.ms / 1000).toFixed(1)} | ${(totalBytes / 1048576 / (down.ms / 1000)).toFixed(0)} | ${down.sha === want ? 'sha256 match' : 'MISMATCH'} |`,
      '',
      `zproxy RSS: ${idleRss} MB at start, peak ${mb(peak)} MB during the transfers (target < 200 MB).`,
    ].join('\n');
    process.stdout.write(lines + '\n');
    if (process.argv.includes('--write')) {
      const doc = path.join(ROOT, 'docs/PERFORMANCE.md');
      const text = readFileSync(doc, 'utf8');
      const section = `<!-- transfer:begin -->\n## Large transfers: flat memory\n\n- Date: ${new Date().toISOString()}; Node ${process.version}; command: \`node dist/bench/load/large-transfer.js --gib ${gib} --write\` (zproxy in its own process, 1 worker; RSS of its process sampled every 100 ms)\n\n${lines}\n<!-- transfer:end -->`;
      const b = text.indexOf('<!-- transfer:begin -->');
      const e = text.indexOf('<!-- transfer:end -->');
      writeFileSync(doc, b >= 0 ? text.slice(0, b) + section + text.slice(e + '<!-- transfer:end -->'.length) : text.trimEnd() + '\n\n' + section + '\n');
    }
    if (!ok) process.exitCode = 1;
  } finally {
    proxy.kill('SIGKILL');
    origin.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function readRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

await main();
process.exit();
