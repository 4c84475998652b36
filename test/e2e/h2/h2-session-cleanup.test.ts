/**
 * No HTTP/2 session outlives its use: a client that sends GOAWAY while one
 * of its request streams is still open on its side (a CONNECT, HEADERS
 * without END_STREAM, already answered 501 by the proxy) and then goes
 * silent with the TCP connection open gets its connection closed, and the
 * session is gone from the proxy's count. (node:http2 handles this case
 * itself; H2SessionActor.checkSessions is the net under the rarer ones,
 * and its counter, h2ClosingSessionsDestroyed, stays 0 here.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, type ProxyHandle } from '../harness/start-proxy.js';
import { proxyConfig } from '../harness/config-json.js';
import { startRecordingOrigin, type RecordingOrigin } from '../harness/recording-origin.js';
import { ERROR, FRAME, FrameReader, PREFACE, frame, hpackBlock, settings } from './raw-h2-frames.js';

let origin: RecordingOrigin;
let proxy: ProxyHandle;

before(async () => {
  origin = await startRecordingOrigin();
  const cfg = proxyConfig({ upstreams: { app: [origin.port] } });
  (cfg.listeners as Array<Record<string, unknown>>)[0]!.protocols = ['h2c', 'http1'];
  proxy = await startProxy(cfg);
});

after(async () => {
  await proxy?.close();
  await origin?.close();
});

function h2Stats(): { h2Sessions: number; h2ClosingSessionsDestroyed: number } {
  return proxy.stats() as unknown as { h2Sessions: number; h2ClosingSessionsDestroyed: number };
}

test('a session closing with a half-open stream and a silent client is closed and forgotten', { timeout: 20_000 }, async (t) => {
  const sock = net.connect(proxy.port, '127.0.0.1');
  sock.on('error', () => { /* the proxy closes us */ });
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  const reader = new FrameReader();
  sock.on('data', (c: Buffer) => reader.push(c));
  const closed = new Promise<number>((resolve) => sock.once('close', () => resolve(performance.now())));
  // A CONNECT (no END_STREAM, as CONNECT streams are): answered 501 at once, our side of the stream ends,
  // the client's side stays open.
  const connect = hpackBlock([[':method', 'CONNECT'], [':authority', 'localhost:443']]);
  sock.write(Buffer.concat([PREFACE, settings(), frame(FRAME.HEADERS, 0x4 /* END_HEADERS */, 1, connect)]));
  const deadline = performance.now() + 5000;
  while (!reader.frames.some((f) => f.type === FRAME.HEADERS && f.streamId === 1) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(reader.frames.some((f) => f.type === FRAME.HEADERS && f.streamId === 1), 'the request was answered');
  const goaway = Buffer.alloc(8);
  goaway.writeUInt32BE(1, 0);
  goaway.writeUInt32BE(ERROR.NO_ERROR, 4);
  const sentAt = performance.now();
  sock.write(frame(FRAME.GOAWAY, 0, 0, goaway));
  // From here the client says nothing and keeps the connection open.
  const closedAt = await closed;
  t.diagnostic(`session closed ${Math.round(closedAt - sentAt)} ms after the client's GOAWAY; h2 stats ${JSON.stringify(h2Stats())}`);
  assert.equal(h2Stats().h2Sessions, 0);
  assert.equal(h2Stats().h2ClosingSessionsDestroyed, 0, 'node closed it itself; the safety net had nothing to do');
});
