// The local chord tables: store, delete, retrieve, delta, migration selection, hand-off.
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect, it } from 'vitest';
import { key58Of } from '../../src/core/chord/ring.js';
import {
  applyDelta,
  bytesHeld,
  dumpData,
  emptyStore,
  items,
  retrieve,
  size,
  store,
  type ChordStore,
  type StoreError,
} from '../../src/core/chord/store.js';
import { footprint, OBJECT_OVERHEAD_BYTES, VALUE_OVERHEAD_BYTES } from '../../src/core/wire/footprint.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';

const ok = (r: E.Either<StoreError, ChordStore>): ChordStore => {
  if (E.isLeft(r)) throw new Error(`unexpected ${r.left._tag}`);
  return r.right;
};
const k = (n: bigint) => key58Of(n);
const STORE_ENTRIES = 1024;

describe('store and retrieve', () => {
  it('keeps a value per table and key', () => {
    const st = ok(store(ok(store(emptyStore(), 'sha1', k(5n), 'a')), 'sha256', k(5n), 'b'));
    expect(retrieve(st, 'sha1', k(5n))).toEqual(O.some('a'));
    expect(retrieve(st, 'sha256', k(5n))).toEqual(O.some('b'));
    expect(retrieve(st, 'sha384', k(5n))).toEqual(O.none);
  });

  it('deletes on nil, really removing the entry; deleting nothing is fine', () => {
    const st = ok(store(emptyStore(), 'sha1', k(5n), 'a'));
    const gone = ok(store(st, 'sha1', k(5n), null));
    expect(retrieve(gone, 'sha1', k(5n))).toEqual(O.none);
    expect(size(gone, 'sha1')).toBe(0);
    expect(items(gone)).toEqual([]);
    expect(ok(store(emptyStore(), 'sha1', k(9n), null))).toEqual(emptyStore());
  });

  it('writes in place and returns the same store; a refused write changes nothing', () => {
    const st = emptyStore(1);
    expect(ok(store(st, 'sha1', k(5n), 'a'))).toBe(st);
    expect(retrieve(st, 'sha1', k(5n))).toEqual(O.some('a'));
    expect(store(st, 'sha1', k(6n), 'b')).toEqual(E.left({ _tag: 'TableFull', table: 'sha1', entriesMax: 1 }));
    expect(store(st, 'sha1', '0OIl', 'b')).toMatchObject(E.left({ _tag: 'BadKey' }));
    expect(applyDelta(st, 'sha1', k(5n), new Map([['x', 1]]))).toEqual(E.left({ _tag: 'NotAMap', table: 'sha1', key58: k(5n) }));
    expect(items(st)).toEqual([{ table: 'sha1', key58: k(5n), value: 'a' }]);
    expect(ok(store(st, 'sha1', k(5n), null))).toBe(st);
    expect(items(st)).toEqual([]);
  });

  it('treats key58 texts of the same number as one key', () => {
    const st = ok(store(emptyStore(), 'sha1', '1z', 'a'));
    expect(retrieve(st, 'sha1', 'z')).toEqual(O.some('a'));
    expect(items(st)).toEqual([{ table: 'sha1', key58: 'z', value: 'a' }]);
  });

  it('refuses a malformed key58 and a full table with typed errors', () => {
    expect(store(emptyStore(), 'sha1', '0OIl', 'a')).toMatchObject(E.left({ _tag: 'BadKey', key58: '0OIl' }));
    expect(retrieve(emptyStore(), 'sha1', '0OIl')).toEqual(O.none);
    const full = ok(store(ok(store(emptyStore(2), 'sha1', k(1n), 'a')), 'sha1', k(2n), 'b'));
    expect(store(full, 'sha1', k(3n), 'c')).toEqual(E.left({ _tag: 'TableFull', table: 'sha1', entriesMax: 2 }));
    // overwriting or deleting in a full table, or writing another table, still works
    expect(E.isRight(store(full, 'sha1', k(2n), 'B'))).toBe(true);
    expect(E.isRight(store(full, 'sha1', k(2n), null))).toBe(true);
    expect(E.isRight(store(full, 'sha224', k(3n), 'c'))).toBe(true);
  });
});

