/**
 * Runs the real CLI (`node bin/zproxy.js ...`) as a child process, with the
 * node that runs the tests, for the e2e CLI tests: free ports, a config file
 * in a temporary folder, and a started proxy that is always killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/e2e/cli/ -> the package root. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin/zproxy.js');

/** A port nobody listens on right now (bound to 0, read, closed). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `zproxy-${prefix}-`));
}

export function writeJson(file: string, value: unknown): void {
  // Written to a temporary name and renamed over, as editors do: a reader never sees half a file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `zproxy ARGS` to completion (bounded by timeoutMs). */
export function runCli(args: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zproxy ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningProxy {
  readonly child: ChildProcess;
  readonly configFile: string;
  /** Everything the proxy wrote to stderr so far (its app log is there). */
  stderr(): string;
  /** Resolves when the process exited and its output was read: its status and when it exited (performance.now()). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  /** SIGKILL if still running; for finally blocks. */
  kill(): Promise<void>;
}

/** `zproxy start -c FILE --workers=2` (plus `extraArgs`); resolves once it says it listens. */
export async function startCli(configFile: string, extraArgs: readonly string[] = [], startTimeoutMs = 15_000): Promise<RunningProxy> {
  const child = spawn(process.execPath, [BIN, 'start', '-c', configFile, '--workers=2', ...extraArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) => {
    // Timed at 'exit'; resolved at 'close', once its stderr was read to the end.
    let atMs = 0;
    child.on('exit', () => { atMs = performance.now(); });
    child.on('close', (code, signal) => resolve({ code, signal, atMs }));
  });
  const proxy: RunningProxy = {
    child,
    configFile,
    stderr: () => stderr,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`zproxy did not start within ${startTimeoutMs} ms; stderr: ${stderr}`)), startTimeoutMs);
      const onData = (): void => {
        if (!/listening on http/.test(stderr)) return;
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      };
      child.stderr!.on('data', onData);
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`zproxy exited with ${code} before listening; stderr: ${stderr}`));
      });
    });
  } catch (err) {
    await proxy.kill();
    throw err;
  }
  return proxy;
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
