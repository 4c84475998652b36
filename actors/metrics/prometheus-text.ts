/**
 * Writes the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): per
 * family one `# HELP` and one `# TYPE` line, then all its samples together
 * (the format requires a family's samples to be contiguous, so samples are
 * grouped here whatever order they are added in). Histograms get cumulative
 * `_bucket{le=...}` lines ending in `le="+Inf"`, then `_sum` and `_count`.
 */
import type { Family } from './metric-families.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface FamilyLines {
  readonly family: Family;
  readonly lines: string[];
}

/** A number as the format writes it: integers plainly, +Inf/-Inf/NaN by name. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function braces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

export class PrometheusText {
  private readonly families = new Map<string, FamilyLines>();

  /** A counter or gauge sample; `labels` is already escaped (`a="x",b="y"`). */
  sample(family: Family, labels: string, value: number): this {
    this.lines(family).push(`${family.name}${braces(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A histogram from its bounds and per-bucket counts (counts.length = bounds.length + 1, the last for +Inf). */
  histogram(family: Family, labels: string, bounds: readonly number[], counts: readonly number[], sum: number): this {
    const lines = this.lines(family);
    const sep = labels === '' ? '' : ',';
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i] ?? 0;
      lines.push(`${family.name}_bucket{${labels}${sep}le="${formatValue(bounds[i]!)}"} ${cumulative}`);
    }
    cumulative += counts[bounds.length] ?? 0;
    lines.push(`${family.name}_bucket{${labels}${sep}le="+Inf"} ${cumulative}`);
    lines.push(`${family.name}_sum${braces(labels)} ${formatValue(sum)}`);
    lines.push(`${family.name}_count${braces(labels)} ${cumulative}`);
    return this;
  }

  /** Declares a family with no samples yet (so its HELP/TYPE appear and scrapers learn it exists). */
  declare(family: Family): this {
    this.lines(family);
    return this;
  }

  toString(): string {
    let out = '';
    for (const { family, lines } of this.families.values()) {
      out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
      for (const l of lines) out += l + '\n';
    }
    return out;
  }

  private lines(family: Family): string[] {
    let f = this.families.get(family.name);
    if (!f) {
      f = { family, lines: [] };
      this.families.set(family.name, f);
    }
    return f.lines;
  }
}

/** HELP text escapes backslash and newline (not quotes). */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
