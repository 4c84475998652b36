/**
 * Named counters, gauges and fixed-bucket histograms in shared memory: one
 * SharedArrayBuffer per thread slot, written only by the thread that owns
 * the slot and read (summed across slots) by any other thread, with no
 * message per update. Knows nothing of HTTP or of any exposition format;
 * a series is a name plus an opaque label string.
 *
 * Why one writer per slot and plain Float64 stores instead of Atomics.add:
 * Atomics work on integer arrays only; an Int32 counter of bytes wraps after
 * 2 GiB and a BigInt64 one allocates on every add. With a single writer per
 * slot no read-modify-write can race, so `values[i] += n` on a Float64Array
 * (exact to 2^53) is correct, and an aligned 8-byte store does not tear on
 * the 64-bit targets Node supports. The reader may see a value one update
 * late, which a scrape cannot tell from a scrape a microsecond earlier. New
 * series are published with Atomics.store of the directory count after their
 * name and layout are written, so a reader never sees a half-written entry.
 *
 * Slot layout (bytes; every region 8-byte aligned):
 *   header    Int32[16]            [0] series published, [1] value words used,
 *                                  [2] name bytes used, [3] registrations dropped (full)
 *   directory Int32[4 * maxSeries] per series: name offset, name length, kind | bounds << 8, value base
 *   names     Uint8[nameBytes]     UTF-8 "name" or "name{labels}"
 *   values    Float64[maxValues]   words [0, SCRATCH_WORDS) are a private sink for series that did not fit
 *
 * A histogram with n bounds takes 2n + 2 value words: its n bounds, n + 1
 * bucket counts (not cumulative; the last is +Inf), and the sum.
 */
import { ZproxyError } from './errors.js';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

const KIND_CODE: Record<MetricKind, number> = { counter: 1, gauge: 2, histogram: 3 };
const KIND_NAME: readonly (MetricKind | undefined)[] = [undefined, 'counter', 'gauge', 'histogram'];

const HEADER_INT32S = 16;
const H_SERIES = 0;
const H_VALUES = 1;
const H_NAMES = 2;
const H_DROPPED = 3;
const DIR_INT32S = 4;
/** Value words reserved as a sink for series registered after the slot filled up; never read. */
const SCRATCH_WORDS = 64;
/** A histogram must fit the scratch sink: 2n + 2 <= 64. */
export const MAX_HISTOGRAM_BOUNDS = 31;

export interface MetricsCapacity {
  /** Series (counters, gauges, histograms) per slot. */
  readonly maxSeries: number;
  /** Float64 words per slot: 1 per counter or gauge, 2n + 2 per histogram with n bounds. */
  readonly maxValues: number;
  /** UTF-8 bytes of series names and labels per slot. */
  readonly nameBytes: number;
}

/**
 * 2048 series, 16384 values, 128 KiB of names: ~290 KiB per slot, enough for
 * ~50 routes with every method and status class seen plus their histograms.
 */
export const DEFAULT_METRICS_CAPACITY: MetricsCapacity = { maxSeries: 2048, maxValues: 16384, nameBytes: 128 * 1024 };

interface Layout {
  readonly dirOffset: number;
  readonly namesOffset: number;
  readonly valuesOffset: number;
  readonly totalBytes: number;
  readonly capacity: MetricsCapacity;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function layoutFor(capacity: MetricsCapacity): Layout {
  const dirOffset = HEADER_INT32S * 4;
  const namesOffset = align8(dirOffset + capacity.maxSeries * DIR_INT32S * 4);
  const valuesOffset = align8(namesOffset + capacity.nameBytes);
  return { dirOffset, namesOffset, valuesOffset, totalBytes: valuesOffset + capacity.maxValues * 8, capacity };
}

/** The capacity a slot buffer was made with, read back from its size and the sizes stored in it. */
const CAPACITY_WORDS = { maxSeries: 4, maxValues: 5, nameBytes: 6 } as const;

function metricsError(code: string, message: string, context: Record<string, string | number>): ZproxyError {
  return new ZproxyError({ code, message, source: 'kernel.shared-metrics', context });
}

/** Creates one slot's buffer. */
export function createMetricsSlotBuffer(capacity: MetricsCapacity = DEFAULT_METRICS_CAPACITY): SharedArrayBuffer {
  if (capacity.maxValues <= SCRATCH_WORDS || capacity.maxSeries < 1 || capacity.nameBytes < 1) {
    throw metricsError('metrics.bad-capacity', `metrics capacity too small: need maxValues > ${SCRATCH_WORDS}, maxSeries >= 1, nameBytes >= 1`, { ...capacity });
  }
  const layout = layoutFor(capacity);
  const sab = new SharedArrayBuffer(layout.totalBytes);
  const header = new Int32Array(sab, 0, HEADER_INT32S);
  header[H_VALUES] = SCRATCH_WORDS;
  header[CAPACITY_WORDS.maxSeries] = capacity.maxSeries;
  header[CAPACITY_WORDS.maxValues] = capacity.maxValues;
  header[CAPACITY_WORDS.nameBytes] = capacity.nameBytes;
  return sab;
}

/** Views over one slot buffer, shared by the writer and the reader. */
class SlotViews {
  readonly header: Int32Array;
  readonly dir: Int32Array;
  readonly names: Uint8Array;
  readonly values: Float64Array;
  readonly capacity: MetricsCapacity;

