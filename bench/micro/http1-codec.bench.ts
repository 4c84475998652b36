/**
 * Micro-benchmarks of the HTTP/1.1 codec's hot paths: request head parsing
 * (a typical browser GET and a 20-field head), response head parsing, and
 * walking a 64 KiB chunked body. Run alone: `node dist/bench/micro/http1-codec.bench.js`.
 *
 * Each tinybench sample times a batch of calls (sub-microsecond calls are below
 * timer resolution one at a time) and reports the per-call mean.
 */
import { Bench, type FnReturnedObject } from 'tinybench';
import { pathToFileURL } from 'node:url';
import { parseRequestHead } from '../../src/protocol/http1/request-head.js';
import { parseResponseHead } from '../../src/protocol/http1/response-head.js';
import { ChunkedScanner } from '../../src/protocol/http1/chunked-scanner.js';
import { serializeRequestHead } from '../../src/protocol/http1/serialize.js';
import { filterHopByHop } from '../../src/protocol/http1/hop-by-hop.js';
import { DEFAULT_HEAD_LIMITS } from '../../src/protocol/http1/limits.js';

export interface BenchRow {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
}

/** A Chrome-like navigation request, 300 bytes or so. */
export const BROWSER_GET = Buffer.from(
  'GET /products/42?ref=home HTTP/1.1\r\n' +
  'Host: shop.example.com\r\n' +
  'Connection: keep-alive\r\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\n' +
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
  'Accept-Encoding: gzip, deflate, br\r\n' +
  'Accept-Language: en-US,en;q=0.9\r\n' +
  '\r\n',
  'latin1',
);

function twentyFieldHead(): Buffer {
  let head = 'POST /api/v1/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 128\r\n';
  for (let i = 0; i < 18; i++) head += `X-Custom-Header-${i}: value-${i}-abcdefghijklmnop\r\n`;
  return Buffer.from(head + '\r\n', 'latin1');
}

const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\n' +
  'Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n' +
  'Content-Type: text/html; charset=utf-8\r\n' +
  'Content-Length: 12345\r\n' +
  'Cache-Control: max-age=60\r\n' +
  'ETag: "abc123"\r\n' +
  'Vary: Accept-Encoding\r\n' +
  'Connection: keep-alive\r\n' +
  '\r\n',
  'latin1',
);

/** 64 KiB of payload in 16 chunks of 4 KiB, then the last chunk. */
function chunkedBody(): Buffer {
  const parts: Buffer[] = [];
  const chunk = Buffer.alloc(4096, 0x61);
  for (let i = 0; i < 16; i++) parts.push(Buffer.from('1000\r\n'), chunk, Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Times `batch` calls per sample and reports the per-call mean, as tinybench's README suggests for short tasks. */
function batched(bench: Bench, batch: number, fn: () => number): () => FnReturnedObject {
  let sink = 0;
  return () => {
    const t0 = bench.now();
    for (let i = 0; i < batch; i++) sink += fn();
    const elapsed = bench.now() - t0;
    if (sink === -1) console.log(sink); // keep the results observable
    return { overriddenDuration: elapsed / batch, overriddenIterationCost: elapsed };
  };
}

export async function runHttp1CodecBench(timeMs = 500): Promise<BenchRow[]> {
  const bench = new Bench({ name: 'http1 codec', time: timeMs, warmupTime: 100 });
  const limits = DEFAULT_HEAD_LIMITS;
  const twenty = twentyFieldHead();
  const body = chunkedBody();
  const scanner = new ChunkedScanner();
  let payload = 0;
  const counting = new ChunkedScanner({ onData: (_b, s, e) => { payload += e - s; } });
  const parsed = parseRequestHead(BROWSER_GET, 0, BROWSER_GET.length, limits);
  if (parsed === null || !('method' in parsed)) throw new Error('benchmark head does not parse');

  bench
    .add(`parse request head, browser GET (${BROWSER_GET.length} B)`, batched(bench, 1000, () => {
      const h = parseRequestHead(BROWSER_GET, 0, BROWSER_GET.length, limits);
      return h !== null && 'headBytes' in h ? h.headBytes : 0;
    }), { async: false })
    .add(`parse request head, 20 fields (${twenty.length} B)`, batched(bench, 1000, () => {
      const h = parseRequestHead(twenty, 0, twenty.length, limits);
      return h !== null && 'headBytes' in h ? h.headBytes : 0;
    }), { async: false })
    .add(`parse response head (${RESPONSE.length} B)`, batched(bench, 1000, () => {
      const h = parseResponseHead(RESPONSE, 0, RESPONSE.length, limits, 'GET');
      return h !== null && 'headBytes' in h ? h.headBytes : 0;
    }), { async: false })
    .add('filter hop-by-hop + serialize request head (browser GET)', batched(bench, 1000, () => {
      const framing: string[] = [];
      return serializeRequestHead(parsed.method, parsed.target, filterHopByHop(parsed.headers, parsed.connectionTokens, framing)).length;
    }), { async: false })
    .add(`scan chunked body, 16 x 4 KiB (${body.length} B)`, batched(bench, 100, () => {
      scanner.reset();
      return scanner.scan(body, 0, body.length);
    }), { async: false })
    .add('scan chunked body with onData', batched(bench, 100, () => {
      counting.reset();
      return counting.scan(body, 0, body.length);
    }), { async: false });

  const llhttp = nodeParser();
  if (llhttp !== undefined) {
    bench.add(`node's llhttp (deprecated binding), browser GET`, batched(bench, 1000, () => llhttp(BROWSER_GET)), { async: false });
  }

  await bench.run();
  if (payload === 0) throw new Error('onData never ran');
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
    const nsPerOp = result.latency.mean * 1e6;
    return { name: task.name, opsPerSec: 1e9 / nsPerOp, nsPerOp };
  });
}

/**
 * Node's own parser for comparison, through the deprecated `process.binding('http_parser')`
 * (gone in Node 22+: then there is no comparison row). Its execute() is stateful and reuses
 * one parser as a keep-alive connection would; the callback builds the same kind of flat
 * header array ours returns.
 */
function nodeParser(): ((buf: Buffer) => number) | undefined {
  const proc = process as unknown as { binding?: (name: string) => unknown; noDeprecation?: boolean };
  const quiet = proc.noDeprecation;
  try {
    proc.noDeprecation = true;
    const { HTTPParser } = proc.binding!('http_parser') as { HTTPParser: any };
    const parser = new HTTPParser();
    let heads = 0;
    parser[HTTPParser.kOnHeadersComplete] = () => { heads++; return 0; };
    for (const k of ['kOnHeaders', 'kOnBody', 'kOnMessageComplete', 'kOnExecute', 'kOnTimeout']) parser[HTTPParser[k]] = () => {};
    parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
    const run = (buf: Buffer): number => {
      const n = parser.execute(buf) as number;
      if (typeof n !== 'number') throw new Error('llhttp rejected the benchmark head');
      return n;
    };
    run(BROWSER_GET);
    return heads === 1 ? run : undefined;
  } catch {
    return undefined;
  } finally {
    proc.noDeprecation = quiet;
  }
}

export function markdownTable(rows: readonly BenchRow[]): string {
  let out = '| benchmark | ops/s | ns/op |\n|---|---:|---:|\n';
  for (const r of rows) out += `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.nsPerOp.toFixed(1)} |\n`;
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runHttp1CodecBench();
  console.log(`node ${process.version}\n`);
  console.log(markdownTable(rows));
}
