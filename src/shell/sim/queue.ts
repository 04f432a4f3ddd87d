/**
 * The simulator's event queue: a binary min-heap ordered by (virtual time, sequence number).
 * The sequence number is assigned at push, so events due at the same moment run in the order
 * they were scheduled and a run never depends on the heap's internal tie-breaking.
 */

/** Anything the queue can hold: it only reads `time` and `seq`. */
export interface Timed {
  readonly time: number;
  readonly seq: number;
}

const before = (x: Timed, y: Timed): boolean => x.time < y.time || (x.time === y.time && x.seq < y.seq);

/** A min-heap of timed events. */
export class EventQueue<T extends Timed> {
  private readonly heap: T[] = [];

  /** How many events are queued. */
  get size(): number {
    return this.heap.length;
  }

  /** The earliest event, without removing it. */
  peek(): T | undefined {
    return this.heap[0];
  }

  /** Adds an event. */
  push(item: T): void {
    const h = this.heap;
    let i = h.length;
    h.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as T;
      if (!before(item, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  /** Removes and returns the earliest event. */
  pop(): T | undefined {
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
      let child = h[l] as T;
      if (r < n && before(h[r] as T, child)) {
        c = r;
        child = h[r] as T;
      }
      if (!before(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Every queued event, in no particular order (for inspection). */
  items(): ReadonlyArray<T> {
    return this.heap;
  }
}