  constructor(readonly buffer: SharedArrayBuffer) {
    const header = new Int32Array(buffer, 0, HEADER_INT32S);
    const capacity: MetricsCapacity = {
      maxSeries: header[CAPACITY_WORDS.maxSeries]!,
      maxValues: header[CAPACITY_WORDS.maxValues]!,
      nameBytes: header[CAPACITY_WORDS.nameBytes]!,
    };
    const layout = layoutFor(capacity);
    if (capacity.maxSeries < 1 || layout.totalBytes !== buffer.byteLength) {
      throw metricsError('metrics.bad-buffer', 'not a metrics slot buffer (sizes do not match its header)', { byteLength: buffer.byteLength });
    }
    this.header = header;
    this.capacity = capacity;
    this.dir = new Int32Array(buffer, layout.dirOffset, capacity.maxSeries * DIR_INT32S);
    this.names = new Uint8Array(buffer, layout.namesOffset, capacity.nameBytes);
    this.values = new Float64Array(buffer, layout.valuesOffset, capacity.maxValues);
  }
}

/** Where a histogram lives in its slot; `bounds` is a private copy so observe() never reads the shared bounds. */
export interface HistogramHandle {
  readonly values: Float64Array;
  readonly bounds: Float64Array;
  /** Index of the first bucket count (le = bounds[0]). */
  readonly countsBase: number;
  readonly sumIndex: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function seriesKey(name: string, labels: string): string {
  return labels === '' ? name : `${name}{${labels}}`;
}

interface LocalSeries {
  readonly kind: number;
  readonly base: number;
  readonly handle: HistogramHandle | undefined;
}

/**
 * The owning thread's side of one slot. Registration is by name (idempotent:
 * the same name and labels give the same index, also after a respawned
 * thread attaches to the slot its predecessor filled, so counters continue).
 * Attaching zeroes the gauges: they described the thread that died.
 */
export class MetricsWriter {
  /** The slot's values; hot paths add to `values[index]` directly. */
  readonly values: Float64Array;
  private readonly v: SlotViews;
  private readonly local = new Map<string, LocalSeries>();

  constructor(buffer: SharedArrayBuffer) {
    this.v = new SlotViews(buffer);
    this.values = this.v.values;
    const count = Atomics.load(this.v.header, H_SERIES);
    for (let i = 0; i < count; i++) {
      const e = readEntry(this.v, i);
      if (e.kind === KIND_CODE.gauge) this.values[e.base] = 0;
      this.local.set(e.key, { kind: e.kind, base: e.base, handle: e.kind === KIND_CODE.histogram ? this.handleAt(e.base, e.bounds) : undefined });
    }
  }

  /** Index of a counter: add to values[index]. */
  counter(name: string, labels = ''): number {
    return this.scalar(name, labels, KIND_CODE.counter);
  }

  /** Index of a gauge: set values[index]. */
  gauge(name: string, labels = ''): number {
    return this.scalar(name, labels, KIND_CODE.gauge);
  }

