/**
 * deploy/systemd/zproxy.service: `systemd-analyze verify` accepts it where
 * systemd is installed; its keys (always checked, with a small parser of the
 * unit file syntax) give reload by SIGHUP, a drain that fits TimeoutStopSec,
 * and the hardening the README promises; and the unit's own ExecReload
 * command and KillSignal, sent to a real zproxy, reload it and stop it with
 * exit status 0.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT_PATH = join(ROOT, 'deploy/systemd/zproxy.service');
const UNIT_TEXT = readFileSync(UNIT_PATH, 'utf8');

/** Section -> key -> every value assigned, in order (systemd list keys accumulate; an empty value resets). */
type Unit = Map<string, Map<string, string[]>>;

/** systemd.syntax(7), the part units use: [Section], Key=Value, # and ; comments. No line continuations here. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (line.endsWith('\\')) throw new Error(`line ${i + 1}: continuation lines are not expected in this unit`);
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      return;
    }
    const eq = line.indexOf('=');
    if (!section || eq <= 0) throw new Error(`line ${i + 1}: expected Key=Value inside a section, found '${line}'`);
    const key = line.slice(0, eq).trim();
    const values = section.get(key) ?? [];
    values.push(line.slice(eq + 1).trim());
    section.set(key, values);
  });
  return unit;
}

const unit = parseUnit(UNIT_TEXT);
const service = unit.get('Service')!;
/** The value in effect: the last assignment. */
const get = (key: string): string | undefined => service.get(key)?.at(-1);

/** systemd.time(7) seconds: "30", "30s", "1min 30s". */
function seconds(span: string): number {
  let total = 0;
  for (const m of span.matchAll(/(\d+)\s*(ms|s|sec|min|m|h)?/g)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n / 1000 : m[2] === 'min' || m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
  }
  return total;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const text = await r.text();
  return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

async function until<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('deploy/systemd/zproxy.service', () => {
  test('passes systemd-analyze verify, where systemd is installed', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'zproxy-unit-'));
    try {
      // verify insists the executables exist: point the unit at this machine's node.
      const path = join(dir, 'zproxy.service');
      writeFileSync(path, UNIT_TEXT.replaceAll('/usr/bin/node', process.execPath));
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8', timeout: 20_000 });
      if (r.error) {
        t.skip(`systemd-analyze not found (${(r.error as NodeJS.ErrnoException).code}): only the key checks ran`);
        return;
      }
      // Unknown keys and bad values are only warnings (exit 0): any line about our unit is a failure.
      const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('zproxy.service'));
      assert.deepEqual(complaints, []);
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is a simple service that reloads with SIGHUP, stops with SIGTERM and restarts on failure', () => {
    assert.equal(get('Type'), 'simple');
    assert.equal(get('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(get('KillSignal'), 'SIGTERM');
    assert.equal(get('KillMode'), 'mixed');
    assert.equal(get('Restart'), 'on-failure');
    assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
    assert.equal(unit.get('Install')!.get('WantedBy')?.[0], 'multi-user.target');
  });

  test('starts the runtime tree with an absolute node path, after validating the config', () => {
    const dir = get('WorkingDirectory')!;
    assert.equal(get('ExecStart'), `/usr/bin/node ${dir}/bin/zproxy.js start -c /etc/zproxy/zproxy.json --workers=auto`);
    assert.equal(get('ExecStartPre'), `/usr/bin/node ${dir}/bin/zproxy.js validate -c /etc/zproxy/zproxy.json`);
    assert.equal(get('User'), 'zproxy');
  });

  test('TimeoutStopSec outlasts the default and the container drain plus zproxy\'s 5 s stop guard', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'conf/zproxy.schema.json'), 'utf8'));
    const defaultDrainMs: number = schema.properties.server.properties.timeouts.properties.drainMs.default;
    const dockerDrainMs: number = JSON.parse(readFileSync(join(ROOT, 'deploy/docker/zproxy.json'), 'utf8')).server.timeouts.drainMs;
    // STOP_GUARD_MARGIN_MS in src/cli/start-command.ts: a stop ends at most 5 s after the drain deadline.
    const needS = Math.max(defaultDrainMs, dockerDrainMs) / 1000 + 5;
    assert.ok(seconds(get('TimeoutStopSec')!) > needS, `TimeoutStopSec=${get('TimeoutStopSec')} > ${needS} s`);
  });

  test('carries the hardening keys, no capabilities, a high descriptor limit and journal logging', () => {
    const expected: Record<string, string> = {
      NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectControlGroups: 'yes', RestrictSUIDSGID: 'yes',
      CapabilityBoundingSet: '', AmbientCapabilities: '', StandardOutput: 'journal', StandardError: 'journal',
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(get(key), value, key);
    assert.ok(get('ReadWritePaths')!.split(/\s+/).includes('/var/log/zproxy'));
    assert.ok(Number(get('LimitNOFILE')) >= 65536);
    // V8's JIT writes then executes code pages: node aborts under MemoryDenyWriteExecute.
    assert.notEqual(get('MemoryDenyWriteExecute'), 'yes');
  });

  test('its ExecReload reloads a running zproxy and its KillSignal drains it to exit 0', async (t) => {
    const [kill, ...killArgs] = get('ExecReload')!.split(' ');
    if (!existsSync(kill!)) {
      t.skip(`${kill} not found on this machine`);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'zproxy-unit-run-'));
    const adminPort = await freePort();
    const config = {
      server: { workers: 1, pinning: false, timeouts: { drainMs: 1000 } },
      listeners: [{ name: 'http', address: '127.0.0.1', port: 0 }],
      upstreams: { app: { hosts: ['127.0.0.1:9'] } },
      routes: [{ path: '/*', upstream: 'app' }],
      logging: { level: 'warn', access: { enabled: false } },
      admin: { enabled: true, address: '127.0.0.1', port: adminPort },
    };
    const configPath = join(dir, 'zproxy.json');
    writeFileSync(configPath, JSON.stringify(config));
    const child = spawn(process.execPath, [join(ROOT, 'bin/zproxy.js'), 'start', '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const admin = `http://127.0.0.1:${adminPort}`;
    try {
      await until('zproxy ready', 15_000, async () => ((await getJson(`${admin}/readyz`)).status === 200 ? true : undefined));
      assert.equal((await getJson(`${admin}/stats`)).body.generation, 1);

      execFileSync(kill!, killArgs.map((a) => a.replace('$MAINPID', String(child.pid))));
      const generation = await until('config generation 2', 5000, async () => {
        const g = (await getJson(`${admin}/stats`)).body.generation as number;
        return g === 2 ? g : undefined;
      });
      assert.equal(generation, 2);

      process.kill(child.pid!, get('KillSignal')!);
      const t0 = Date.now();
      const code = await exited;
      assert.equal(code, 0, stderr);
      assert.ok(Date.now() - t0 < seconds(get('TimeoutStopSec')!) * 1000);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
