/**
 * The user queue against a plain-array model: any mix of pushes and takes gives the same messages
 * in the same order, never more than `max` messages nor (but for one message alone) more than
 * `bytesMax` bytes are held, and each overflow drops the oldest.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../../src/shell/api/inbox.js';

type Op = { readonly push: number } | { readonly take: number };
const op: fc.Arbitrary<Op> = fc.oneof(fc.record({ push: fc.nat(1000) }), fc.record({ take: fc.integer({ min: 0, max: 5 }) }));

describe('Inbox', () => {
  // Each pushed number is pushed as its own size in bytes; without a byte bound only the count bounds it.
  test.prop([
    fc.integer({ min: 1, max: 8 }),
    fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
    fc.integer({ min: 0, max: 6 }),
    fc.array(op, { maxLength: 300, size: 'max' }),
  ])('behaves as a drop-oldest FIFO bounded by count and bytes, keeping one large message alone', (max, bytesMax, compactAfter, ops) => {
    const inbox = bytesMax === undefined ? new Inbox<number>({ max, compactAfter }) : new Inbox<number>({ max, bytesMax, compactAfter });
    const limit = bytesMax ?? Infinity;
    const model: number[] = [];
    const sum = (): number => model.reduce((x, y) => x + y, 0);
    let dropped = 0;
    for (const o of ops) {
      if ('push' in o) {
        while (model.length > 0 && (model.length >= max || sum() + o.push > limit)) {
          model.shift();
          dropped += 1;
        }
        model.push(o.push);
        inbox.push(o.push, o.push);
      } else if (o.take === 0) {
        expect(inbox.take()).toBe(model.shift());
      } else {
        expect(inbox.takeUpTo(o.take)).toEqual(model.splice(0, o.take));
      }
      expect(inbox.size).toBe(model.length);
      if (bytesMax !== undefined) {
        expect(inbox.bytes).toBe(sum());
        expect(inbox.bytes <= bytesMax || inbox.size === 1).toBe(true);
      }
    }
    expect(inbox.dropped).toBe(dropped);
  });

  it('hands a message to a waiter first, and ends waits on timeout and on close', async () => {
    const inbox = new Inbox<string>({ max: 4 });
    const waiting = inbox.next();
    inbox.push('a');
    expect(await waiting).toBe('a');
    expect(inbox.size).toBe(0);
    expect(await inbox.next(10)).toBeUndefined();
    const pending = inbox.next();
    inbox.close();
    expect(await pending).toBeUndefined();
    expect(await inbox.next()).toBeUndefined();
  });
});
