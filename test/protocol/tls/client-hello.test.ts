/**
 * The ClientHello reader against real ClientHellos (captured from node's TLS
 * client into a plain TCP server), split at every byte and re-framed over
 * many records, plus malformed input and a property test on random bytes.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { captureHello } from './capture-hello.js';
import { MAX_CLIENT_HELLO_BYTES, MAX_CLIENT_HELLO_RECORDS, readClientHello } from '../../../src/protocol/tls/client-hello.js';

/** The handshake message of a single-record hello, re-framed into records of `size` payload bytes. */
function reframe(hello: Buffer, size: number): Buffer {
  const message = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let off = 0; off < message.length; off += size) {
    const part = message.subarray(off, Math.min(message.length, off + size));
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    out.push(header, part);
  }
  return Buffer.concat(out);
}

let withSni: Buffer;
let noSni: Buffer;
let tls12: Buffer;

before(async () => {
  withSni = await captureHello({ servername: 'A.Example.test', ALPNProtocols: ['h2', 'http/1.1'] });
  noSni = await captureHello({ servername: '' });
  tls12 = await captureHello({ servername: 'old.example.test', maxVersion: 'TLSv1.2' });
});

describe('readClientHello', () => {
  test('reads the server name (lowercased) and the ALPN list from a real TLS 1.3 ClientHello', () => {
    assert.deepEqual(readClientHello(withSni), { kind: 'hello', serverName: 'a.example.test', alpn: ['h2', 'http/1.1'] });
  });

  test('reads a TLS 1.2-only ClientHello', () => {
    assert.deepEqual(readClientHello(tls12), { kind: 'hello', serverName: 'old.example.test', alpn: undefined });
  });

  test('a ClientHello without server_name gives no server name', () => {
    const r = readClientHello(noSni);
    assert.equal(r.kind, 'hello');
    assert.equal(r.kind === 'hello' ? r.serverName : 'x', undefined);
  });

  test('every proper prefix of a real ClientHello needs more bytes; the whole answers', () => {
    for (let i = 0; i < withSni.length; i++) assert.deepEqual(readClientHello(withSni.subarray(0, i)), { kind: 'need-more' }, `prefix of ${i} bytes`);
    assert.equal(readClientHello(withSni).kind, 'hello');
  });

  test('a ClientHello spanning several records is reassembled, split at every byte too', () => {
    for (const size of [1000, 256, 97]) {
      const framed = reframe(withSni, size);
      assert.deepEqual(readClientHello(framed), { kind: 'hello', serverName: 'a.example.test', alpn: ['h2', 'http/1.1'] }, `records of ${size} bytes`);
    }
    const framed = reframe(withSni, 97);
    for (let i = 0; i < framed.length; i++) assert.equal(readClientHello(framed.subarray(0, i)).kind, 'need-more', `prefix of ${i} bytes`);
  });

  test('bytes after the ClientHello (the client\'s next record) do not change the answer', () => {
    const r = readClientHello(Buffer.concat([withSni, Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01])]));
    assert.equal(r.kind === 'hello' ? r.serverName : r.kind, 'a.example.test');
  });

  test('plain HTTP on a passthrough port is malformed at the first byte', () => {
    assert.equal(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'malformed');
    assert.equal(readClientHello(Buffer.from('G')).kind, 'malformed');
  });

  test('a handshake message other than ClientHello is malformed', () => {
    const b = Buffer.from(withSni);
    b[5] = 0x02; // ServerHello
    assert.equal(readClientHello(b).kind, 'malformed');
  });

  test('an extension length running past the message is malformed, not an exception', () => {
    // Corrupt the extensions-block length (it sits right after compression methods).
    const b = Buffer.from(withSni);
    const sessionIdLen = b[5 + 4 + 34]!;
    const suitesAt = 5 + 4 + 35 + sessionIdLen;
    const compAt = suitesAt + 2 + b.readUInt16BE(suitesAt);
    const extAt = compAt + 1 + b[compAt]!;
    b.writeUInt16BE(b.readUInt16BE(extAt) + 1, extAt);
    assert.equal(readClientHello(b).kind, 'malformed');
  });

  test('a declared ClientHello larger than the limit is refused before its bytes arrive', () => {
    const big = Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x01]); // 65537-byte handshake
    assert.equal(MAX_CLIENT_HELLO_BYTES < 65537, true);
    assert.deepEqual(readClientHello(big), { kind: 'malformed', reason: 'ClientHello larger than the limit' });
  });

  test('a ClientHello cut into more records than the limit is malformed', () => {
    const framed = reframe(withSni, Math.floor((withSni.length - 5) / (MAX_CLIENT_HELLO_RECORDS + 2)));
    assert.deepEqual(readClientHello(framed), { kind: 'malformed', reason: 'ClientHello split into too many records' });
  });

  test('random bytes never throw and always get one of the three answers', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      const r = readClientHello(bytes);
      return r.kind === 'need-more' || r.kind === 'hello' || r.kind === 'malformed';
    }), { numRuns: 2000 });
  });

  test('a real ClientHello with random bytes changed or cut never throws', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (edits, cut) => {
      const b = Buffer.from(withSni);
      for (const [at, v] of edits) b[at % b.length] = v;
      const r = readClientHello(b.subarray(0, cut % (b.length + 1)));
      return ['need-more', 'hello', 'malformed'].includes(r.kind);
    }), { numRuns: 3000 });
  });

  test('record-shaped random input is answered (hello or malformed) once past the bound, never left waiting', () => {
    // Handshake records with random lengths and payloads; past this many bytes the reader must decide.
    const bound = 4 + MAX_CLIENT_HELLO_BYTES + 5 * MAX_CLIENT_HELLO_RECORDS + 16384;
    const record = fc.tuple(fc.integer({ min: 1, max: 16384 }), fc.integer({ min: 0, max: 255 })).map(([len, fill]) => {
      const r = Buffer.alloc(5 + len, fill);
      r[0] = 0x16; r[1] = 0x03; r[2] = 0x01; r.writeUInt16BE(len, 3);
      return r;
    });
    const start = fc.tuple(fc.integer({ min: 0, max: 0xffffff })).map(([hsLen]) => Buffer.from([0x01, hsLen >> 16, (hsLen >> 8) & 0xff, hsLen & 0xff]));
    fc.assert(fc.property(start, fc.array(record, { minLength: 1, maxLength: 40 }), (hsHeader, records) => {
      const first = records[0]!;
      hsHeader.copy(first, 5, 0, Math.min(4, first.length - 5));
      let all = Buffer.concat(records);
      if (all.length < bound) all = Buffer.concat([all, Buffer.alloc(bound - all.length, 0x16)]);
      const r = readClientHello(all);
      return r.kind === 'hello' || r.kind === 'malformed';
    }), { numRuns: 200 });
  });
});
