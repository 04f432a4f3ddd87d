/**
 * The user's message queue: bounded FIFO for `recv`, plus waiters for `next` and async iteration.
 * A message goes straight to the oldest waiter if there is one; beyond `max` the oldest queued
 * message is dropped and counted, so an application that never reads cannot grow memory.
 */

/** A bounded FIFO with waiters. */
export class Inbox<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private readonly waiters: Array<(m: T | undefined) => void> = [];
  private closed = false;
  /** Messages dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly max: number,
    /** Dead slots tolerated at the front before the array is compacted. */
    private readonly compactAfter = 1024,
  ) {}

  /** Messages queued. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Hands a message to a waiter, or queues it. */
  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) return waiter(item);
    if (this.size >= this.max) {
      this.take();
      this.dropped += 1;
    }
    this.items.push(item);
  }

  /** The oldest queued message, or undefined. */
  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    // Compact now and then so the array does not keep a long dead prefix.
    if (this.head > this.compactAfter && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
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
