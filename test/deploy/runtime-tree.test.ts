/**
 * The Docker image's build steps, run outside Docker: a build context made
 * of exactly what .dockerignore lets through, then
 * scripts/build-runtime-tree.sh (the script the Dockerfile's build stage
 * runs) into a temporary folder. The tree must hold the layout the Dockerfile
 * copies and starts, production dependencies only, and must run: validate the
 * shipped configs, serve a request through the demo upstream, answer the
 * image's HEALTHCHECK command, and drain to exit 0 on SIGTERM.
 * Offline: the script copies this checkout's node_modules and prunes it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'scripts/build-runtime-tree.sh';
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, '');
const DOCKER_CONFIG = JSON.parse(readFileSync(join(ROOT, 'deploy/docker/zproxy.json'), 'utf8'));
/** What `docker build` sends: the "!path" lines of the allow-list .dockerignore. */
const ALLOWED = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
const TOKEN = 'runtime-tree-token';

let work: string;
let tree: string;
let build: SpawnSyncReturns<string>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** Runs node with args from the tree; resolves with the exit code and output. */
function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The environment without an admin token, whatever the machine running the tests has set. */
function envWithout(): NodeJS.ProcessEnv {
  const { ZPROXY_ADMIN_TOKEN: _unused, ...rest } = process.env;
  return rest;
}

/** The JSON exec form of a Dockerfile instruction (`ENTRYPOINT [...]`), continuation lines joined. */
function execForm(instruction: string): string[] {
  const m = new RegExp(`^${instruction} .*?(\\[.*\\])$`, 'm').exec(DOCKERFILE);
  assert.ok(m, `${instruction} in exec form`);
  return JSON.parse(m[1]!) as string[];
}

