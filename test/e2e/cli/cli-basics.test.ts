import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runCli, startCli, tempDir, writeJson } from './cli-process.js';
import { cliConfig, freePorts, startOrigin } from './cli-config.js';

const pkg = JSON.parse(fs.readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };

// Every test starts a real proxy; a hang must fail the test, not the run.
describe('zproxy command line', { timeout: 60_000 }, () => {
  test('--version prints the version and the node it runs on', async () => {
    const r = await runCli(['--version']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `zproxy ${pkg.version} (node ${process.version})\n`, '']);
  });

  test('--help of every command prints its usage and exits 0', async () => {
    for (const command of ['start', 'validate', 'reload', 'stop', 'top']) {
      const r = await runCli([command, '--help']);
      assert.equal(r.code, 0, `${command} --help`);
      assert.ok(r.stdout.startsWith(`Usage: zproxy ${command} `), `${command}: ${r.stdout.slice(0, 60)}`);
      assert.equal(r.stderr, '');
    }
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /^Usage: zproxy <command> \[options\]\n/);
  });

  test('an unknown command or option is a usage error: exit 2', async () => {
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.ok(unknown.stderr.startsWith("zproxy: unknown command 'frobnicate'\n"), unknown.stderr);
    const badOption = await runCli(['start', '--no-such-option']);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /^zproxy: Unknown option '--no-such-option'/);
  });

  test('start on a port in use: one line naming the address and the fix, exit 1; --debug adds the stack', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const [adminPort] = await freePorts(1);
    const dir = tempDir('basics');
    const file = path.join(dir, 'zproxy.json');
    writeJson(file, cliConfig({ listenerPort: taken, adminPort: adminPort!, upstreams: { a: 9 }, routes: [{ path: '/*', upstream: 'a' }] }));
    try {
      const r = await runCli(['start', '-c', file, '--workers=2']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `zproxy: 127.0.0.1:${taken} (listener 'web') is already in use by another process; stop that process or change listeners[0].port in ${file}\n`);
      const debug = await runCli(['start', '-c', file, '--workers=2', '--debug']);
      assert.equal(debug.code, 1);
      const lines = debug.stderr.split('\n');
      assert.equal(lines[0], `zproxy: 127.0.0.1:${taken} (listener 'web') is already in use by another process; stop that process or change listeners[0].port in ${file}`);
      assert.ok(lines.some((l) => /^\s+at /.test(l)), debug.stderr);
    } finally {
      blocker.close();
    }
  });

  test('start with a missing certificate file: one line with its JSON path and the fix, exit 1', async () => {
    const dir = tempDir('basics');
    const file = path.join(dir, 'zproxy.json');
    const keyFile = path.join(dir, 'key.pem');
    fs.writeFileSync(keyFile, 'not really a key');
    const [listenerPort, adminPort] = await freePorts(2);
    const config = cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: 9 }, routes: [{ path: '/*', upstream: 'a' }] });
    (config.listeners as Array<Record<string, unknown>>)[0]!.tls = { certificates: [{ serverNames: ['localhost'], certFile: 'missing.crt', keyFile: 'key.pem' }] };
    writeJson(file, config);
    const r = await runCli(['start', '-c', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `zproxy: ${file}: /listeners/0/tls/certificates/0/certFile: cannot read ${path.join(dir, 'missing.crt')}: no such file (fix the path at /listeners/0/tls/certificates/0/certFile or make the file readable)\n`);
  });

  test('start with a config that cannot be read: one line with the cause and the fix, exit 1', async () => {
    const dir = tempDir('basics');
    const missing = path.join(dir, 'nope.json');
    const r = await runCli(['start', '-c', missing]);
    assert.deepEqual([r.code, r.stderr], [1, `zproxy: cannot read the config file ${missing}: no such file; pass an existing, readable file with -c (examples in conf/examples/)\n`]);
    const folder = await runCli(['start', '-c', dir]);
    assert.deepEqual([folder.code, folder.stderr], [1, `zproxy: cannot read the config file ${dir}: is a directory; pass an existing, readable file with -c (examples in conf/examples/)\n`]);
  });

  test('top --once prints one row per worker of a running proxy', async () => {
    const origin = await startOrigin('a');
    const [listenerPort, adminPort] = await freePorts(2);
    const dir = tempDir('top');
    const file = path.join(dir, 'zproxy.json');
    writeJson(file, cliConfig({ listenerPort: listenerPort!, adminPort: adminPort!, upstreams: { a: origin.port }, routes: [{ path: '/*', upstream: 'a' }] }));
    const proxy = await startCli(file);
    try {
      const r = await runCli(['top', '--once', '-c', file]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      // The worker table: a header starting WORKER (or WK), then one row per worker up to a blank line.
      const header = lines.findIndex((l) => /^\s*(WORKER|WK)\s/.test(l));
      assert.ok(header >= 0, r.stdout);
      const end = lines.indexOf('', header);
      const rows = lines.slice(header + 1, end < 0 ? undefined : end);
      assert.deepEqual(rows.map((l) => Number(l.trim().split(/\s+/)[0])), [0, 1], r.stdout);
      for (const row of rows) assert.match(row, /\bready\b/);
    } finally {
      await proxy.kill();
      await origin.close();
    }
  });
});
