/**
 * Fuzzed WebSocket upgrade requests through the real proxy to a real `ws`
 * origin, over raw sockets: bad, missing or repeated Sec-WebSocket-Key,
 * wrong or repeated versions, repeated or odd Upgrade/Connection fields,
 * upgrades with a body (by length or chunked), HTTP/1.0, other methods, and
 * random field lines or control bytes spliced in. Each request must get a
 * complete, well-formed HTTP answer (an error status, the origin's plain
 * answer, or a 101 whose Sec-WebSocket-Accept is right for the key sent and
 * whose tunnel echoes a frame) within a bound, never a silent close, a hang
 * or an internal error; a well-formed upgrade must get its 101. Meanwhile and
 * afterwards the proxy serves a normal request and a real WebSocket client,
 * and every connection is released.
 *
 * Seed: fixed for reproducible runs; FUZZ_SEED=<int> replays or explores.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { startProxy } from '../harness/start-proxy.js';
import { RawClient, parseResponses } from '../harness/raw-client.js';
import { closed, nextMessage, openClient, startWsOrigin, wsConfig } from './ws-harness.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 9_0304;
/** Each run is one connection (~10-50 ms here); 100 keeps the file well under 20 s on the shared box. */
const NUM_RUNS = 100;
const ANSWER_BOUND_MS = 4000;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const acceptFor = (key: string): string => createHash('sha1').update(key + WS_GUID).digest('base64');

/** Statuses a fuzzed upgrade may get: the origin's plain 200, ws's refusals, the proxy's parse/limit errors. */
const ALLOWED = new Set([101, 200, 400, 404, 405, 413, 414, 426, 431, 501, 505]);

interface UpgradeModel {
  method: string;
  minor: 0 | 1;
  upgrade: string[];
  connection: string[];
  keys: string[];
  versions: string[];
  body: 'none' | 'length' | 'chunked';
  extra: string[];
  splice: { at: number; s: string } | undefined;
}

const goodKey = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64'));
const badKey = fc.constantFrom('', 'abc', 'dGhlIHNhbXBsZSBub25jZQ', '!!!!!!!!!!!!!!!!!!!!!!==', 'dGhlIHNhbXBsZSBub25jZQ==x', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
const tokenish = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_'.split('')), minLength: 1, maxLength: 8 });
/** Mostly the valid value, sometimes a fuzzed one: so both the 101 path and the refusals are reached. */
const mostly = <T>(valid: T, fuzzed: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 3, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: fuzzed });
const model: fc.Arbitrary<UpgradeModel> = fc.record({
  method: mostly('GET', fc.constantFrom('POST', 'HEAD', 'OPTIONS', 'get')),
  minor: mostly<0 | 1>(1, fc.constant<0 | 1>(0)),
  upgrade: mostly(['websocket'], fc.array(fc.constantFrom('websocket', 'WebSocket', 'websocket, h2c', 'h2c', '', 'websocket/13'), { maxLength: 2 })),
  connection: mostly(['Upgrade'], fc.array(fc.constantFrom('Upgrade', 'upgrade', 'keep-alive, Upgrade', 'close', 'Upgrade, close', '', 'x-a'), { maxLength: 2 })),
  keys: fc.oneof({ weight: 3, arbitrary: goodKey.map((k) => [k]) }, { weight: 1, arbitrary: fc.array(fc.oneof(goodKey, badKey), { maxLength: 2 }) }),
  versions: mostly(['13'], fc.array(fc.constantFrom('13', '8', '12', 'abc', '', '13, 8'), { maxLength: 2 })),
  body: mostly<UpgradeModel['body']>('none', fc.constantFrom<UpgradeModel['body']>('length', 'chunked')),
  extra: mostly<string[]>([], fc.array(fc.oneof(
    fc.tuple(tokenish, tokenish).map(([n, v]) => `${n}: ${v}`),
    fc.constantFrom('Sec-WebSocket-Protocol: chat', 'Sec-WebSocket-Extensions: permessage-deflate', 'Origin: http://a', 'Expect: 100-continue', 'Content-Length: abc', 'Transfer-Encoding: gzip'),
  ), { minLength: 1, maxLength: 3 })),
  splice: mostly<UpgradeModel['splice']>(undefined, fc.record({ at: fc.nat(), s: fc.constantFrom('\r', '\n', '\x00', ' ', '\r\n ', '\x7f') })),
});

/** The request bytes, and whether it is the one shape that must be switched (101). */
function render(m: UpgradeModel): { text: string; mustSwitch: boolean } {
  const lines = [`${m.method} /ws HTTP/1.${m.minor}`, 'Host: ws.test'];
  for (const v of m.upgrade) lines.push(`Upgrade: ${v}`);
  for (const v of m.connection) lines.push(`Connection: ${v}`);
  for (const k of m.keys) lines.push(`Sec-WebSocket-Key: ${k}`);
  for (const v of m.versions) lines.push(`Sec-WebSocket-Version: ${v}`);
  lines.push(...m.extra);
  let body = '';
  if (m.body === 'length') { body = 'hello'; lines.push('Content-Length: 5'); }
  if (m.body === 'chunked') { body = '5\r\nhello\r\n0\r\n\r\n'; lines.push('Transfer-Encoding: chunked'); }
  let head = lines.join('\r\n') + '\r\n\r\n';
  if (m.splice !== undefined) {
    // Only inside the field lines, so the head stays terminated and the answer is never "wait for more".
    const from = lines[0]!.length + 2;
    const at = from + (m.splice.at % (head.length - 4 - from));
    head = head.slice(0, at) + m.splice.s + head.slice(at);
  }
  const mustSwitch = m.method === 'GET' && m.minor === 1 && m.splice === undefined && m.body === 'none' && m.extra.length === 0 &&
    m.upgrade.length === 1 && m.upgrade[0]!.toLowerCase() === 'websocket' &&
    m.connection.length === 1 && /(^|, )upgrade$/i.test(m.connection[0]!) &&
    m.keys.length === 1 && Buffer.from(m.keys[0]!, 'base64').length === 16 && /^[A-Za-z0-9+/]{22}==$/.test(m.keys[0]!) &&
    m.versions.length === 1 && m.versions[0] === '13';
  return { text: head + body, mustSwitch };
}