describe('runtime tree from scripts/build-runtime-tree.sh', () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'zproxy-tree-'));
    const context = join(work, 'context');
    for (const path of ALLOWED) {
      mkdirSync(dirname(join(context, path)), { recursive: true });
      cpSync(join(ROOT, path), join(context, path), { recursive: true });
    }
    // The Dockerfile's `npm ci` result; the script copies what the link points at.
    symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'));
    tree = join(work, 'tree');
    build = spawnSync('bash', [join(context, SCRIPT), tree], { encoding: 'utf8', timeout: 120_000 });
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the Docker build context holds every file the Dockerfile and the build script read', () => {
    const allowed = (path: string): boolean => ALLOWED.some((a) => path === a || path.startsWith(`${a}/`));
    const script = readFileSync(join(ROOT, SCRIPT), 'utf8');
    const read = [...script.matchAll(/"\$ROOT\/([A-Za-z0-9_.\/-]+)"/g)].map((m) => m[1]!).filter((p) => !p.startsWith('node_modules')); // installed by the Dockerfile's npm ci, not sent
    assert.ok(read.includes('bin') && read.includes('conf'), `script paths: ${read.join(' ')}`);
    const copied = [...DOCKERFILE.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' ')).filter((p) => p !== '.');
    const compiled = ['tsconfig.json', 'src', 'actors']; // what `npm run build` needs for dist/src and dist/actors
    for (const path of [...read, ...copied, ...compiled, SCRIPT]) assert.ok(allowed(path), `${path} is in .dockerignore's allow-list`);
    assert.ok(!allowed('node_modules') && !allowed('dist') && !allowed('.git'), 'host builds and history stay out');
  });

  test('the build, on that context alone, succeeds and lays out what the Dockerfile copies and starts', () => {
    assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`);
    assert.deepEqual(readdirSync(tree).sort(), ['bin', 'conf', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    assert.deepEqual(readdirSync(join(tree, 'dist')).sort(), ['actors', 'src'], 'no compiled tests or benchmarks');
    assert.match(DOCKERFILE, /^RUN bash scripts\/build-runtime-tree\.sh \/opt\/zproxy$/m);
    assert.match(DOCKERFILE, /^COPY --from=build \/opt\/zproxy \/opt\/zproxy$/m);
    const [node, bin] = execForm('ENTRYPOINT');
    assert.equal(node, 'node');
    assert.ok(bin!.startsWith('/opt/zproxy/') && existsSync(join(tree, bin!.slice('/opt/zproxy/'.length))), `${bin} is in the tree`);
    for (const f of ['dist/src/cli/main.js', 'dist/actors/worker/worker-main.js', 'conf/zproxy.schema.json', 'conf/default.json']) {
      assert.ok(existsSync(join(tree, f)), f);
    }
  });

  test('the tree has every production dependency of the lockfile and no development one', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    let production = 0;
    for (const [path, meta] of Object.entries(lock.packages)) {
      if (!path.startsWith('node_modules/')) continue;
      if (meta.dev) assert.ok(!existsSync(join(tree, path)), `dev dependency ${path} was pruned`);
      else if (!meta.optional) {
        assert.ok(existsSync(join(tree, path, 'package.json')), `production dependency ${path} is present`);
        production++;
      }
    }
    assert.ok(production >= 10, `${production} production packages`);
    assert.ok(!existsSync(join(tree, 'node_modules/typescript')));
  });

  test('validate from the tree accepts the default config, and the container config only with ZPROXY_ADMIN_TOKEN', async () => {
    const bin = join(tree, 'bin/zproxy.js');
    const dockerConfig = join(ROOT, 'deploy/docker/zproxy.json');
    assert.equal((await runNode([bin, 'validate', '-c', join(tree, 'conf/default.json')], envWithout())).code, 0);
    assert.equal((await runNode([bin, 'validate', '-c', dockerConfig], { ...envWithout(), ZPROXY_ADMIN_TOKEN: TOKEN })).code, 0);
    const missing = await runNode([bin, 'validate', '-c', dockerConfig], envWithout());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\/admin\/token: environment variable ZPROXY_ADMIN_TOKEN is not set/);
  });

  test('the container config matches the image: exposed ports, config path, and a drain inside docker stop\'s 10 s', () => {
    const exposed = /^EXPOSE (.+)$/m.exec(DOCKERFILE)![1]!.split(/\s+/).map(Number);
    assert.deepEqual(exposed, [DOCKER_CONFIG.listeners[0].port, DOCKER_CONFIG.admin.port]);
    assert.equal(DOCKER_CONFIG.listeners[0].address, '0.0.0.0');
    assert.equal(DOCKER_CONFIG.admin.address, '0.0.0.0');
    assert.equal(DOCKER_CONFIG.admin.token, '${ZPROXY_ADMIN_TOKEN}');
    const cmd = execForm('CMD');
    const configPath = cmd[cmd.indexOf('-c') + 1];
    assert.match(DOCKERFILE, new RegExp(`^COPY deploy/docker/zproxy\\.json ${configPath!.replaceAll('.', '\\.')}$`, 'm'));
    assert.ok(cmd.includes('--workers=auto'));
    assert.match(DOCKERFILE, /^STOPSIGNAL SIGTERM$/m);
    assert.match(DOCKERFILE, /^USER \d+:\d+$/m, 'a numeric non-root user');
    // `docker stop` sends SIGKILL 10 s after SIGTERM by default; stopping after the drain takes well under a second.
    assert.ok(DOCKER_CONFIG.server.timeouts.drainMs <= 9000);
  });

  test('the tree proxies a request to the demo upstream, answers the HEALTHCHECK command, and exits 0 on SIGTERM', async () => {
    const [port, demoPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const config = {
      server: { workers: 1, pinning: false, timeouts: { drainMs: 1000 } },
      listeners: [{ name: 'http', address: '127.0.0.1', port }],
      upstreams: { demo: { hosts: [`127.0.0.1:${demoPort}`] } },
      routes: [{ name: 'demo', path: '/*', upstream: 'demo' }],
      logging: { level: 'warn', access: { enabled: false } },
      admin: { enabled: true, address: '127.0.0.1', port: adminPort, token: '${ZPROXY_ADMIN_TOKEN}' },
      demo: { enabled: true, address: '127.0.0.1', port: demoPort },
    };
    const configPath = join(work, 'run.json');
    writeFileSync(configPath, JSON.stringify(config));
    const env = { ...envWithout(), ZPROXY_ADMIN_TOKEN: TOKEN };
    const child = spawn(process.execPath, [join(tree, 'bin/zproxy.js'), 'start', '-c', configPath], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const auth = { authorization: `Bearer ${TOKEN}` };
      const deadline = Date.now() + 15_000;
      for (;;) {
        const r = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { headers: auth, signal: AbortSignal.timeout(1000) }).catch(() => undefined);
        if (r?.status === 200) break;
        assert.ok(Date.now() < deadline && child.exitCode === null, `zproxy from the tree did not become ready:\n${stderr}`);
        await new Promise((r2) => setTimeout(r2, 50));
      }

      const reply = await fetch(`http://127.0.0.1:${port}/runtime-tree-check?x=1`, { headers: { accept: 'application/json' } });
      assert.equal(reply.status, 200);
      const echoed = await reply.json() as { method: string; url: string };
      assert.deepEqual([echoed.method, echoed.url], ['GET', '/runtime-tree-check?x=1']);

      const [node, flag, script] = execForm('HEALTHCHECK');
      assert.deepEqual([node, flag], ['node', '-e']);
      const probe = script!.replace(`:${DOCKER_CONFIG.admin.port}/`, `:${adminPort}/`);
      assert.notEqual(probe, script, 'the HEALTHCHECK asks the container config\'s admin port');
      assert.equal((await runNode(['-e', probe], env)).code, 0, 'healthy with the token');
      assert.equal((await runNode(['-e', probe], { ...env, ZPROXY_ADMIN_TOKEN: 'wrong' })).code, 1, 'a 401 is unhealthy');

      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('the script refuses to build into a folder that is not empty', () => {
    const r = spawnSync('bash', [join(ROOT, SCRIPT), tree], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /exists and is not empty/);
  });
});
