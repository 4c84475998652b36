/**
 * Errors that cross actor and thread boundaries travel as plain records:
 * structuredClone and msgpackr drop an Error subclass's name and fields
 * (checked on Node 20), so code branches on `code`, never on `instanceof`.
 */
export interface ErrorRecord {
  /** Stable machine-readable code, e.g. 'kernel.ask-timeout'. */
  readonly code: string;
  /** HTTP status the error maps to when it ends a request (500 when none applies). */
  readonly status: number;
  readonly message: string;
  /** True when the same work may succeed if tried again (elsewhere). */
  readonly retryable: boolean;
  /** Who raised it: an actor name, a worker id, a module. */
  readonly source: string;
  readonly context?: Readonly<Record<string, string | number | boolean>>;
}

/** A typed error with a stable code; convert with toRecord() before it leaves the thread. */
export class ZproxyError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly source: string;
  readonly context: Readonly<Record<string, string | number | boolean>> | undefined;

  constructor(record: Omit<ErrorRecord, 'retryable' | 'status'> & { status?: number; retryable?: boolean }) {
    super(record.message);
    this.name = 'ZproxyError';
    this.code = record.code;
    this.status = record.status ?? 500;
    this.retryable = record.retryable ?? false;
    this.source = record.source;
    this.context = record.context;
  }

  toRecord(): ErrorRecord {
    return toErrorRecord(this, this.source);
  }
}

/** Turns anything thrown into a record; unknown throwables become 'internal' 500s. */
export function toErrorRecord(err: unknown, source: string): ErrorRecord {
  if (err instanceof ZproxyError) {
    const rec: ErrorRecord = {
      code: err.code,
      status: err.status,
      message: err.message,
      retryable: err.retryable,
      source: err.source,
    };
    return err.context ? { ...rec, context: err.context } : rec;
  }
  if (isErrorRecord(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string'
    ? `internal.${(err as NodeJS.ErrnoException).code}`
    : 'internal';
  return { code, status: 500, message, retryable: false, source };
}

export function isErrorRecord(value: unknown): value is ErrorRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.status === 'number' && typeof v.message === 'string'
    && typeof v.source === 'string' && typeof v.retryable === 'boolean';
}
