import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { hasReusePort } from '../../../src/platform/node-features.js';
import { ReusePortMainAcceptor } from '../../../actors/acceptor/reuseport-acceptor.js';
import { acceptorScenarios } from '../fixtures/acceptor-scenarios.js';

describe('reuseport acceptor', { skip: hasReusePort() ? undefined : `SO_REUSEPORT needs Node >= 22.12 on Linux; this is ${process.version} on ${process.platform}` }, () => {
  acceptorScenarios('reuseport');

  test('the main thread reserves the port without listening: connections are refused until a worker listens', async () => {
    const acceptor = new ReusePortMainAcceptor();
    const [bound] = await acceptor.open([{ name: 'web', address: '127.0.0.1', port: 0, mode: 'http' }]);
    try {
      assert.ok(bound!.port > 0);
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(bound!.port, '127.0.0.1', () => resolve('connected'));
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      assert.equal(refused, 'ECONNREFUSED');
    } finally {
      await acceptor.close();
    }
  });
});
