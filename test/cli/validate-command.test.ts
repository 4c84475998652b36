import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runValidate, VALIDATE_USAGE, type CommandIo } from '../../src/cli/validate-command.js';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default-config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FULL = join(ROOT, 'conf/examples/full.json');
const BIN = join(ROOT, 'bin/zproxy.js');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

async function validate(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const status = await runValidate(argv, io);
  return { status, stdout, stderr };
}

function withConfigFile(config: unknown, body: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'zproxy-validate-'));
  const file = join(dir, 'zproxy.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return body(file).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('prints ok with counts and exits 0 for a valid file', async () => {
  for (const argv of [['-c', FULL], [`--config=${FULL}`], [FULL]]) {
    const run = await validate(argv);
    assert.equal(run.status, 0);
    assert.equal(run.stdout, `${FULL}: ok (3 listeners, 4 upstreams, 4 routes)\n`);
  }
});

test('every middleware type in the full example is available: no warnings', async () => {
  const run = await validate(['-c', FULL]);
  assert.equal(run.status, 0);
  assert.equal(run.stderr, '');
});

test('validates the embedded default without -c', async () => {
  assert.deepEqual(await validate([]), { status: 0, stdout: `${DEFAULT_CONFIG_PATH}: ok (1 listener, 1 upstream, 1 route)\n`, stderr: '' });
});

test('prints every problem on stderr and exits 1 for an invalid file', async () => {
  const config = {
    listeners: [{ name: 'http', port: 70000 }],
    upstreams: { api: { hosts: ['127.0.0.1:3000'], strategy: 'round-robbin' } },
    routes: [{ path: '/*', upstream: 'api' }],
  };
  await withConfigFile(config, async (file) => {
    assert.deepEqual(await validate(['-c', file]), {
      status: 1,
      stdout: '',
      stderr:
        `${file}: /listeners/0/port: must be an integer from 0 to 65535, got 70000\n` +
        `${file}: /upstreams/api/strategy: "round-robbin" is not one of round-robin, first, least-connections, host, sni (did you mean "round-robin"?)\n`,
    });
  });
});

test('reports a reference error, a syntax error and a missing variable with exit 1', async () => {
  const dangling = { listeners: [{ name: 'http', port: 8080 }], upstreams: { api: { hosts: ['127.0.0.1:3000'] } }, routes: [{ path: '/*', upstream: 'web' }] };
  await withConfigFile(dangling, async (file) => {
    assert.deepEqual(await validate(['-c', file]), { status: 1, stdout: '', stderr: `${file}: /routes/0/upstream: upstream "web" is not defined in /upstreams (defined: api)\n` });
  });
  await withConfigFile('{\n  "listeners": [\n', async (file) => {
    assert.deepEqual(await validate(['-c', file]), { status: 1, stdout: '', stderr: `${file}: invalid JSON at line 3, column 1: unexpected end of input, expected a value\n` });
  });
  const needsEnv = { listeners: [{ name: 'http', port: '${PORT}' }], upstreams: { api: { hosts: ['127.0.0.1:3000'] } } };
  await withConfigFile(needsEnv, async (file) => {
    assert.deepEqual(await validate(['-c', file]), { status: 1, stdout: '', stderr: `${file}: /listeners/0/port: environment variable PORT is not set (set it, or write \${PORT:-default})\n` });
    assert.deepEqual(await validate(['-c', file], { PORT: '8088' }), { status: 0, stdout: `${file}: ok (1 listener, 1 upstream, 0 routes)\n`, stderr: '' });
  });
});

test('reports an unreadable file with exit 1 and no stack trace', async () => {
  const missing = join(tmpdir(), 'zproxy-no-such-config.json');
  assert.deepEqual(await validate(['-c', missing]), { status: 1, stdout: '', stderr: `${missing}: cannot read the config file: no such file\n` });
});

test('exits 2 on usage errors', async () => {
  assert.deepEqual(await validate(['--bogus']), { status: 2, stdout: '', stderr: "zproxy validate: unknown option --bogus\nTry 'zproxy validate --help'.\n" });
  assert.deepEqual(await validate(['-c']), { status: 2, stdout: '', stderr: "zproxy validate: -c needs a file argument\nTry 'zproxy validate --help'.\n" });
  assert.deepEqual(await validate(['-c', '--print']), { status: 2, stdout: '', stderr: "zproxy validate: -c needs a file argument\nTry 'zproxy validate --help'.\n" });
  assert.deepEqual(await validate(['a.json', 'b.json']), { status: 2, stdout: '', stderr: "zproxy validate: only one config file can be validated at a time\nTry 'zproxy validate --help'.\n" });
});

test('prints help and exits 0', async () => {
  const run = await validate(['--help']);
  assert.deepEqual(run, { status: 0, stdout: VALIDATE_USAGE, stderr: '' });
  assert.match(VALIDATE_USAGE, /^Usage: zproxy validate \[-c FILE\] \[--print\]\n/);
  assert.match(VALIDATE_USAGE, /Exit status: 0 valid, 1 invalid, 2 usage error\./);
});

test('--print shows the effective config with secrets redacted', async () => {
  const config = {
    listeners: [{ name: 'http', port: 8080 }],
    upstreams: { api: { hosts: ['127.0.0.1:3000'] } },
    middleware: { auth: { type: 'api-key', keys: [{ name: 'app', key: 'super-secret' }] } },
    admin: { address: '0.0.0.0', token: 'admin-secret' },
  };
  await withConfigFile(config, async (file) => {
    const run = await validate(['-c', file, '--print']);
    assert.equal(run.status, 0);
    const [okLine, ...rest] = run.stdout.split('\n');
    assert.equal(okLine, `${file}: ok (1 listener, 1 upstream, 0 routes)`);
    const printed = JSON.parse(rest.join('\n'));
    assert.equal(printed.admin.token, '[redacted]');
    assert.deepEqual(printed.middleware.auth.keys, [{ name: 'app', key: '[redacted]' }]);
    assert.equal(printed.server.timeouts.headerMs, 10000);
    assert.ok(!run.stdout.includes('super-secret') && !run.stdout.includes('admin-secret'));
  });
});

test('bin/zproxy.js dispatches validate to this command', { skip: existsSync(BIN) ? false : 'bin/zproxy.js is not there yet' }, () => {
  const ok = spawnSync(process.execPath, [BIN, 'validate', '-c', FULL], { encoding: 'utf8', timeout: 15000 });
  assert.equal(ok.status, 0);
  assert.equal(ok.stdout, `${FULL}: ok (3 listeners, 4 upstreams, 4 routes)\n`);
  const usage = spawnSync(process.execPath, [BIN, 'validate', '--bogus'], { encoding: 'utf8', timeout: 15000 });
  assert.equal(usage.status, 2);
  assert.ok(!usage.stderr.includes('    at '), 'no stack trace');
});
