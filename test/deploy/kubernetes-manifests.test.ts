/**
 * deploy/kubernetes: every manifest parses, has the fields its kind needs,
 * and agrees with the others and with zproxy (labels, ports, probe paths,
 * grace period against the drain, the embedded config through the real loader).
 *
 * YAML: no YAML library is installed (and none may be added), so the files
 * are parsed by the small block-style parser below, which understands exactly
 * the subset the manifests use and throws on anything else. Where python3
 * with PyYAML exists, a test also parses every file with it and requires the
 * same result, which proves both that the files are real YAML and that the
 * subset parser reads them as YAML does. Without PyYAML that test skips and
 * the structural checks still run.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load-config.js';
import { parseCgroupCpuMax } from '../../src/platform/cpu-topology.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, 'deploy/kubernetes');

// ---------------------------------------------------------------- YAML subset

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
type Doc = { [key: string]: any };

interface Line { indent: number; text: string; no: number }

const KEY = /^([A-Za-z0-9_./-]+):(?: (.*))?$/;
// PyYAML (YAML 1.1) reads these as booleans or numbers: the manifests must quote them.
const AMBIGUOUS = /^(y|n|yes|no|on|off|~|[-+]?[0-9]*\.[0-9]+([eE][-+]?[0-9]+)?|0[0-7]+|0x[0-9a-fA-F]+|[-+]?\.inf|\.nan)$/i;

function scalar(raw: string, no: number): Yaml {
  const text = raw.trim();
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new Error(`line ${no}: unterminated double-quoted string`);
    return JSON.parse(text) as string; // JSON's escapes are a subset of YAML's double-quoted ones
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${no}: unterminated single-quoted string`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  if (/^-?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (AMBIGUOUS.test(text)) throw new Error(`line ${no}: '${text}' means different things to different YAML parsers: quote it`);
  if (/^[[{&*!|>%@`"']/.test(text) || / #|: /.test(text) || text.endsWith(':')) throw new Error(`line ${no}: '${text}' is outside the YAML subset this test reads`);
  return text;
}

class SubsetParser {
  private i = 0;
  /** lines[k] is raw[k] read as a line, or undefined for a blank or comment line. */
  constructor(private readonly raw: readonly string[], private readonly lines: (Line | undefined)[]) {}

  /** The next line that is not blank or a comment, without consuming it. */
  private peek(): Line | undefined {
    while (this.i < this.lines.length && this.lines[this.i] === undefined) this.i++;
    return this.lines[this.i];
  }

  document(): Yaml {
    const first = this.peek();
    if (!first) return null;
    const value = this.node(first.indent);
    const rest = this.peek();
    if (rest) throw new Error(`line ${rest.no}: unexpected indentation`);
    return value;
  }

  private node(indent: number): Yaml {
    const line = this.peek()!;
    if (line.indent !== indent) throw new Error(`line ${line.no}: expected indentation ${indent}, found ${line.indent}`);
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(indent) : this.mapping(indent);
  }

  private mapping(indent: number): Yaml {
    const out: { [key: string]: Yaml } = {};
    for (let line = this.peek(); line && line.indent === indent && !line.text.startsWith('- '); line = this.peek()) {
      const m = KEY.exec(line.text);
      if (!m) throw new Error(`line ${line.no}: expected 'key: value', found '${line.text}'`);
      const key = m[1]!;
      if (Object.hasOwn(out, key)) throw new Error(`line ${line.no}: duplicate key '${key}'`);
      const rest = (m[2] ?? '').trim();
      this.i++;
      if (rest === '|' || rest === '|-') out[key] = this.blockScalar(indent, rest === '|', line.no);
      else if (rest !== '') out[key] = scalar(rest, line.no);
      else {
        const next = this.peek();
        if (next && next.indent > indent) out[key] = this.node(next.indent);
        else if (next && next.indent === indent && next.text.startsWith('- ')) out[key] = this.sequence(indent);
        else out[key] = null;
      }
    }
    return out;
  }

  private sequence(indent: number): Yaml {
    const out: Yaml[] = [];
    for (let line = this.peek(); line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = this.peek()) {
      const item = line.text.slice(1).trimStart();
      if (item === '') {
        this.i++;
        const next = this.peek();
        if (!next || next.indent <= indent) throw new Error(`line ${line.no}: empty sequence item`);
        out.push(this.node(next.indent));
      } else if (KEY.test(item)) {
        // "- key: value" opens a mapping whose keys sit two columns in: read this line as its first key.
        this.lines[this.i] = { indent: indent + 2, text: item, no: line.no };
        out.push(this.mapping(indent + 2));
      } else {
        this.i++;
        out.push(scalar(item, line.no));
      }
    }
    return out;
  }

  /** `|` keeps one final newline, `|-` none; blank lines inside are kept. */
  private blockScalar(parentIndent: number, keepNewline: boolean, no: number): string {
    const body: string[] = [];
    let indent = -1;
    for (; this.i < this.lines.length; this.i++) {
      const raw = this.raw[this.i]!;
      const lead = raw.length - raw.trimStart().length;
      if (raw.trim() !== '' && lead <= parentIndent) break;
      if (raw.trim() !== '' && indent < 0) indent = lead;
      body.push(raw);
    }
    if (indent < 0) throw new Error(`line ${no}: empty block scalar`);
    while (body.length > 0 && body[body.length - 1]!.trim() === '') body.pop();
    return body.map((l) => l.slice(indent)).join('\n') + (keepNewline ? '\n' : '');
  }
}

