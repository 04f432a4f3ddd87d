/**
 * The user's message queue: bounded FIFO for `recv`, plus waiters for `next` and async iteration.
 * A message goes straight to the oldest waiter if there is one. The queue is bounded twice: by
 * count (`max`) and by bytes (`bytesMax`, each message counting the bytes its `push` gives); a
 * message that would pass either bound drops the oldest queued messages until it fits, each counted, so an
 * application that never reads cannot grow memory. The newest message is always queued: one
 * larger than `bytesMax` on its own waits alone.
 */

/** How an inbox is bounded. */
export interface InboxOptions {
  /** Messages queued at most. */
  readonly max: number;
  /** Bytes queued at most, as `push` counts them (default: no byte bound). */
  readonly bytesMax?: number;
  /** Dead slots tolerated at the front before the arrays are compacted. */
  readonly compactAfter?: number;
}

/** A bounded FIFO with waiters. */
export class Inbox<T> {
  private items: Array<T | undefined> = [];
  /** What each queued message counts, parallel to `items`. */
  private sizes: number[] = [];
  private head = 0;
  private queuedBytes = 0;
  private readonly waiters: Array<(m: T | undefined) => void> = [];
  private closed = false;
  private readonly max: number;
  private readonly bytesMax: number;
  private readonly compactAfter: number;
  /** Messages dropped because the queue was full. */
  dropped = 0;

  constructor(options: InboxOptions) {
    this.max = options.max;
    this.bytesMax = options.bytesMax ?? Infinity;
    this.compactAfter = options.compactAfter ?? 1024;
  }

  /** Messages queued. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Bytes queued, as `push` counted them. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Hands a message to a waiter, or queues it as `itemBytes`, dropping the oldest until it fits both bounds. */
  push(item: T, itemBytes = 0): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) return waiter(item);
    while (this.size > 0 && (this.size >= this.max || this.queuedBytes + itemBytes > this.bytesMax)) {
      this.take();
      this.dropped += 1;
    }
    this.items.push(item);
    this.sizes.push(itemBytes);
    this.queuedBytes += itemBytes;
  }

  /** The oldest queued message, or undefined. */
  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.queuedBytes -= this.sizes[this.head]!;
    this.head += 1;
    // Compact now and then so the arrays do not keep a long dead prefix.
    if (this.head > this.compactAfter && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Up to `n` of the oldest messages. */
  takeUpTo(n: number): T[] {
    const out: T[] = [];
    while (out.length < n) {
      const item = this.take();
      if (item === undefined) break;
      out.push(item);
    }
    return out;
  }

  /** The next message: at once if queued, else when one arrives; undefined on close or after `timeoutMs`. */
  next(timeoutMs?: number): Promise<T | undefined> {
    const queued = this.take();
    if (queued !== undefined || this.closed) return Promise.resolve(queued);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (m: T | undefined): void => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined)
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(undefined);
        }, timeoutMs);
    });
  }

  /** Ends every wait with undefined; later waits end at once once the queue is empty. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
