/**
 * A WebSocket connection in the access log, through the real CLI: one line
 * when the tunnel closes, status 101, the bytes of the whole connection both
 * ways (handshake and frames) and its duration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startCli, tempDir, waitFor, writeJson } from '../cli/cli-process.js';
import { cliConfig, freePorts } from '../cli/cli-config.js';
import { closed, nextMessage, openClient, startWsOrigin } from './ws-harness.js';

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

test('a WebSocket connection logs status 101 with its bytes both ways and its duration', { timeout: 60_000 }, async () => {
  const origin = await startWsOrigin();
  const [listenerPort, adminPort] = await freePorts(2);
  const dir = tempDir('ws-log');
  const log = path.join(dir, 'access.log');
  const file = path.join(dir, 'zproxy.json');
  writeJson(file, cliConfig({
    listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { ws: origin.port }, routes: [{ name: 'chat', path: '/*', upstream: 'ws' }],
    access: { enabled: true, path: log, format: '$request_method $request_uri $status $bytes_sent $bytes_received $route $request_time' },
  }));
  let proxy: Awaited<ReturnType<typeof startCli>> | undefined;
  try {
    // Started inside the try: a start that fails must still close the origins, or the test process never exits.
    proxy = await startCli(file);
    const ws = await openClient(`ws://127.0.0.1:${listenerPort}/room/1`);
    const payload = Buffer.alloc(100_000, 7);
    ws.send(payload);
    assert.equal((await nextMessage(ws)).data.length, payload.length);
    await new Promise((r) => setTimeout(r, 300));
    const done = closed(ws);
    ws.close(1000, 'done');
    await done;
    await waitFor(() => readLines(log).length === 1, 5000, 'the websocket access line');
    const [method, uri, status, sent, received, route, seconds] = readLines(log)[0]!.split(' ');
    assert.deepEqual([method, uri, status, route], ['GET', '/room/1', '101', 'chat']);
    // Each way: the 100 000-byte frame (+ header, + mask from the client) and a close frame, plus the handshake.
    assert.ok(Number(sent) > 100_000 && Number(sent) < 101_000, `bytes_sent ${sent}`);
    assert.ok(Number(received) > 100_000 && Number(received) < 101_000, `bytes_received ${received}`);
    assert.ok(Number(seconds) >= 0.3, `request_time ${seconds} covers the whole connection`);
  } finally {
    await proxy?.kill();
    await origin.close();
  }
});
