import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { canTransferSockets, chooseAcceptor, hasReusePort, parseNodeVersion } from '../../src/platform/node-features.js';
import { ZproxyError } from '../../src/kernel/errors.js';

const v = parseNodeVersion;

describe('node features', () => {
  test('socket transfer needs Node 24', () => {
    assert.equal(canTransferSockets(v('20.20.2')), false);
    assert.equal(canTransferSockets(v('22.12.0')), false);
    assert.equal(canTransferSockets(v('24.21.0')), true);
    assert.equal(canTransferSockets(v('v26.10.0')), true);
  });
  test('reusePort needs 22.12 (or 23.1) on Linux', () => {
    assert.equal(hasReusePort(v('22.11.0'), 'linux'), false);
    assert.equal(hasReusePort(v('22.12.0'), 'linux'), true);
    assert.equal(hasReusePort(v('23.0.0'), 'linux'), false);
    assert.equal(hasReusePort(v('23.1.0'), 'linux'), true);
    assert.equal(hasReusePort(v('24.0.0'), 'darwin'), false);
    assert.equal(hasReusePort(v('20.20.2'), 'linux'), false);
  });
  test("'auto' picks handoff on 24, reuseport on 22.12, shared on 20", () => {
    assert.equal(chooseAcceptor('auto', v('24.21.0'), 'linux'), 'handoff');
    assert.equal(chooseAcceptor('auto', v('22.12.0'), 'linux'), 'reuseport');
    assert.equal(chooseAcceptor('auto', v('20.20.2'), 'linux'), 'shared');
  });
  test('a configured strategy this Node lacks is a typed error naming the Node it needs', () => {
    assert.throws(() => chooseAcceptor('handoff', v('20.20.2'), 'linux'), (err: unknown) => {
      assert.ok(err instanceof ZproxyError);
      assert.equal(err.code, 'runtime.acceptor-unsupported');
      assert.match(err.message, /Node >= 24/);
      assert.match(err.message, /20\.20\.2/);
      return true;
    });
    assert.throws(() => chooseAcceptor('reuseport', v('22.11.0'), 'linux'), /Node >= 22\.12/);
  });
  test('a configured strategy this Node has is kept', () => {
    assert.equal(chooseAcceptor('shared', v('24.21.0'), 'linux'), 'shared');
    assert.equal(chooseAcceptor('reuseport', v('24.21.0'), 'linux'), 'reuseport');
  });
});
