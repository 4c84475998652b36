/**
 * The one error type of the config layer. It carries every problem found in a
 * config (not just the first), each with the JSON pointer of the offending
 * value, so `zproxy validate` can list them all at once.
 */

export type ConfigErrorCode =
  | 'config.invalid'
  | 'config.unreadable'
  | 'config.parse'
  | 'config.env-missing'
  | 'config.reference';

export interface ConfigIssue {
  /** JSON pointer of the offending value, e.g. "/routes/2/upstream"; "" for the whole file. */
  path: string;
  /** What was expected, naming the bad value. */
  message: string;
  /** The likely fix, e.g. `did you mean "round-robin"?`. */
  hint?: string;
}

/** Plain form for crossing a thread boundary (class and fields do not survive structuredClone). */
export interface ConfigErrorRecord {
  code: ConfigErrorCode;
  source: string;
  message: string;
  issues: ConfigIssue[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  /** The file (or in-memory label) the config came from. */
  readonly source: string;
  readonly issues: ConfigIssue[];

  constructor(code: ConfigErrorCode, source: string, issues: ConfigIssue[]) {
    super(formatIssues(source, issues).join('\n'));
    this.code = code;
    this.source = source;
    this.issues = issues;
  }

  /** One line per issue: `conf/x.json: /upstreams/api/strategy: "x" is not one of ... (did you mean "y"?)`. */
  format(): string[] {
    return formatIssues(this.source, this.issues);
  }

  toRecord(): ConfigErrorRecord {
    return { code: this.code, source: this.source, message: this.message, issues: this.issues.map((i) => ({ ...i })) };
  }
}

function formatIssues(source: string, issues: ConfigIssue[]): string[] {
  return issues.map((issue) => {
    const where = issue.path === '' ? source : `${source}: ${issue.path}`;
    return `${where}: ${issue.message}${issue.hint === undefined ? '' : ` (${issue.hint})`}`;
  });
}

/** Appends one pointer segment, escaped per RFC 6901 section 3. */
export function childPointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Splits a JSON pointer into unescaped segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
