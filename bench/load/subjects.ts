// The proxies compared, how each is started (config written into the run's
// temp dir, process pinned to the proxy CPU) and what each supports. A subject
// whose binary or module is missing is skipped with a message; one that is
// present but does not start is reported as failed with its output.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, hasModule, nginxVersion, versionAtLeast } from './binaries.js';
import { freePort } from './free-port.js';
import { spawnTracked, stopProcess, type TrackedProcess } from './process-group.js';
import { haproxyConfig, nginxProxyConfig, zproxyConfig, type ProxyTarget } from './proxy-configs.js';
import { waitUntilServing } from './readiness.js';
import { MIDDLEWARE_SUBJECT_NAMES, MIDDLEWARE_VARIANTS, type MiddlewareSubjectName } from './middleware-subjects.js';
import type { Scenario } from './scenarios.js';
import type { TlsFiles } from './tls-cert.js';

export type SubjectName = 'zproxy' | 'nginx' | 'haproxy' | 'http-proxy' | 'fastify' | 'node-http' | ResearchSubjectName | MiddlewareSubjectName;

/** The default run: zproxy and the peers users would pick instead. */
export const SUBJECT_NAMES: readonly SubjectName[] = ['zproxy', 'nginx', 'haproxy', 'http-proxy', 'fastify', 'node-http'];

/**
 * zproxy variants for the concurrency research (docs/research/concurrency.md),
 * chosen with --subjects: actor placement, acceptor strategy, worker count,
 * access logging. Acceptors other than shared need the harness itself run
 * by Node >= 22.12 (reuseport) or >= 24 (handoff): zproxy runs on process.execPath.
 */
export type ResearchSubjectName = 'zproxy-pipelined' | 'zproxy-postmessage' | 'zproxy-log' | 'zproxy-shared' | 'zproxy-reuseport' | 'zproxy-handoff' | 'zproxy-2w';
export const RESEARCH_SUBJECT_NAMES: readonly ResearchSubjectName[] = ['zproxy-pipelined', 'zproxy-postmessage', 'zproxy-log', 'zproxy-shared', 'zproxy-reuseport', 'zproxy-handoff', 'zproxy-2w'];

const RESEARCH_VARIANTS: Record<ResearchSubjectName, { label: string; server: Record<string, unknown>; accessLog?: boolean; workers?: number }> = {
  'zproxy-pipelined': { label: 'zproxy, router on its own thread over SAB rings', server: { placement: 'pipelined' } },
  'zproxy-postmessage': { label: 'zproxy, router on its own thread over postMessage', server: { placement: 'postmessage' } },
  'zproxy-log': { label: 'zproxy with access log (logger thread, file)', server: {}, accessLog: true },
  'zproxy-shared': { label: 'zproxy, acceptor shared', server: { acceptor: 'shared' } },
  'zproxy-reuseport': { label: 'zproxy, acceptor reuseport', server: { acceptor: 'reuseport' } },
  'zproxy-handoff': { label: 'zproxy, acceptor handoff', server: { acceptor: 'handoff' } },
  'zproxy-2w': { label: 'zproxy, 2 workers (shares the load generator\'s core)', server: {}, workers: 2 },
};

export interface SubjectEnv {
  tempDir: string;
  repoRoot: string;
  /** Folder of the compiled harness (dist/bench/load). */
  scriptDir: string;
  proxyCpus: string | null;
  /** Made on first use by the h2 scenario. */
  tls: () => TlsFiles;
}

export interface RunningSubject {
  name: SubjectName;
  port: number;
  proc: TrackedProcess;
  /** Extra request headers the load generator sends to this subject. */
  requestHeaders: readonly string[];
}

interface Launch {
  command: string;
  args: string[];
  cwd?: string;
}

export interface Subject {
  name: SubjectName;
  /** How the report names it, with the settings that matter. */
  label: string;
  /** Why it cannot run on this machine (missing binary/module), or null. */
  missing(): string | null;
  /** Why it sits out this scenario, or null. */
  unsupported(scenario: Scenario): string | null;
  /** Extra request headers ("Name: value") every request to this subject carries (wrk scenarios). */
  requestHeaders?: readonly string[];
  launch(target: ProxyTarget, env: SubjectEnv): Launch;
}

function nodePeer(script: string, target: ProxyTarget, env: SubjectEnv): Launch {
  const args = [join(env.scriptDir, 'peers', script), '--port', String(target.listenPort), '--upstream-port', String(target.upstreamPort)];
  if (target.tls !== null) args.push('--cert', target.tls.certFile, '--key', target.tls.keyFile);
  return { command: process.execPath, args };
}

function missingModules(...specifiers: string[]): string | null {
  const absent = specifiers.filter((s) => !hasModule(s));
  return absent.length === 0 ? null : `module ${absent.join(', ')} not installed`;
}


