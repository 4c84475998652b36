import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { hasSharedListeners } from '../../../src/platform/node-features.js';
import { acceptorScenarios } from '../fixtures/acceptor-scenarios.js';
import { SharedMainAcceptor } from '../../../actors/acceptor/shared-acceptor.js';

describe('shared acceptor', { skip: hasSharedListeners() ? undefined : `the shared acceptor needs Unix fd passing; this is ${process.platform}` }, () => {
  acceptorScenarios('shared');

  test('the main thread holds a listening fd it never accepts on: connections queue until a worker takes them', async () => {
    const acceptor = new SharedMainAcceptor();
    const [bound] = await acceptor.open([{ name: 'web', address: '127.0.0.1', port: 0, mode: 'http' }]);
    try {
      const client = net.connect(bound!.port, '127.0.0.1');
      await once(client, 'connect'); // the kernel completed the handshake: the socket listens
      let answered = false;
      client.on('data', () => { answered = true; });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(answered, false);
      assert.equal(client.destroyed, false);
      client.destroy();
      assert.equal(acceptor.workerPlans()[0]!.kind, 'shared');
    } finally {
      await acceptor.close();
    }
  });
});