describe('the bytes bound', () => {
  /** What a value counts as: its msgpack length plus the per-value overheads. */
  const cost = (v: WireValue): number => footprint(v, packValue(v).length);

  it('counts a value as its msgpack length plus an overhead per value and per map, so tiny elements cost what they hold', () => {
    expect(cost('abc')).toBe(4 + VALUE_OVERHEAD_BYTES);
    expect(cost([1, 2, 3])).toBe(4 + 4 * VALUE_OVERHEAD_BYTES);
    expect(cost(new Map([['a', new Map()]]))).toBe(4 + VALUE_OVERHEAD_BYTES + 2 * OBJECT_OVERHEAD_BYTES);
    expect(cost([new Uint8Array([1]), 'b'])).toBe(6 + 2 * VALUE_OVERHEAD_BYTES + OBJECT_OVERHEAD_BYTES);
    // A thousand empty maps: about a thousand msgpack bytes, counted at about two hundred times that.
    const maps = Array.from({ length: 1000 }, () => new Map<WireValue, WireValue>());
    expect(cost(maps)).toBeGreaterThan(200 * packValue(maps).length);
  });

  it('keeps the count of every value held, through stores, overwrites, deltas and deletes', () => {
    const st = emptyStore();
    ok(store(st, 'sha1', k(5n), 'abc'));
    ok(store(st, 'sha256', k(5n), [1, 2, 3]));
    expect(bytesHeld(st)).toBe(cost('abc') + cost([1, 2, 3]));
    ok(store(st, 'sha1', k(5n), 'x'.repeat(100)));
    expect(bytesHeld(st)).toBe(cost('x'.repeat(100)) + cost([1, 2, 3]));
    ok(applyDelta(st, 'sha384', k(7n), new Map([['a', 1]])));
    ok(applyDelta(st, 'sha384', k(7n), new Map([['b', 'two']])));
    const merged = new Map<WireValue, WireValue>([['a', 1], ['b', 'two']]);
    expect(bytesHeld(st)).toBe(cost('x'.repeat(100)) + cost([1, 2, 3]) + cost(merged));
    for (const [t, p] of [['sha1', 5n], ['sha256', 5n], ['sha384', 7n], ['sha384', 8n]] as const) ok(store(st, t, k(p), null));
    expect(bytesHeld(st)).toBe(0);
    expect(items(st)).toEqual([]);
  });

  it('refuses a write that would pass bytesMax, across the tables, and leaves the store as it was', () => {
    const value = 'v'.repeat(40);
    const small = 'v'.repeat(15);
    const max = 2 * cost(value) + cost(small);
    const st = emptyStore(STORE_ENTRIES, max);
    ok(store(st, 'sha1', k(1n), value));
    ok(store(st, 'sha224', k(1n), value));
    const before = items(st);
    expect(store(st, 'sha256', k(1n), value)).toEqual(E.left({ _tag: 'StoreFull', table: 'sha256', bytesMax: max }));
    expect(applyDelta(st, 'sha256', k(2n), new Map([['k', value]]))).toEqual(E.left({ _tag: 'StoreFull', table: 'sha256', bytesMax: max }));
    expect(items(st)).toEqual(before);
    expect(bytesHeld(st)).toBe(2 * cost(value));
    // Up to the bound exactly is fine.
    ok(store(st, 'sha256', k(1n), small));
    expect(bytesHeld(st)).toBe(max);
  });

  it('counts only an overwrite\'s growth, and always lets a delete through', () => {
    const max = cost('a'.repeat(60)) + cost('b'.repeat(34)) + 2;
    const st = emptyStore(STORE_ENTRIES, max);
    ok(store(st, 'sha1', k(1n), 'a'.repeat(60)));
    ok(store(st, 'sha1', k(2n), 'b'.repeat(34)));
    expect(bytesHeld(st)).toBe(max - 2);
    // Replacing a value by one as large, or smaller, fits though the total is near the bound.
    ok(store(st, 'sha1', k(1n), 'c'.repeat(60)));
    ok(store(st, 'sha1', k(1n), 'c'.repeat(40)));
    expect(bytesHeld(st)).toBe(cost('c'.repeat(40)) + cost('b'.repeat(34)));
    // Growing it by more than the room left does not.
    expect(store(st, 'sha1', k(1n), 'd'.repeat(70))).toEqual(E.left({ _tag: 'StoreFull', table: 'sha1', bytesMax: max }));
    expect(retrieve(st, 'sha1', k(1n))).toEqual(O.some('c'.repeat(40)));
    ok(store(st, 'sha1', k(1n), 'd'.repeat(62)));
    expect(bytesHeld(st)).toBe(max);
    ok(store(st, 'sha1', k(2n), null));
    ok(store(st, 'sha1', k(1n), null));
    expect(bytesHeld(st)).toBe(0);
  });

  it('refuses a value msgpack cannot hold instead of throwing', () => {
    const st = emptyStore();
    expect(store(st, 'sha1', k(1n), [2n ** 64n])).toEqual(E.left({ _tag: 'Unencodable', table: 'sha1', key58: k(1n) }));
    expect(bytesHeld(st)).toBe(0);
    expect(items(st)).toEqual([]);
  });
});

