/**
 * The drain's lame-duck window (server.timeouts.drainIdleMs): when a drain
 * starts, a keep-alive connection is not closed under a client that may be
 * writing its next request; that request is answered with connection: close.
 * A response already on its way when the drain started announces the close
 * too. When the window ends, connections still idle are closed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { delayedRespond, startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { RawClient } from '../harness/raw-client.js';

const WINDOW_MS = 600;

let origin: RecordingOrigin;
// The harness's servers are unref'd; this keeps the loop alive while a test awaits a close.
let keepAlive: NodeJS.Timeout;

before(async () => {
  keepAlive = setInterval(() => {}, 1000);
  origin = await startRecordingOrigin({ respond: delayedRespond });
});

after(async () => {
  clearInterval(keepAlive);
  await origin.close();
});

function start(drainIdleMs: number): Promise<ProxyHandle> {
  const c = proxyConfig({ upstreams: { origin: [origin.port] }, server: { timeouts: { drainIdleMs } } });
  return startProxy(c);
}

function connectionHeader(raw: RawClient, index: number): Promise<string | undefined> {
  return raw.responses(index + 1).then((all) => all[index]!.get('connection'));
}

test('a request sent on an idle keep-alive connection after the drain started is answered, with connection: close', async () => {
  const p = await start(WINDOW_MS);
  const c = await RawClient.connect(p.port);
  try {
    c.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await connectionHeader(c, 0), undefined, 'keep-alive before the drain');
    const drained = p.app.drain(5000);
    await sleep(50);
    assert.equal(c.closed, false, 'the idle connection is still open inside the window');
    c.write('GET /second HTTP/1.1\r\nHost: a\r\n\r\n');
    const [, second] = await c.responses(2);
    assert.equal(second!.statusLine, 'HTTP/1.1 200 OK');
    assert.equal(second!.get('connection'), 'close');
    assert.equal(await c.waitClosed(1000), true, 'closed after the response that announced it');
    await drained;
    assert.equal(origin.requests.filter((r) => r.url === '/second').length, 1);
  } finally {
    c.destroy();
    await p.close();
  }
});

test('a response in flight when the drain starts announces the close; an idle connection closes when the window ends', async () => {
  const p = await start(WINDOW_MS);
  const busy = await RawClient.connect(p.port);
  const idle = await RawClient.connect(p.port);
  try {
    idle.write('GET /warm HTTP/1.1\r\nHost: a\r\n\r\n');
    await idle.responses(1);
    busy.write('GET /delay/200 HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(50);
    const t0 = performance.now();
    const drained = p.app.drain(5000);
    assert.equal(await connectionHeader(busy, 0), 'close');
    assert.equal(await busy.waitClosed(1000), true);
    assert.equal(await idle.waitClosed(WINDOW_MS + 1000), true, 'the idle connection closes at the end of the window');
    const idleClosedAfterMs = idle.closedAt - t0;
    assert.ok(idleClosedAfterMs >= WINDOW_MS - 50, `closed ${Math.round(idleClosedAfterMs)} ms into a ${WINDOW_MS} ms window`);
    await drained;
    assert.ok(performance.now() - t0 < WINDOW_MS + 1000, 'the drain ends with the window, not at its deadline');
  } finally {
    busy.destroy();
    idle.destroy();
    await p.close();
  }
});

test('drainIdleMs 0 closes idle keep-alive connections at once', async () => {
  const p = await start(0);
  const c = await RawClient.connect(p.port);
  try {
    c.write('GET /warm HTTP/1.1\r\nHost: a\r\n\r\n');
    await c.responses(1);
    const drained = p.app.drain(5000);
    assert.equal(await c.waitClosed(300), true);
    await drained;
  } finally {
    c.destroy();
    await p.close();
  }
});
