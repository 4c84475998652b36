/**
 * FIFO queue for one actor's messages. A growable circular array: push and
 * shift are O(1) without the O(n) Array#shift copy, and the backing array is
 * reused so a busy mailbox allocates nothing in steady state.
 */
export class Mailbox<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 16) {
    this.items = new Array<T | undefined>(initialCapacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  /** Removes everything, handing each item to fn (used to fail in-flight work on a crash). */
  drainTo(fn: (item: T) => void): void {
    for (let item = this.shift(); item !== undefined; item = this.shift()) fn(item);
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