export const SUBJECTS: readonly Subject[] = [
  {
    name: 'zproxy',
    label: 'zproxy (1 worker)',
    missing: () => null, // a missing bin/zproxy.js is a failure to report, not a skip
    unsupported: () => null,
    launch(target, env) {
      const bin = join(env.repoRoot, 'bin', 'zproxy.js');
      if (!existsSync(bin)) throw new Error(`${bin} does not exist yet`);
      const config = join(target.dir, 'zproxy.json');
      writeFileSync(config, zproxyConfig(target));
      return { command: process.execPath, args: [bin, 'start', '-c', config, '--workers=1'], cwd: env.repoRoot };
    },
  },
  ...RESEARCH_SUBJECT_NAMES.map((name): Subject => {
    const v = RESEARCH_VARIANTS[name];
    return {
      name,
      label: v.label,
      missing: () => null,
      unsupported: () => null,
      launch(target, env) {
        const bin = join(env.repoRoot, 'bin', 'zproxy.js');
        const config = join(target.dir, `${name}.json`);
        writeFileSync(config, zproxyConfig(target, v.server, v.accessLog ? join(target.dir, `${name}-access.log`) : undefined));
        return { command: process.execPath, args: [bin, 'start', '-c', config, `--workers=${v.workers ?? 1}`], cwd: env.repoRoot };
      },
    };
  }),
  ...MIDDLEWARE_SUBJECT_NAMES.map((name): Subject => {
    const v = MIDDLEWARE_VARIANTS[name];
    return {
      name,
      label: v.label,
      missing: () => null,
      // Extra headers reach wrk only; h2load and ws-load would measure without them.
      unsupported: (s) => (s.generator === 'wrk' ? null : 'middleware subjects run the wrk (HTTP/1.1) scenarios only'),
      requestHeaders: v.requestHeaders,
      launch(target, env) {
        const bin = join(env.repoRoot, 'bin', 'zproxy.js');
        const config = join(target.dir, `${name}.json`);
        writeFileSync(config, zproxyConfig(target, {}, undefined, v.middleware(env.repoRoot)));
        return { command: process.execPath, args: [bin, 'start', '-c', config, '--workers=1'], cwd: env.repoRoot };
      },
    };
  }),
  {
    name: 'nginx',
    label: 'nginx (1 worker, upstream keepalive 64)',
    missing: () => (findBinary('nginx') === null ? 'nginx not installed' : null),
    unsupported: () => null,
    launch(target) {
      const version = nginxVersion() ?? '0.0.0';
      const conf = join(target.dir, 'nginx.conf');
      writeFileSync(conf, nginxProxyConfig({ ...target, nginxHttp2Directive: versionAtLeast(version, '1.25.1') }));
      return { command: 'nginx', args: ['-p', target.dir, '-c', conf, '-e', 'stderr'] };
    },
  },
  {
    name: 'haproxy',
    label: 'HAProxy (nbthread 1, http-reuse always)',
    missing: () => (findBinary('haproxy') === null ? 'haproxy not installed' : null),
    unsupported: () => null,
    launch(target) {
      const conf = join(target.dir, 'haproxy.cfg');
      writeFileSync(conf, haproxyConfig(target));
      // -db: stay in the foreground so the harness owns the process.
      return { command: 'haproxy', args: ['-f', conf, '-db'] };
    },
  },
  {
    name: 'http-proxy',
    label: 'node http-proxy (keep-alive agent, maxSockets 256)',
    missing: () => missingModules('http-proxy'),
    unsupported: (s) => (s.h2 ? 'http-proxy serves only node:http (no HTTP/2)' : null),
    launch: (target, env) => nodePeer('http-proxy-peer.js', target, env),
  },
  {
    name: 'fastify',
    label: '@fastify/http-proxy (undici pool, logger off)',
    missing: () => missingModules('fastify', '@fastify/http-proxy'),
    unsupported: () => null,
    launch: (target, env) => nodePeer('fastify-peer.js', target, env),
  },
  {
    name: 'node-http',
    label: 'bare node:http proxy (keep-alive agent, pipe)',
    missing: () => null,
    unsupported: () => null,
    launch: (target, env) => nodePeer('node-http-peer.js', target, env),
  },
];

export function subjectByName(name: string): Subject | undefined {
  return SUBJECTS.find((s) => s.name === name);
}

// zproxy's worker threads and Node's JIT take longer than nginx to come up;
// 15 s is generous on a loaded 2-core machine.
const START_TIMEOUT_MS = 15_000;

/** Starts a subject for one scenario and waits until a request goes through it. */
export async function startSubject(subject: Subject, scenario: Scenario, upstreamPort: number, env: SubjectEnv): Promise<RunningSubject> {
  const dir = join(env.tempDir, `${subject.name}-${scenario.name}`);
  mkdirSync(dir, { recursive: true });
  const target: ProxyTarget = {
    dir,
    listenPort: await freePort(),
    upstreamPort,
    tls: scenario.h2 ? env.tls() : null,
  };
  const launch = subject.launch(target, env);
  const requestHeaders = subject.requestHeaders ?? [];
  const proc = spawnTracked({ name: subject.name, command: launch.command, args: launch.args, cwd: launch.cwd, cpus: env.proxyCpus });
  try {
    await waitUntilServing(proc, { port: target.listenPort, path: '/small', h2: scenario.h2, expectBytes: 100, headers: requestHeaders }, START_TIMEOUT_MS);
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return { name: subject.name, port: target.listenPort, proc, requestHeaders };
}
