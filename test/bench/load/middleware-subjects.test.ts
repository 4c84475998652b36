import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIDDLEWARE_SUBJECT_NAMES, MIDDLEWARE_VARIANTS } from '../../../bench/load/middleware-subjects.js';
import { zproxyConfig, type ProxyTarget } from '../../../bench/load/proxy-configs.js';
import { subjectByName } from '../../../bench/load/subjects.js';
import { SCENARIOS } from '../../../bench/load/scenarios.js';
import { parseConfig } from '../../../src/config/load-config.js';

// dist/test/bench/load -> repository root (where conf/examples/plugins lives).
const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..');
const target: ProxyTarget = { dir: '/tmp/unused', listenPort: 18080, upstreamPort: 18081, tls: null };

describe('middleware load subjects', () => {
  for (const name of MIDDLEWARE_SUBJECT_NAMES) {
    test(`${name}: config passes zproxy's config checks and differs from plain zproxy only by its middleware`, () => {
      const definitions = MIDDLEWARE_VARIANTS[name].middleware(repoRoot);
      const json = JSON.parse(zproxyConfig(target, {}, undefined, definitions)) as Record<string, unknown> & { routes: Record<string, unknown>[] };
      const parsed = parseConfig(json, `${name}.json`, {});
      assert.deepEqual(parsed.routes[0]!.middleware, Object.keys(definitions));
      assert.equal(Object.keys(definitions).length, 1, 'one middleware per subject, so the delta is that middleware');

      const { middleware: _definitions, ...rest } = json;
      const { middleware: _names, ...route } = json.routes[0]!;
      assert.deepEqual({ ...rest, routes: [route] }, JSON.parse(zproxyConfig(target)));
    });
  }

  test('middleware subjects carry their request headers and sit out the h2 and ws scenarios', () => {
    assert.deepEqual(subjectByName('zproxy-apikey')?.requestHeaders, MIDDLEWARE_VARIANTS['zproxy-apikey'].requestHeaders);
    assert.match(subjectByName('zproxy-gzip')?.requestHeaders?.join('\n') ?? '', /^Accept-Encoding: gzip$/m);
    const subject = subjectByName('zproxy-cors')!;
    for (const scenario of SCENARIOS) {
      const skip = subject.unsupported(scenario);
      if (scenario.generator === 'wrk') assert.equal(skip, null, scenario.name);
      else assert.match(skip ?? '', /wrk/, scenario.name);
    }
  });
});
