// Every process the harness starts goes through here, so that all of them
// (proxies, their workers, upstreams, load generators) can be stopped at the
// end, on SIGINT and on a crash. Each child leads its own process group
// (detached), so one signal to -pid reaches nginx's master and workers alike.

import { spawn, type ChildProcess } from 'node:child_process';

export interface TrackedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last ~8 KiB of stderr and stdout together, for failure reasons. */
  outputTail(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  /** CPU list for taskset; null runs the command unpinned. */
  cpus: string | null;
  cwd?: string;
  /** Collect stdout into a string (load generators); otherwise kept as a tail only. */
  captureStdout?: boolean;
}

export class ProcessStartError extends Error {
  readonly code = 'LOAD_PROCESS_START_FAILED';
  constructor(readonly processName: string, message: string) {
    super(`${processName}: ${message}`);
  }
}

// 8 KiB keeps a whole nginx/haproxy config error or a Node stack trace.
const TAIL_BYTES = 8192;

const live = new Set<TrackedProcess>();

export function spawnTracked(spec: SpawnSpec): TrackedProcess & { stdout(): string } {
  const command = spec.cpus === null ? spec.command : 'taskset';
  const args = spec.cpus === null ? spec.args : ['-c', spec.cpus, spec.command, ...spec.args];
  const child = spawn(command, args, {
    cwd: spec.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let stdoutText = '';
  let exitedFlag = false;
  const keepTail = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stderr?.on('data', keepTail);
  child.stdout?.on('data', (chunk: Buffer) => {
    if (spec.captureStdout === true) stdoutText += chunk.toString('utf8');
    else keepTail(chunk);
  });
  const exited = new Promise<string>((resolve) => {
    child.on('error', (err) => {
      keepTail(Buffer.from(`spawn error: ${err.message}\n`));
      exitedFlag = true;
      resolve('spawn-error');
    });
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      resolve(signal ?? String(code));
    });
  });
  const tracked = {
    name: spec.name,
    child,
    pid: child.pid ?? -1,
    outputTail: () => tail,
    stdout: () => stdoutText,
    exited,
    hasExited: () => exitedFlag,
  };
  if (child.pid !== undefined) {
    live.add(tracked);
    void exited.then(() => live.delete(tracked));
  }
  return tracked;
}

function signalGroup(proc: TrackedProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** SIGTERM, then SIGKILL after graceMs (nginx and haproxy stop in well under 1 s). */
export async function stopProcess(proc: TrackedProcess, graceMs = 3000): Promise<void> {
  if (proc.hasExited()) {
    signalGroup(proc, 'SIGKILL'); // leftover grandchildren, if any
    return;
  }
  signalGroup(proc, 'SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
  if ((await Promise.race([proc.exited, timer])) === 'timeout') signalGroup(proc, 'SIGKILL');
  await proc.exited;
  signalGroup(proc, 'SIGKILL');
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stopProcess(p)));
}

/** Last resort from process.on('exit'), where nothing asynchronous runs. */
export function killAllNow(): void {
  for (const proc of live) signalGroup(proc, 'SIGKILL');
  live.clear();
}

export interface Completed {
  exit: string;
  stdout: string;
  outputTail: string;
}

/** Runs a bounded command (wrk, h2load, ws-load) to its end; killed after timeoutMs. */
export async function runToEnd(spec: SpawnSpec, timeoutMs: number): Promise<Completed> {
  const proc = spawnTracked({ ...spec, captureStdout: true });
  const timer = setTimeout(() => void stopProcess(proc, 1000), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { exit, stdout: proc.stdout(), outputTail: proc.outputTail() };
}
