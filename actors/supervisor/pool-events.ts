/**
 * What the worker pool reports for logs and the control plane: every event
 * is emitted on the pool under its kind (and under 'event'), and the latest
 * ones are kept for stats(). `atMs` is wall-clock time for log lines.
 */

export type PoolEvent =
  | { readonly kind: 'worker-started'; readonly atMs: number; readonly workerId: number; readonly threadId: number; readonly generation: number; readonly startMs: number; readonly cpu: number | undefined; readonly pinned: boolean }
  | { readonly kind: 'worker-crashed'; readonly atMs: number; readonly workerId: number; readonly exitCode: number; readonly reason: string }
  | { readonly kind: 'worker-hung'; readonly atMs: number; readonly workerId: number; readonly heartbeatAgeMs: number }
  | { readonly kind: 'worker-restarted'; readonly atMs: number; readonly workerId: number; readonly threadId: number; readonly downMs: number; readonly restarts: number }
  | { readonly kind: 'worker-backoff'; readonly atMs: number; readonly workerId: number; readonly crashesInWindow: number; readonly delayMs: number; readonly message: string }
  | { readonly kind: 'worker-pin-failed'; readonly atMs: number; readonly workerId: number; readonly cpu: number; readonly reason: string }
  | { readonly kind: 'acceptor-error'; readonly atMs: number; readonly listener: string; readonly message: string }
  | { readonly kind: 'reload-applied'; readonly atMs: number; readonly reloadId: number; readonly workers: number }
  | { readonly kind: 'reload-rejected'; readonly atMs: number; readonly reloadId: number; readonly error: string }
  | { readonly kind: 'rebalanced'; readonly atMs: number; readonly workerId: number; readonly open: number; readonly mean: number; readonly asked: number; readonly spreadBefore: number }
  | { readonly kind: 'drain-started'; readonly atMs: number; readonly deadlineMs: number }
  | { readonly kind: 'drain-finished'; readonly atMs: number; readonly durationMs: number; readonly failures: number };

export type PoolEventKind = PoolEvent['kind'];

/** Distributes Omit over the union so each member keeps its own fields. */
export type PoolEventInput = PoolEvent extends infer E ? (E extends PoolEvent ? Omit<E, 'atMs'> : never) : never;

/** The latest `capacity` events, oldest first. */
export class EventLog {
  private readonly items: PoolEvent[] = [];

  constructor(private readonly capacity: number) {}

  push(event: PoolEvent): void {
    this.items.push(event);
    if (this.items.length > this.capacity) this.items.shift();
  }

  list(): PoolEvent[] {
    return [...this.items];
  }
}