/** Parses a multi-document file in the subset; throws with a line number on anything outside it. */
function parseYamlSubset(text: string): Yaml[] {
  const docs: Yaml[] = [];
  let raws: string[] = [];
  let firstNo = 1;
  const flush = (): void => {
    const lines = raws.map((raw, k): Line | undefined => {
      if (raw.includes('\t')) throw new Error(`line ${firstNo + k}: tab character`);
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return undefined;
      return { indent: raw.length - raw.trimStart().length, text: raw.trimEnd().trimStart(), no: firstNo + k };
    });
    if (lines.some((l) => l !== undefined)) docs.push(new SubsetParser(raws, lines).document());
  };
  text.split('\n').forEach((raw, k) => {
    if (raw.trimEnd() === '---') {
      flush();
      raws = [];
      firstNo = k + 2;
    } else raws.push(raw);
  });
  flush();
  return docs;
}

// ---------------------------------------------------------------- the manifests

const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const parsed = new Map(FILES.map((f) => [f, parseYamlSubset(readFileSync(join(DIR, f), 'utf8')) as Doc[]]));
const all = [...parsed.values()].flat();
const one = (file: string, kind: string): Doc => {
  const found = parsed.get(file)!.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `${file} holds one ${kind}`);
  return found[0]!;
};

const deployment = one('deployment.yaml', 'Deployment');
const service = one('service.yaml', 'Service');
const configMap = one('configmap.yaml', 'ConfigMap');
const hpa = one('hpa.yaml', 'HorizontalPodAutoscaler');
const kustomization = one('kustomization.yaml', 'Kustomization');
const pod = deployment.spec.template.spec;
const proxy = pod.containers.find((c: Doc) => c.name === 'zproxy');
const zproxyConfig = parseConfig(JSON.parse(configMap.data['zproxy.json']), 'configmap.yaml', { ZPROXY_ADMIN_TOKEN: 'test-token' });

