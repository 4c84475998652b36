/** Messages between the main thread and the logger thread (control only; records go through rings). */
import type { LoggingConfig } from '../../src/config/types.js';
import type { SinkStats } from './access-log-sink.js';

export type LoggerCommand =
  | { readonly kind: 'logger.attach-ring'; readonly slot: number; readonly ring: SharedArrayBuffer }
  | { readonly kind: 'logger.reopen' }
  | { readonly kind: 'logger.configure'; readonly logging: LoggingConfig }
  | { readonly kind: 'logger.stats'; readonly id: number }
  /** Write what the rings hold, wait up to flushMs for the sink, answer logger.stopped. */
  | { readonly kind: 'logger.flush-and-stop'; readonly id: number; readonly flushMs: number };

export type LoggerEvent =
  | { readonly kind: 'logger.ready' }
  | { readonly kind: 'logger.stats-reported'; readonly id: number; readonly stats: LoggerStats }
  /** `unwrittenBytes`: what a stalled sink still held when flushMs ran out. */
  | { readonly kind: 'logger.stopped'; readonly id: number; readonly unwrittenBytes: number }
  | { readonly kind: 'logger.sink-failed'; readonly message: string };

export interface LoggerStats {
  /** Records read from the rings and formatted. */
  readonly lines: number;
  /** Every record lost: sinkDrops + ringDrops. */
  readonly dropped: number;
  /** Lines the sink refused (not open, or past its hard cap). */
  readonly sinkDrops: number;
  /** Records workers could not write because their ring was full (the logger had stopped draining: the sink stalled). */
  readonly ringDrops: number;
  readonly rings: ReadonlyArray<{ slot: number; usedBytes: number; capacityBytes: number; written: number; read: number; drops: number }>;
  /** Undefined when access logging is off. */
  readonly sink: SinkStats | undefined;
}