  /** A histogram with ascending finite `bounds` (upper bounds, inclusive, like Prometheus `le`). */
  histogram(name: string, labels: string, bounds: readonly number[]): HistogramHandle {
    const key = seriesKey(name, labels);
    const known = this.local.get(key);
    if (known) {
      if (known.kind !== KIND_CODE.histogram) throw this.kindClash(key, known.kind, KIND_CODE.histogram);
      return known.handle!;
    }
    const n = bounds.length;
    if (n < 1 || n > MAX_HISTOGRAM_BOUNDS) throw metricsError('metrics.bad-bounds', `histogram ${key} needs 1 to ${MAX_HISTOGRAM_BOUNDS} bounds, got ${n}`, { series: key });
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(bounds[i]!) || (i > 0 && bounds[i]! <= bounds[i - 1]!)) {
        throw metricsError('metrics.bad-bounds', `histogram ${key} bounds must be finite and strictly ascending`, { series: key });
      }
    }
    const base = this.publish(key, KIND_CODE.histogram, 2 * n + 2, n, (b) => { for (let i = 0; i < n; i++) this.values[b + i] = bounds[i]!; });
    if (base < 0) {
      // Full: observations go to the scratch words, which no reader looks at.
      return { values: this.values, bounds: Float64Array.from(bounds), countsBase: n, sumIndex: 2 * n + 1 };
    }
    const handle = this.handleAt(base, Float64Array.from(bounds));
    this.local.set(key, { kind: KIND_CODE.histogram, base, handle });
    return handle;
  }

  /** Series that could not be registered because the slot was full (their updates are discarded). */
  get dropped(): number {
    return Atomics.load(this.v.header, H_DROPPED);
  }

  private scalar(name: string, labels: string, kind: number): number {
    const key = seriesKey(name, labels);
    const known = this.local.get(key);
    if (known) {
      if (known.kind !== kind) throw this.kindClash(key, known.kind, kind);
      return known.base;
    }
    const base = this.publish(key, kind, 1, 0, () => {});
    if (base < 0) return 0; // scratch word 0
    this.local.set(key, { kind, base, handle: undefined });
    return base;
  }

  /** Writes a directory entry and publishes it; -1 (and a dropped count) when the slot is full. */
  private publish(key: string, kind: number, words: number, bounds: number, init: (base: number) => void): number {
    const v = this.v;
    const h = v.header;
    const index = h[H_SERIES]!;
    const base = h[H_VALUES]!;
    const nameAt = h[H_NAMES]!;
    const bytes = encoder.encode(key);
    if (index >= v.capacity.maxSeries || base + words > v.capacity.maxValues || nameAt + bytes.length > v.capacity.nameBytes) {
      Atomics.add(h, H_DROPPED, 1);
      return -1;
    }
    v.names.set(bytes, nameAt);
    for (let i = 0; i < words; i++) v.values[base + i] = 0;
    init(base);
    const d = index * DIR_INT32S;
    v.dir[d] = nameAt;
    v.dir[d + 1] = bytes.length;
    v.dir[d + 2] = kind | (bounds << 8);
    v.dir[d + 3] = base;
    h[H_VALUES] = base + words;
    h[H_NAMES] = nameAt + bytes.length;
    // Publishing last: a reader that sees the new count sees the entry, its name and its bounds.
    Atomics.store(h, H_SERIES, index + 1);
    return base;
  }

  private handleAt(base: number, bounds: Float64Array): HistogramHandle {
    const n = bounds.length;
    return { values: this.values, bounds, countsBase: base + n, sumIndex: base + 2 * n + 1 };
  }

  private kindClash(key: string, had: number, want: number): ZproxyError {
    return metricsError('metrics.kind-clash', `series ${key} is a ${KIND_NAME[had]}, not a ${KIND_NAME[want]}`, { series: key });
  }
}

/**
 * Counts one observation. Hot path: a linear scan over the bounds (16 or so;
 * faster than a binary search at that size) and two stores, no allocation.
 */
export function observe(h: HistogramHandle, value: number): void {
  const b = h.bounds;
  const n = b.length;
  let i = 0;
  while (i < n && value > b[i]!) i++;
  h.values[h.countsBase + i]! += 1;
  h.values[h.sumIndex]! += value;
}

interface Entry {
  readonly key: string;
  readonly kind: number;
  readonly base: number;
  readonly bounds: Float64Array;
}