const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1', Service: 'v1', ConfigMap: 'v1', HorizontalPodAutoscaler: 'autoscaling/v2', Kustomization: 'kustomize.config.k8s.io/v1beta1',
};
// RFC 1123 label, the rule for names of Services, ConfigMaps, Deployments and containers.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Kubernetes CPU quantities: 2, "2", "1500m". */
function cpuQuantity(q: unknown): number {
  const text = String(q);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

function probeScript(probe: Doc): string {
  assert.deepEqual(probe.exec.command.slice(0, 2), ['node', '-e']);
  return probe.exec.command[2];
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('deploy/kubernetes manifests', () => {
  test('the YAML subset parser reads nesting, sequences of mappings and block scalars, and refuses what it does not know', () => {
    assert.deepEqual(parseYamlSubset('a:\n  b: 1\n  c:\n    - x\n    - k: "v"\n      n: true\nd: |\n  {\n    "j": 1\n  }\n---\ne: []\n'),
      [{ a: { b: 1, c: ['x', { k: 'v', n: true }] }, d: '{\n  "j": 1\n}\n' }, { e: [] }]);
    assert.throws(() => parseYamlSubset('a: yes\n'), /quote it/);
    assert.throws(() => parseYamlSubset('a: {b: 1}\n'), /outside the YAML subset/);
    assert.throws(() => parseYamlSubset('a: 1\na: 2\n'), /duplicate key 'a'/);
    assert.throws(() => parseYamlSubset('a:\n  b: 1\n c: 2\n'), /indentation/);
  });

  test('every file parses the same with PyYAML, where python3 has it', (t) => {
    const probe = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      t.skip('python3 with PyYAML not found (apt-get install python3-yaml): the subset parser alone checked the files');
      return;
    }
    const script = 'import json, sys, yaml\njson.dump([list(yaml.safe_load_all(open(p))) for p in sys.argv[1:]], sys.stdout)';
    const out = execFileSync('python3', ['-c', script, ...FILES.map((f) => join(DIR, f))], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), FILES.map((f) => parsed.get(f)));
  });

  test('every object has its kind\'s apiVersion and a valid metadata.name', () => {
    assert.ok(all.length >= 7, `found ${all.length} objects`);
    for (const d of all) {
      assert.equal(d.apiVersion, API_VERSIONS[d.kind], `${d.kind} apiVersion`);
      if (d.kind === 'Kustomization') continue;
      assert.match(d.metadata.name, DNS_LABEL, `${d.kind} name`);
      assert.equal(d.metadata.labels['app.kubernetes.io/name'], 'zproxy');
    }
  });

  test('every Deployment selects its own pod template and every Service selects pods of a Deployment', () => {
    const deployments = all.filter((d) => d.kind === 'Deployment');
    for (const d of deployments) {
      assert.ok(labelsMatch(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${d.metadata.name} selector`);
      for (const c of d.spec.template.spec.containers) {
        assert.match(c.name, DNS_LABEL);
        assert.equal(typeof c.image, 'string');
        for (const p of c.ports) {
          assert.ok(Number.isInteger(p.containerPort) && p.containerPort > 0 && p.containerPort < 65536);
          assert.ok(p.name.length <= 15, `port name ${p.name} is at most 15 characters (IANA_SVC_NAME)`);
        }
        assert.ok(c.resources.requests.cpu !== undefined && c.resources.limits.memory !== undefined, `${c.name} resources`);
      }
    }
    for (const s of all.filter((d) => d.kind === 'Service')) {
      const target = deployments.find((d) => labelsMatch(s.spec.selector, d.spec.template.metadata.labels));
      assert.ok(target, `Service ${s.metadata.name} selects a Deployment's pods`);
      const portNames = target.spec.template.spec.containers.flatMap((c: Doc) => c.ports.map((p: Doc) => p.name));
      for (const p of s.spec.ports) assert.ok(portNames.includes(p.targetPort), `Service ${s.metadata.name} targetPort ${p.targetPort}`);
    }
    assert.equal(service.spec.selector['app.kubernetes.io/component'], 'proxy');
    assert.deepEqual(service.spec.ports.map((p: Doc) => [p.port, p.targetPort]), [[80, 'http']]);
  });

  test('the zproxy container starts the mounted ConfigMap config with workers=auto and the admin token from a Secret', () => {
    assert.deepEqual(proxy.args, ['start', '-c', '/etc/zproxy/zproxy.json', '--workers=auto']);
    const mount = proxy.volumeMounts.find((m: Doc) => m.mountPath === '/etc/zproxy');
    assert.equal(mount.subPath, undefined, 'a subPath mount would never see ConfigMap updates');
    const volume = pod.volumes.find((v: Doc) => v.name === mount.name);
    assert.equal(volume.configMap.name, configMap.metadata.name);
    assert.ok(Object.hasOwn(configMap.data, 'zproxy.json'));
    const token = proxy.env.find((e: Doc) => e.name === 'ZPROXY_ADMIN_TOKEN');
    assert.deepEqual(token.valueFrom.secretKeyRef, { name: 'zproxy-admin', key: 'token' });
  });

  test('the embedded config passes zproxy\'s loader and matches the container\'s ports', () => {
    assert.equal(zproxyConfig.server.workers, 'auto');
    assert.equal(zproxyConfig.server.watchConfig, true, 'ConfigMap updates are applied by the file watch');
    assert.equal(zproxyConfig.admin.address, '0.0.0.0');
    assert.equal(zproxyConfig.admin.token, 'test-token');
    const ports = Object.fromEntries(proxy.ports.map((p: Doc) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { http: zproxyConfig.listeners[0]!.port, admin: zproxyConfig.admin.port });
    assert.equal(zproxyConfig.listeners[0]!.address, '0.0.0.0');
  });

  test('a CPU limit of 2 is what workers=auto reads back as 2 workers', () => {
    const limit = cpuQuantity(proxy.resources.limits.cpu);
    assert.equal(limit, 2);
    assert.equal(cpuQuantity(proxy.resources.requests.cpu), limit, 'requests = limits: Guaranteed QoS');
    // The kubelet writes the limit as cpu.max "<limit x period> <period>" with the CFS default period of 100 ms.
    assert.equal(parseCgroupCpuMax(`${limit * 100_000} 100000`), 2);
  });

  test('liveness asks /healthz and readiness /readyz with the same command as the Dockerfile HEALTHCHECK', () => {
    const liveness = probeScript(proxy.livenessProbe);
    const readiness = probeScript(proxy.readinessProbe);
    assert.match(liveness, new RegExp(`http://127\\.0\\.0\\.1:${zproxyConfig.admin.port}/healthz'`));
    assert.equal(readiness, liveness.replace('/healthz', '/readyz'));
    assert.match(liveness, /process\.env\.ZPROXY_ADMIN_TOKEN/);
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, '');
    const cmd = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    assert.deepEqual(cmd, ['node', '-e', liveness]);
  });

  test('the grace period covers the preStop sleep, drainMs and zproxy\'s 5 s stop guard', () => {
    const cmd = proxy.lifecycle.preStop.exec.command as string[];
    assert.equal(cmd[0], 'sleep');
    const sleepS = Number(cmd[1]);
    assert.ok(sleepS >= 1, 'endpoint removal needs a moment to reach every node');
    const drainS = zproxyConfig.server.timeouts.drainMs / 1000;
    // STOP_GUARD_MARGIN_MS in src/cli/start-command.ts: zproxy exits at most 5 s after the drain deadline.
    assert.ok(pod.terminationGracePeriodSeconds >= sleepS + drainS + 5, `${pod.terminationGracePeriodSeconds} s >= ${sleepS} + ${drainS} + 5`);
  });

  test('the pod runs as the image\'s non-root user with a read-only root file system', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, Number(user[1]));
    assert.equal(proxy.securityContext.readOnlyRootFilesystem, true);
    assert.equal(proxy.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(proxy.securityContext.capabilities.drop, ['ALL']);
  });

  test('the HPA scales the zproxy Deployment on CPU, which the pods request', () => {
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    assert.equal(deployment.spec.replicas, undefined, 'a replicas field would fight the HPA on every apply');
  });

  test('the optional Redis has a Deployment and a Service on 6379 and stays out of the default resources', () => {
    const redis = one('redis.yaml', 'Deployment');
    const redisService = one('redis.yaml', 'Service');
    assert.ok(labelsMatch(redisService.spec.selector, redis.spec.template.metadata.labels));
    assert.ok(!labelsMatch(service.spec.selector, redis.spec.template.metadata.labels), 'the proxy Service must not select Redis');
    assert.equal(redisService.spec.ports[0].port, 6379);
    assert.ok(!kustomization.resources.includes('redis.yaml'), 'rate-limit middleware is a later issue: Redis is opt-in');
  });

  test('the kustomization lists every other manifest and names the Deployment\'s image', () => {
    const listed = new Set<string>(kustomization.resources);
    for (const f of FILES) if (f !== 'kustomization.yaml' && f !== 'redis.yaml') assert.ok(listed.has(f), `${f} in resources`);
    for (const f of listed) assert.ok(FILES.includes(f), `${f} exists`);
    assert.ok(kustomization.images.some((i: Doc) => i.name === proxy.image));
  });

  test('kubectl kustomize builds the set, where kubectl is installed', (t) => {
    const r = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', timeout: 20_000 });
    if (r.error) {
      t.skip(`kubectl not found (${(r.error as NodeJS.ErrnoException).code}): skipped`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    const kinds = [...r.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Service']);
    assert.match(r.stdout, new RegExp(`image: ${proxy.image}:${kustomization.images[0].newTag}$`, 'm'));
  });
});
