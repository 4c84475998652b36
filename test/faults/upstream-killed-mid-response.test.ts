/**
 * Fault: the upstream server process is killed (SIGKILL) while the proxy
 * streams its response body to a client, once with Content-Length and once
 * chunked. Proves: the client sees a truncated response as an error (the
 * connection closes before the announced length / before the chunked
 * terminator; node's client reports the response incomplete), never as a
 * complete one; the proxy's pool drops every connection to the dead host
 * (GET /stats upstream counters back to 0 active, 0 idle); later requests go
 * to the group's other host; and a host that comes back is used again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../e2e/cli/cli-process.js';
import { startOrigin } from '../e2e/cli/cli-config.js';
import { groupTotals, hostConnections, startFaultProxy, type FaultProxy } from './fixtures/fault-proxy.js';
import { startOriginProcess, STREAM_FIRST_BYTES, STREAM_LENGTH, type OriginProcess } from './fixtures/origin-process.js';

interface Outcome {
  readonly status: number;
  readonly up: string | undefined;
  readonly contentLength: string | undefined;
  readonly transferEncoding: string | undefined;
  readonly bodyBytes: number;
  /** node's IncomingMessage.complete: the whole message, framing included, was received. */
  readonly complete: boolean;
  readonly error: string | undefined;
  /** performance.now() when the connection ended. */
  readonly endedAtMs: number;
}

/** GET on its own connection; `onBody` runs once `firstBytes` of the body arrived. */
function streamingGet(port: number, urlPath: string, firstBytes: number, onBody: () => void): Promise<Outcome> {
  return new Promise((resolve) => {
    let bodyBytes = 0;
    let fired = false;
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let error: string | undefined;
      res.on('data', (c: Buffer) => {
        bodyBytes += c.length;
        if (!fired && bodyBytes >= firstBytes) {
          fired = true;
          onBody();
        }
      });
      res.on('error', (err: NodeJS.ErrnoException) => { error = `${err.code ?? ''} ${err.message}`.trim(); });
      res.on('close', () => resolve({
        status: res.statusCode ?? 0, up: res.headers['x-up'] as string | undefined,
        contentLength: res.headers['content-length'], transferEncoding: res.headers['transfer-encoding'],
        bodyBytes, complete: res.complete, error, endedAtMs: performance.now(),
      }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('the response neither finished nor failed within 15 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, up: undefined, contentLength: undefined, transferEncoding: undefined, bodyBytes, complete: false, error: err.message, endedAtMs: performance.now() }));
  });
}

function get(port: number, urlPath: string): Promise<{ status: number; up: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, up: res.headers['x-up'] as string | undefined, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${urlPath} within 10 s`)));
    req.on('error', reject);
  });
}

/** Streams from host a, kills a when the first bytes reached the client, and checks everything the kill must lead to. */
async function killMidResponse(fp: FaultProxy, a: OriginProcess, framing: 'length' | 'chunked', log: (line: string) => void): Promise<void> {
  const aAddress = `127.0.0.1:${a.port}`;
  // Keep-alive connections to a in the pool (idle ones must be dropped too).
  for (let i = 0; i < 6; i++) assert.equal((await get(fp.listenerPort, `/warm/${framing}/${i}`)).up, 'a');
  const before = groupTotals(await fp.stats(), 'g');
  let killedAtMs = 0;
  const outcome = await streamingGet(fp.listenerPort, `/stream/${framing}`, STREAM_FIRST_BYTES, () => {
    killedAtMs = performance.now();
    void a.kill();
  });
  assert.ok(killedAtMs > 0, `the body never started: ${JSON.stringify(outcome)}`);
  assert.equal(outcome.status, 200);
  assert.equal(outcome.up, 'a');
  if (framing === 'length') assert.equal(outcome.contentLength, String(STREAM_LENGTH));
  else assert.deepEqual([outcome.contentLength, outcome.transferEncoding], [undefined, 'chunked']);
  // Truncated, and the client knows it: closed before the length / the terminating chunk.
  assert.equal(outcome.complete, false, `a truncated ${framing} body was taken for a complete one: ${JSON.stringify(outcome)}`);
  assert.ok(outcome.bodyBytes >= STREAM_FIRST_BYTES && outcome.bodyBytes < STREAM_LENGTH, `body bytes ${outcome.bodyBytes}`);
  assert.notEqual(outcome.error, undefined, 'no error was reported to the client');
  const closeMs = outcome.endedAtMs - killedAtMs;
  assert.ok(closeMs < 5000, `the client connection closed ${closeMs} ms after the kill`);

  // The pool holds nothing to the dead host: the streaming connection and the idle ones are gone.
  let conns = hostConnections(await fp.stats(), 'g', aAddress);
  await waitFor(async () => {
    conns = hostConnections(await fp.stats(), 'g', aAddress);
    return conns.active === 0 && conns.idle === 0;
  }, 5000, `no connection to ${aAddress} in the pool (now ${JSON.stringify(conns)})`);
  const afterKill = groupTotals(await fp.stats(), 'g');

  // Later requests: a refuses connections, the group's other host answers them all.
  const later = [];
  for (let i = 0; i < 10; i++) later.push(await get(fp.listenerPort, `/after/${framing}/${i}`));
  assert.deepEqual(later.map((r) => `${r.status} ${r.up} ${r.body}`), later.map((_, i) => `200 b b /after/${framing}/${i}\n`));
  const end = groupTotals(await fp.stats(), 'g');
  log(`faults: upstream-killed framing=${framing} bodyBytes=${outcome.bodyBytes}/${framing === 'length' ? STREAM_LENGTH : 'chunked'} clientError="${outcome.error}" clientClosedMs=${Math.round(closeMs)} poolToDeadHost=${JSON.stringify(conns)} connectFailuresAfter=${end.connectFailures - afterKill.connectFailures} requestsToB=${later.length} (pool before: active ${before.active} idle ${before.idle})`);
  assert.ok(end.connectFailures > afterKill.connectFailures, 'the later requests did not try the dead host first (strategy first)');
}

describe('fault: an upstream killed mid-response', { timeout: 90_000 }, () => {
  test('the client sees the truncation as an error, the pool drops the dead host\'s connections, later requests go to the other host', async (t) => {
    let a = await startOriginProcess('a');
    const b = await startOrigin('b');
    let fp: FaultProxy | undefined;
    try {
      fp = await startFaultProxy({
        upstream: 'g',
        // first: every request goes to a while it accepts connections, so which host answers is exact.
        upstreams: { g: { hosts: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], strategy: 'first', retries: 1 } },
        server: { watchdog: { hangTimeoutMs: 5000, heartbeatIntervalMs: 100 } },
      });
      await killMidResponse(fp, a, 'length', (l) => t.diagnostic(l));
      // a comes back on its port: requests return to it, and a second kill with chunked framing.
      a = await startOriginProcess('a', a.port);
      const proxy = fp;
      await waitFor(async () => (await get(proxy.listenerPort, '/back')).up === 'a', 5000, 'requests to go to a again');
      await killMidResponse(fp, a, 'chunked', (l) => t.diagnostic(l));
    } finally {
      await fp?.proxy.kill();
      await a.kill();
      await b.close();
    }
  });
});