describe('applyDelta', () => {
  it('creates the map when absent and merges into it', () => {
    const st1 = ok(applyDelta(emptyStore(), 'sha1', k(7n), new Map([['a', 1]])));
    expect(retrieve(st1, 'sha1', k(7n))).toEqual(O.some(new Map([['a', 1]])));
    const st2 = ok(applyDelta(st1, 'sha1', k(7n), new Map<WireValue, WireValue>([['a', 2], ['b', null]])));
    expect(retrieve(st2, 'sha1', k(7n))).toEqual(O.some(new Map<WireValue, WireValue>([['a', 2], ['b', null]])));
    expect(retrieve(ok(applyDelta(emptyStore(), 'sha1', k(7n), new Map())), 'sha1', k(7n))).toEqual(O.some(new Map()));
  });

  it('matches keys as msgpack values: equal bytes are one key, str and bin are two', () => {
    const bin = () => new TextEncoder().encode('x');
    const st1 = ok(applyDelta(emptyStore(), 'sha1', k(7n), new Map<WireValue, WireValue>([[bin(), 1]])));
    const st2 = ok(applyDelta(st1, 'sha1', k(7n), new Map<WireValue, WireValue>([[bin(), 2], ['x', 3]])));
    const v = retrieve(st2, 'sha1', k(7n));
    expect(O.isSome(v) && v.value instanceof Map ? [...v.value.values()] : []).toEqual([2, 3]);
  });

  it('keeps a str key apart from a bin key whatever the str says (even the bin key\'s canonical text)', () => {
    // 'ob1:61' is how the merge once named bin 61 among the delta's keys: the two were taken as one
    const st = ok(applyDelta(emptyStore(), 'sha1', k(7n), new Map<WireValue, WireValue>([['ob1:61', 1], [new Uint8Array([0x61]), 2]])));
    const v = retrieve(st, 'sha1', k(7n));
    expect(O.isSome(v) && v.value instanceof Map ? [...v.value] : []).toEqual([['ob1:61', 1], [new Uint8Array([0x61]), 2]]);
  });

  it('refuses to merge into a value that is not a map', () => {
    const st = ok(store(emptyStore(), 'sha1', k(7n), 'text'));
    expect(applyDelta(st, 'sha1', k(7n), new Map([['a', 1]]))).toEqual(E.left({ _tag: 'NotAMap', table: 'sha1', key58: k(7n) }));
  });
});

describe('migration and hand-off', () => {
  // self at 100 holds keys around it; a peer becomes storing somewhere on the ring.
  const held = (): ChordStore => [50n, 100n, 120n, 150n, 170n].reduce((s, p) => ok(store(s, 'sha384', k(p), String(p))), emptyStore());
  const st = held();

  it('dumpData(peer, self) selects the keys the peer is now nearer to from below', () => {
    // peer at 150: 150 and 170 are now nearer to it; so is 50, which with only these two nodes
    // wraps round to 150 (distance(150, 50) = 2^384 − 100 < distance(100, 50) = 2^384 − 50);
    // in ring order from the peer
    expect(dumpData(st, 150n, 100n).map((i) => i.value)).toEqual(['150', '170', '50']);
    // peer at 60: nothing at or above self moves, nor 50, which lies below the peer
    expect(dumpData(st, 60n, 100n).map((i) => i.value)).toEqual([]);
    // peer at 40: 50 moves, since the peer now sits between self and that key going clockwise
    expect(dumpData(st, 40n, 100n).map((i) => i.value)).toEqual(['50']);
  });

  it('does not remove what it selects (the seeds keep local copies)', () => {
    dumpData(st, 150n, 100n);
    expect(items(st)).toHaveLength(5);
  });

  it('lists every item it holds, for an unjoin to re-store through the ring', () => {
    expect(items(held()).map((i) => i.value)).toEqual(['50', '100', '120', '150', '170']);
  });
});
