/**
 * Opt-in reload when the config file changes (server.watchConfig). Watches
 * the file's folder, not the file: editors and config managers replace the
 * file (write a temporary one, rename it over), which ends a watch on the
 * old inode; Kubernetes swaps a `..data` symlink in the folder. Any event in
 * the folder counts; a reload runs only when the file's bytes differ from
 * the last ones tried, so touching it, or an event for a neighbour, does
 * nothing, and a broken file is not retried until it changes again.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Saving is several events (truncate, write, rename, chmod) within a few
 * milliseconds; 200 ms of quiet gathers them (vim, VS Code, `cp`, ConfigMap
 * updates, on ext4 and overlayfs) without making the reload feel slow.
 */
export const WATCH_DEBOUNCE_MS = 200;

function digest(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined; // mid-replace, or deleted: the reload (if any) reports it
  }
}

export class ConfigWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastDigest: string | undefined;
  private readonly path: string;

  constructor(
    path: string,
    /** Runs the reload; the watcher waits for it before looking again. */
    private readonly onChange: () => Promise<unknown>,
    private readonly onError: (message: string) => void,
    private readonly debounceMs = WATCH_DEBOUNCE_MS,
  ) {
    this.path = resolve(path);
  }

  get watching(): boolean {
    return this.watcher !== undefined;
  }

  start(): void {
    if (this.watcher) return;
    this.lastDigest = digest(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, () => this.changed());
    } catch (err) {
      this.onError(`cannot watch ${dirname(this.path)} for config changes: ${(err as Error).message}; use SIGHUP or 'zproxy reload'`);
      return;
    }
    this.watcher.on('error', (err) => {
      this.onError(`watching ${dirname(this.path)} failed: ${err.message}; config changes are no longer picked up (SIGHUP and 'zproxy reload' still work)`);
      this.stop();
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Another reload (SIGHUP, admin) applied the file: its bytes are the ones tried. */
  noteApplied(): void {
    this.lastDigest = digest(this.path);
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.debounceMs);
  }

  private async check(): Promise<void> {
    this.timer = undefined;
    const now = digest(this.path);
    if (now === undefined || now === this.lastDigest) return;
    this.lastDigest = now;
    await this.onChange();
  }
}
