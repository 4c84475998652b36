/**
 * Named 32-bit counters in one SharedArrayBuffer, shared by every thread:
 * a name hashes to a slot and the first thread to use a slot claims it with
 * compareExchange, so every thread that derives the same name gets the same
 * counter without any message. Linear probing; a full table is a startup
 * error (size it to the config), not a silent collision.
 */
const EMPTY = 0;

export class SharedSlots {
  private readonly keys: Int32Array;
  readonly values: Int32Array;
  private readonly capacity: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.capacity = buffer.byteLength / 8;
    this.keys = new Int32Array(buffer, 0, this.capacity);
    this.values = new Int32Array(buffer, this.capacity * 4, this.capacity);
  }

  static create(capacity = 4096): SharedSlots {
    return new SharedSlots(new SharedArrayBuffer(capacity * 8));
  }

  /** The slot index for `name`, claimed on first use. */
  slot(name: string): number {
    const key = hashName(name);
    let i = (key >>> 0) % this.capacity;
    for (let probes = 0; probes < this.capacity; probes++) {
      const prev = Atomics.compareExchange(this.keys, i, EMPTY, key);
      if (prev === EMPTY || prev === key) return i;
      i = (i + 1) % this.capacity;
    }
    throw new Error(`shared slot table full (${this.capacity} slots) while adding '${name}'`);
  }
}

/** FNV-1a, forced non-zero (0 marks an empty slot). */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h === 0 ? 1 : h | 0;
}