function readEntry(v: SlotViews, i: number): Entry {
  const d = i * DIR_INT32S;
  const nameAt = v.dir[d]!;
  const nameLen = v.dir[d + 1]!;
  const kindWord = v.dir[d + 2]!;
  const base = v.dir[d + 3]!;
  const n = kindWord >> 8;
  // decode() refuses shared memory; copy the few bytes out first.
  const key = decoder.decode(v.names.slice(nameAt, nameAt + nameLen));
  return { key, kind: kindWord & 0xff, base, bounds: n > 0 ? v.values.slice(base, base + n) : new Float64Array(0) };
}

/** One series as read: a scalar value, or a histogram's bounds, per-bucket counts (n + 1, last +Inf), sum and count. */
export interface MetricSample {
  readonly name: string;
  /** Opaque label string as registered ('' for none). */
  readonly labels: string;
  readonly kind: MetricKind;
  /** Counter or gauge value; the observation count for a histogram. */
  value: number;
  readonly bounds?: readonly number[];
  readonly counts?: number[];
  sum?: number;
}

/** A reader's cache of one slot's directory: entries are append-only, so only new ones are parsed. */
class SlotReader {
  private readonly v: SlotViews;
  private readonly entries: Entry[] = [];

  constructor(buffer: SharedArrayBuffer) {
    this.v = new SlotViews(buffer);
  }

  get dropped(): number {
    return Atomics.load(this.v.header, H_DROPPED);
  }

  /** Adds this slot's series into `into` (by key), summing with what is there. */
  addTo(into: Map<string, MetricSample>): void {
    const count = Atomics.load(this.v.header, H_SERIES);
    for (let i = this.entries.length; i < count; i++) this.entries.push(readEntry(this.v, i));
    const values = this.v.values;
    for (const e of this.entries) {
      let s = into.get(e.key);
      const kind = KIND_NAME[e.kind]!;
      if (!s) {
        const brace = e.key.indexOf('{');
        const name = brace < 0 ? e.key : e.key.slice(0, brace);
        const labels = brace < 0 ? '' : e.key.slice(brace + 1, -1);
        s = kind === 'histogram'
          ? { name, labels, kind, value: 0, bounds: Array.from(e.bounds), counts: new Array<number>(e.bounds.length + 1).fill(0), sum: 0 }
          : { name, labels, kind, value: 0 };
        into.set(e.key, s);
      }
      if (kind !== 'histogram') {
        s.value += values[e.base]!;
        continue;
      }
      const n = e.bounds.length;
      if (s.bounds!.length !== n) continue; // same name with other bounds in another slot: a bug upstream; never mix buckets
      const counts = s.counts!;
      for (let k = 0; k <= n; k++) {
        const c = values[e.base + n + k]!;
        counts[k]! += c;
        s.value += c;
      }
      s.sum! += values[e.base + 2 * n + 1]!;
    }
  }
}

/**
 * The reading side: one buffer per slot (worker id), created on first use
 * and kept across restarts of the thread in that slot, like the logger's rings.
 */
export class SharedMetricsTable {
  private readonly slots = new Map<number, { buffer: SharedArrayBuffer; reader: SlotReader }>();

  constructor(private readonly capacity: MetricsCapacity = DEFAULT_METRICS_CAPACITY) {}

  /** The buffer slot `slot` writes into (hand it to that thread; it makes a MetricsWriter over it). */
  slotBuffer(slot: number): SharedArrayBuffer {
    let s = this.slots.get(slot);
    if (!s) {
      const buffer = createMetricsSlotBuffer(this.capacity);
      s = { buffer, reader: new SlotReader(buffer) };
      this.slots.set(slot, s);
    }
    return s.buffer;
  }

  slotIds(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  /** Every series, summed over all slots (label sets that differ stay apart). */
  read(): MetricSample[] {
    const into = new Map<string, MetricSample>();
    for (const s of this.slots.values()) s.reader.addTo(into);
    return [...into.values()];
  }

  /** One slot's series; empty when the slot was never created. */
  readSlot(slot: number): MetricSample[] {
    const s = this.slots.get(slot);
    if (!s) return [];
    const into = new Map<string, MetricSample>();
    s.reader.addTo(into);
    return [...into.values()];
  }

  /** Registrations refused over all slots because a slot was full. */
  dropped(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.reader.dropped;
    return n;
  }
}
