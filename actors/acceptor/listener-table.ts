import type { RuntimeListenerConfig } from '../supervisor/runtime-config.js';
import type { BoundListener, IndexedListener, ListenerState, ListenerView } from './acceptor-strategy.js';

/**
 * The listeners a main acceptor half holds, each with its strategy's handle
 * (a raw listening fd, a reuseport reservation, a net.Server) and its state
 * in a reload (pending -> live -> stopped -> released). Strategies supply
 * how to bind and close one; the bookkeeping is the same for all three.
 */

export interface ListenerEntry<H> extends ListenerView {
  readonly handle: H;
  state: ListenerState;
}

export interface BoundHandle<H> {
  readonly bound: BoundListener;
  readonly handle: H;
}

export class ListenerTable<H> {
  private nextKey = 1;
  private readonly byKey = new Map<number, ListenerEntry<H>>();

  constructor(
    /** Binds one listener; `key` is the one its entry will get. Rejects with a typed error. */
    private readonly bindOne: (listener: IndexedListener, key: number) => Promise<BoundHandle<H>> | BoundHandle<H>,
    private readonly closeOne: (handle: H) => void,
  ) {}

  /** Binds in order; on the first failure closes what this call bound and rethrows. */
  async bind(listeners: readonly IndexedListener[], state: ListenerState): Promise<ListenerEntry<H>[]> {
    const made: ListenerEntry<H>[] = [];
    try {
      for (const l of listeners) {
        const key = this.nextKey++;
        const { bound, handle } = await this.bindOne(l, key);
        const entry: ListenerEntry<H> = { key, config: l.config, bound, handle, state };
        this.byKey.set(key, entry);
        made.push(entry);
      }
    } catch (err) {
      this.release(made.map((e) => e.key));
      throw err;
    }
    return made;
  }

  get(key: number): ListenerEntry<H> | undefined {
    return this.byKey.get(key);
  }

  all(): ListenerEntry<H>[] {
    return [...this.byKey.values()];
  }

  live(): ListenerEntry<H>[] {
    return this.all().filter((e) => e.state === 'live');
  }

  setState(keys: readonly number[], state: ListenerState): ListenerEntry<H>[] {
    const changed: ListenerEntry<H>[] = [];
    for (const key of keys) {
      const e = this.byKey.get(key);
      if (!e) continue;
      e.state = state;
      changed.push(e);
    }
    return changed;
  }

  release(keys: readonly number[]): void {
    for (const key of keys) {
      const e = this.byKey.get(key);
      if (!e) continue;
      this.byKey.delete(key);
      this.closeOne(e.handle);
    }
  }

  releaseAll(): void {
    this.release([...this.byKey.keys()]);
  }

  views(): ListenerView[] {
    return this.all().map(({ key, config, bound, state }) => ({ key, config, bound, state }));
  }
}

/** Config listeners with their indexes, as open() receives them. */
export function indexed(listeners: readonly RuntimeListenerConfig[]): IndexedListener[] {
  return listeners.map((config, index) => ({ index, config }));
}
