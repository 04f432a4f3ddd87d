/**
 * The simulator's event queue, ordered by (virtual time, sequence number). The sequence number
 * is assigned at push, so events due at the same moment run in the order they were scheduled and
 * a run never depends on the queue's internals.
 *
 * Two stores, merged at every pop: a timing wheel of `QUEUE_WHEEL_MS` one-millisecond buckets for
 * the near future (where nearly every event lands: link latencies are whole milliseconds, and a
 * bucket is a FIFO, so push and pop cost O(1)), and a binary min-heap for everything else (events
 * beyond the wheel's window, at fractional times, or pushed out of sequence order). Every event
 * in the wheel lies in [cursor, cursor + QUEUE_WHEEL_MS), so a bucket only ever holds one time.
 */

/** Anything the queue can hold: it only reads `time` and `seq`. */
export interface Timed {
  readonly time: number;
  readonly seq: number;
}

/** Milliseconds the timing wheel covers ahead of the earliest time it may hold (a power of two). */
export const QUEUE_WHEEL_MS = 1024;

const MASK = QUEUE_WHEEL_MS - 1;

const before = (x: Timed, y: Timed): boolean => x.time < y.time || (x.time === y.time && x.seq < y.seq);

/** A bucket of the wheel: events of one time, oldest first from `head`. */
interface Bucket<T> {
  items: T[];
  head: number;
}

/** A queue of timed events, earliest first. */
export class EventQueue<T extends Timed> {
  private readonly heap: T[] = [];
  private readonly wheel: Array<Bucket<T>> = Array.from({ length: QUEUE_WHEEL_MS }, () => ({ items: [], head: 0 }));
  /** No event in the wheel is earlier than this (a whole millisecond). */
  private cursor = 0;
  /** Events in the wheel. */
  private inWheel = 0;

  /** How many events are queued. */
  get size(): number {
    return this.heap.length + this.inWheel;
  }

  /** The earliest event, without removing it. */
  peek(): T | undefined {
    const w = this.inWheel > 0 ? this.wheelHead() : undefined;
    const h = this.heap[0];
    if (w === undefined) return h;
    return h !== undefined && before(h, w) ? h : w;
  }

  /** Adds an event. */
  push(item: T): void {
    const t = item.time;
    if (t >= this.cursor && t - this.cursor < QUEUE_WHEEL_MS && Number.isInteger(t)) {
      const b = this.wheel[t & MASK]!;
      const last = b.items[b.items.length - 1];
      if (last === undefined || last.seq < item.seq) {
        b.items.push(item);
        this.inWheel++;
        return;
      }
    }
    this.heapPush(item);
  }

  /** Removes and returns the earliest event. */
  pop(): T | undefined {
    return this.popUntil(Infinity);
  }

  /** Removes and returns the earliest event if it is due by `tMs`; otherwise leaves it. */
  popUntil(tMs: number): T | undefined {
    let item: T | undefined;
    const w = this.inWheel > 0 ? this.wheelHead() : undefined;
    const h = this.heap[0];
    if (w !== undefined && (h === undefined || before(w, h))) {
      if (w.time > tMs) return undefined;
      const b = this.wheel[this.cursor & MASK]!;
      b.head++;
      if (b.head === b.items.length) {
        b.items.length = 0;
        b.head = 0;
      }
      this.inWheel--;
      item = w;
    } else {
      if (h === undefined || h.time > tMs) return undefined;
      item = this.heapPop();
    }
    // Every event left is at least as late as this one: the wheel's window may start here.
    if (item !== undefined && item.time > this.cursor) this.cursor = Math.ceil(item.time);
    return item;
  }

  /** Every queued event, in no particular order (for inspection). */
  items(): ReadonlyArray<T> {
    const out = [...this.heap];
    for (const b of this.wheel) for (let i = b.head; i < b.items.length; i++) out.push(b.items[i]!);
    return out;
  }

  /** The wheel's earliest event (the wheel must not be empty); moves the cursor onto it. */
  private wheelHead(): T {
    let b = this.wheel[this.cursor & MASK]!;
    while (b.head === b.items.length) {
      this.cursor++;
      b = this.wheel[this.cursor & MASK]!;
    }
    return b.items[b.head]!;
  }

  private heapPush(item: T): void {
    const h = this.heap;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(item, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  private heapPop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = h[l]!;
      if (r < n && before(h[r]!, child)) {
        c = r;
        child = h[r]!;
      }
      if (!before(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
