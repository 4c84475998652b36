/**
 * Where the logger thread's lines go: a file, /dev/stdout, /dev/stderr or a
 * FIFO, written by SonicBoom (pino's writer) on a NON-BLOCKING fd. That is
 * the point of this file: a write to a pipe nobody drains, or an open of a
 * FIFO nobody reads, then fails with EAGAIN/ENXIO instead of parking a
 * libuv pool thread for ever (which would also hang the process at exit).
 * SonicBoom retries EAGAIN every 100 ms on its own.
 * Backpressure is by bytes: past `pauseBytes` not yet written the sink says
 * it is backed up and the logger stops draining the rings, so the rings
 * fill and the workers drop (and count) new records; memory stays bounded.
 */
import fs from 'node:fs';
import { dirname } from 'node:path';
import sonicBoomModule, { type SonicBoom } from 'sonic-boom';

// sonic-boom is CommonJS: its constructor is the default export at run time.
const SonicBoomCtor = sonicBoomModule as unknown as typeof SonicBoom;

/** Hard cap on bytes held for the sink whatever pauseBytes says (one drained batch can overshoot it). */
const SINK_MAX_BYTES = 16 * 1024 * 1024;
/** A sink that failed (no reader on the FIFO, ENOSPC...) is reopened this often; lines meanwhile are dropped and counted. */
const RETRY_OPEN_MS = 1000;

export interface SinkStats {
  readonly path: string;
  readonly open: boolean;
  /** True while the sink holds pauseBytes or more: the rings are not drained. */
  readonly backedUp: boolean;
  readonly bufferedBytes: number;
  readonly writtenBytes: number;
  /** Lines refused: no open sink, or past the hard cap. */
  readonly droppedLines: number;
  /** Bytes a reopen gave up on (the old file stalled too long). */
  readonly lostBytes: number;
  readonly lastError: string | undefined;
}

interface Boom {
  readonly stream: SonicBoom;
  /** Bytes handed to the stream and not yet written. */
  buffered: number;
}

function openNonBlocking(path: string): number {
  if (path === '/dev/stdout') return 1;
  if (path === '/dev/stderr') return 2;
  fs.mkdirSync(dirname(path), { recursive: true });
  // O_NONBLOCK changes nothing for a regular file; for a FIFO it turns "wait for a reader" into ENXIO.
  const { O_WRONLY, O_APPEND, O_CREAT, O_NONBLOCK } = fs.constants;
  return fs.openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0o644);
}

export class AccessLogSink {
  private current: Boom | undefined;
  /** The previous file after a reopen, finishing its backlog. */
  private retiring: Boom | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private writtenBytes = 0;
  private droppedLines = 0;
  private lostBytes = 0;
  private lastError: string | undefined;
  /** flush() callers; each returns true once it resolved. */
  private waiters: Array<() => boolean> = [];

  constructor(
    readonly path: string,
    /** Bytes not yet written past which the sink is backed up. */
    private readonly pauseBytes: number,
    /** Called when a backed-up sink has room again (below half of pauseBytes). */
    private readonly onWritable: () => void,
    private readonly onError: (message: string) => void,
  ) {
    this.open();
  }

  get backedUp(): boolean {
    return this.current !== undefined && this.current.buffered >= this.pauseBytes;
  }

  /** Hands `text` (`lines` lines) to the writer; never waits. */
  write(text: string, lines: number): void {
    const b = this.current;
    if (!b) {
      this.droppedLines += lines;
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (b.buffered + bytes > SINK_MAX_BYTES) {
      this.droppedLines += lines;
      return;
    }
    b.buffered += bytes;
    b.stream.write(text);
  }

  /** logrotate moved the file: new lines go to a new file at the same path; the old one finishes its backlog. */
  reopen(): void {
    if (this.path === '/dev/stdout' || this.path === '/dev/stderr') return;
    const old = this.current;
    this.current = undefined;
    this.open();
    if (!old) return;
    if (this.retiring) this.discard(this.retiring);
    this.retiring = old;
    old.stream.end();
  }

  /** Resolves when everything handed over is written, or after `timeoutMs`; returns the bytes left unwritten. */
  flush(timeoutMs: number): Promise<number> {
    const left = (): number => (this.current?.buffered ?? 0) + (this.retiring?.buffered ?? 0);
    if (left() === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(left()), timeoutMs);
      this.waiters.push(() => {
        if (left() > 0) return false;
        clearTimeout(timer);
        resolve(0);
        return true;
      });
    });
  }

  stats(): SinkStats {
    return {
      path: this.path,
      open: this.current !== undefined,
      backedUp: this.backedUp,
      bufferedBytes: this.current?.buffered ?? 0,
      writtenBytes: this.writtenBytes,
      droppedLines: this.droppedLines,
      lostBytes: this.lostBytes,
      lastError: this.lastError,
    };
  }

  /** A reload moved the log elsewhere: write what is buffered, then close (a stalled file is given up at the next close()). */
  end(): void {
    clearTimeout(this.retryTimer);
    if (this.retiring) this.discard(this.retiring);
    this.retiring = this.current;
    this.current = undefined;
    this.retiring?.stream.end();
  }

  close(): void {
    clearTimeout(this.retryTimer);
    if (this.current) this.discard(this.current);
    if (this.retiring) this.discard(this.retiring);
    this.current = undefined;
    this.retiring = undefined;
  }

  private open(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let fd: number;
    try {
      fd = openNonBlocking(this.path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.fail(e.code === 'ENXIO' ? `${this.path} is a FIFO with no reader (ENXIO)` : e.message);
      return;
    }
    // minLength 0: write as soon as possible; no maxLength: write() enforces the cap in lines.
    const stream = new SonicBoomCtor({ fd, sync: false });
    const b: Boom = { stream, buffered: 0 };
    stream.on('write', (n: number) => this.written(b, n));
    stream.on('error', (err: Error) => {
      if (this.current !== b) return this.discard(b);
      this.current = undefined;
      this.discard(b);
      this.fail(err.message);
    });
    this.current = b;
    if (this.lastError !== undefined) this.onError(`access log ${this.path}: writing again`);
    this.lastError = undefined;
  }

  private written(b: Boom, n: number): void {
    const wasBackedUp = b === this.current && this.backedUp;
    b.buffered = Math.max(0, b.buffered - n);
    this.writtenBytes += n;
    if (b === this.retiring && b.buffered === 0) this.retiring = undefined;
    if (wasBackedUp && b.buffered < this.pauseBytes / 2) this.onWritable();
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => !w());
  }

  private fail(message: string): void {
    if (this.lastError !== message) this.onError(`access log ${this.path}: ${message}; dropping lines (counted) and retrying every ${RETRY_OPEN_MS / 1000} s`);
    this.lastError = message;
    this.retryTimer = setTimeout(() => this.open(), RETRY_OPEN_MS);
    this.onWritable();
  }

  private discard(b: Boom): void {
    this.lostBytes += b.buffered;
    b.buffered = 0;
    if (this.retiring === b) this.retiring = undefined;
    // SonicBoom closes the fd (never 1 or 2) once destroyed.
    b.stream.destroy();
  }
}