/** A masked client text frame (RFC 6455 5.3), payload < 126 bytes. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Waits until `done(c)` or the client closes; false at the bound. */
async function waitUntil(c: RawClient, done: () => boolean, boundMs: number): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  while (!done() && !c.closed) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

describe('fuzzed WebSocket upgrades through the proxy', { timeout: 90_000 }, () => {
  test('every fuzzed upgrade gets a clean status or a correct 101; the proxy keeps serving and releases everything', async (t) => {
    t.diagnostic(`fast-check seed ${SEED} (FUZZ_SEED overrides)`);
    const origin = await startWsOrigin();
    const proxy = await startProxy(wsConfig(origin.port, { server: { timeouts: { headerMs: 3000 } } }));
    const internalErrors: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => { if (w.code === 'ZPROXY_INTERNAL') internalErrors.push(w.message); };
    process.on('warning', onWarning);
    const statuses = new Map<number, number>();
    const clients: RawClient[] = [];
    const normalRequestServed = async (): Promise<void> => {
      const c = await RawClient.connect(proxy.port);
      clients.push(c);
      c.write('GET /plain HTTP/1.1\r\nHost: ws.test\r\n\r\n');
      const [r] = await c.responses(1, ['GET'], ANSWER_BOUND_MS);
      assert.equal(r!.status, 200);
      assert.equal(r!.body.toString(), 'not a websocket request');
      c.destroy();
    };
    try {
      let run = 0;
      await fc.assert(fc.asyncProperty(model, async (m) => {
        const { text, mustSwitch } = render(m);
        const c = await RawClient.connect(proxy.port);
        clients.push(c);
        try {
          c.write(text);
          const headEnd = (): number => c.received.indexOf('\r\n\r\n');
          assert.ok(await waitUntil(c, () => headEnd() >= 0, ANSWER_BOUND_MS), `no answer within ${ANSWER_BOUND_MS} ms to ${JSON.stringify(text)}`);
          assert.ok(headEnd() >= 0, `closed without an answer to ${JSON.stringify(text)}: ${JSON.stringify(c.received.toString('latin1'))}`);
          const head = c.received.toString('latin1', 0, headEnd());
          const first = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
          if (first === 101) {
            statuses.set(101, (statuses.get(101) ?? 0) + 1);
            // Only one valid key can have been switched; the accept must be the one for it.
            const key = m.keys[0]!;
            assert.match(head, new RegExp(`\\r\\nsec-websocket-accept: ${acceptFor(key).replace(/[+/]/g, '\\$&')}(\\r\\n|$)`, 'i'));
            assert.match(head, /\r\nupgrade: websocket(\r\n|$)/i);
            // With a body, what the body bytes mean after the switch is the origin's business (ws reads
            // them as frames and closes 1002); the proxy only has to pass them on, so no echo is expected.
          }
          if (first === 101 && m.body === 'none') {
            const echo = `echo ${run}`;
            const before = headEnd() + 4;
            c.write(clientFrame(echo));
            const expected = Buffer.concat([Buffer.from([0x81, echo.length]), Buffer.from(echo)]);
            await waitUntil(c, () => c.received.length >= before + expected.length, ANSWER_BOUND_MS);
            assert.deepEqual(c.received.subarray(before, before + expected.length), expected, 'the tunnel did not echo the frame');
          } else if (first !== 101) {
            // Any other answer (after a 100 Continue, maybe) is complete and well-formed; the parser throws on garbage.
            await waitUntil(c, () => parseResponses(c.received, [m.method], c.closed).length >= 1, ANSWER_BOUND_MS);
            const [r] = parseResponses(c.received, [m.method], c.closed);
            assert.ok(r !== undefined, `incomplete answer ${JSON.stringify(c.received.toString('latin1'))} to ${JSON.stringify(text)}`);
            assert.ok(ALLOWED.has(r.status), `status line ${JSON.stringify(r.statusLine)} for ${JSON.stringify(text)}`);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          }
          if (mustSwitch) assert.equal(first, 101, `a well-formed upgrade was answered ${first}`);
        } finally {
          c.destroy();
        }
        if (++run % 25 === 0) await normalRequestServed();
      }), { seed: SEED, numRuns: NUM_RUNS, includeErrorInReport: true });
      t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
      assert.ok((statuses.get(101) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 400), 'the fuzz no longer reaches both a 101 and an error');

      await normalRequestServed();
      const ws = await openClient(`ws://127.0.0.1:${proxy.port}/after`);
      ws.send('still here');
      assert.equal((await nextMessage(ws)).data.toString(), 'still here');
      ws.close();
      await closed(ws);

      for (let i = 0; i < 300 && (proxy.stats().connections > 0 || proxy.upstream('ws').active > 0); i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(proxy.stats().connections, 0, 'client connections left open on the proxy');
      assert.equal(proxy.upstream('ws').active, 0, 'upstream legs left open');
      assert.deepEqual(internalErrors, []);
    } finally {
      process.off('warning', onWarning);
      for (const c of clients) c.destroy();
      await proxy.close();
      await origin.close();
    }
  });
});
