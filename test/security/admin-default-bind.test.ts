/**
 * The admin API (reload, stop, the running config) listens on loopback
 * unless the config says otherwise: checked on the socket the kernel holds
 * for a real `zproxy start`, not on the config object.
 *
 * Proved elsewhere, not repeated: the schema default and the embedded
 * default config put admin on 127.0.0.1:9901 (test/config/load-config.test.ts
 * "fills every default", test/config/examples.test.ts "the embedded default
 * ..."); a non-loopback admin without a token is refused at load
 * (test/config/load-config.test.ts "requires an admin token ...") and by the
 * CLI, and with a token every endpoint answers 401 without it
 * (test/actors/admin/admin-token.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { baseConfig, startCli, type CliProxy } from '../actors/metrics/fixtures/zproxy-cli.js';

interface ListeningSocket { address: string; port: number }

/** "0100007F:1F90" (little-endian IPv4 hex : port hex) -> 127.0.0.1:8080; IPv6 kept as hex. */
function decodeAddress(field: string): ListeningSocket {
  const [hex, portHex] = field.split(':') as [string, string];
  const address = hex.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.') : hex;
  return { address, port: parseInt(portHex, 16) };
}

/** The TCP sockets in LISTEN state (st 0A) that process `pid` holds, from /proc/net/tcp{,6}. */
function listeningSockets(pid: number): ListeningSocket[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const out: ListeningSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9]!)) continue;
      out.push(decodeAddress(cols[1]!));
    }
  }
  return out;
}

describe('admin API bind address by default', { timeout: 60_000 }, () => {
  let proxy: CliProxy;

  before(async () => {
    // No address: the schema default applies. Port 0 only so the test runs beside others.
    proxy = await startCli({ ...baseConfig({ upstreams: { app: { hosts: ['127.0.0.1:9'] } }, routes: [{ path: '/*', upstream: 'app' }] }), admin: { enabled: true, port: 0 } }, ['--workers=1']);
  });

  after(async () => {
    await proxy?.stop();
  });

  test('an admin block without an address listens on 127.0.0.1 only', () => {
    const adminPort = Number(new URL(proxy.admin).port);
    const sockets = listeningSockets(proxy.child.pid!);
    const admin = sockets.filter((s) => s.port === adminPort);
    assert.deepEqual(admin, [{ address: '127.0.0.1', port: adminPort }], JSON.stringify(sockets));
  });

  test('no socket of the proxy listens on a wildcard address', () => {
    const sockets = listeningSockets(proxy.child.pid!);
    assert.ok(sockets.length >= 2, `expected the listener and the admin API: ${JSON.stringify(sockets)}`);
    for (const s of sockets) assert.equal(s.address, '127.0.0.1', JSON.stringify(sockets));
  });
});
