/** Messages between the main thread and the logger thread (control only; records go through rings). */
import type { LoggingConfig } from '../../src/config/types.js';

export type LoggerCommand =
  | { readonly kind: 'logger.attach-ring'; readonly slot: number; readonly ring: SharedArrayBuffer }
  | { readonly kind: 'logger.reopen' }
  | { readonly kind: 'logger.configure'; readonly logging: LoggingConfig }
  | { readonly kind: 'logger.stats'; readonly id: number }
  | { readonly kind: 'logger.flush-and-stop'; readonly id: number };

export type LoggerEvent =
  | { readonly kind: 'logger.ready' }
  | { readonly kind: 'logger.stats-reported'; readonly id: number; readonly stats: LoggerStats }
  | { readonly kind: 'logger.stopped'; readonly id: number }
  | { readonly kind: 'logger.sink-failed'; readonly message: string };

export interface LoggerStats {
  readonly lines: number;
  /** Records the sink refused because it was stalled (its buffer was full). */
  readonly sinkDrops: number;
  readonly rings: ReadonlyArray<{ slot: number; usedBytes: number; capacityBytes: number; written: number; read: number; drops: number }>;
}
