import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusText, formatValue } from '../../../actors/metrics/prometheus-text.js';
import type { Family } from '../../../actors/metrics/metric-families.js';
import { labelValue } from '../../../actors/metrics/metric-families.js';
import { parseExposition, sampleValue } from './fixtures/prometheus-parser.js';

const C: Family = { name: 'x_requests_total', type: 'counter', help: 'Requests.\nSecond line \\ here' };
const G: Family = { name: 'x_open', type: 'gauge', help: 'Open.' };
const H: Family = { name: 'x_seconds', type: 'histogram', help: 'Latency.' };

describe('PrometheusText', () => {
  test('groups samples by family whatever order they come in, each family with one HELP and TYPE', () => {
    const text = new PrometheusText()
      .sample(C, 'a="1"', 1).sample(G, '', 4).sample(C, 'a="2"', 2)
      .toString();
    assert.equal(text, [
      '# HELP x_requests_total Requests.\\nSecond line \\\\ here',
      '# TYPE x_requests_total counter',
      'x_requests_total{a="1"} 1',
      'x_requests_total{a="2"} 2',
      '# HELP x_open Open.',
      '# TYPE x_open gauge',
      'x_open 4',
      '',
    ].join('\n'));
    const parsed = parseExposition(text);
    assert.equal(sampleValue(parsed, 'x_requests_total', { a: '2' }), 2);
  });

  test('writes histograms with cumulative buckets, +Inf, _sum and _count, accepted by a strict parser', () => {
    const text = new PrometheusText().histogram(H, 'route="r"', [0.1, 1], [2, 0, 3], 7.5).histogram(H, '', [0.1, 1], [0, 0, 0], 0).toString();
    assert.ok(text.includes('x_seconds_bucket{route="r",le="0.1"} 2\nx_seconds_bucket{route="r",le="1"} 2\nx_seconds_bucket{route="r",le="+Inf"} 5\nx_seconds_sum{route="r"} 7.5\nx_seconds_count{route="r"} 5\n'));
    assert.ok(text.includes('x_seconds_bucket{le="+Inf"} 0\nx_seconds_sum 0\nx_seconds_count 0\n'));
    const parsed = parseExposition(text);
    assert.equal(sampleValue(parsed, 'x_seconds_count', { route: 'r' }), 5);
  });

  test('formats special values and escapes label values the way the parser reads them back', () => {
    assert.deepEqual([formatValue(Infinity), formatValue(-Infinity), formatValue(NaN), formatValue(0.25), formatValue(3)], ['+Inf', '-Inf', 'NaN', '0.25', '3']);
    const name = 'we"ird\\route\nx';
    const parsed = parseExposition(new PrometheusText().sample(G, `route="${labelValue(name)}"`, 1).toString());
    assert.equal(parsed.get('x_open')!.samples[0]!.labels.route, name);
  });

  test('the strict parser refuses split families, duplicate series and non-cumulative buckets', () => {
    assert.throws(() => parseExposition('# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'), /not together/);
    assert.throws(() => parseExposition('# TYPE a counter\na 1\na 2\n'), /duplicate series/);
    assert.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'), /not cumulative/);
    assert.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 3\nh_sum 1\nh_count 3\n'), /\+Inf/);
    assert.throws(() => parseExposition('a{x="\\t"} 1\n'), /bad escape/);
    assert.throws(() => parseExposition('a 1'), /newline/);
  });
});
