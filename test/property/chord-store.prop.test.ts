// The local tables behave as a model map (with both bounds and the bytes held), and migration
// hands each key to the node that owns it.
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect } from 'vitest';
import { key58Of, nodePosition, onRing, RING_SIZE, TABLES, type TableName } from '../../src/core/chord/ring.js';
import { find, next, route } from '../../src/core/chord/routing.js';
import { applyDelta, bytesHeld, dumpData, emptyStore, items, retrieve, store, type ChordStore, type StoreError } from '../../src/core/chord/store.js';
import { wireEquals } from '../../src/core/chord/vote.js';
import { footprint } from '../../src/core/wire/footprint.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { recopy, wireMap, wireValue } from './chord-values.js';
import { propRuns } from './runs.js';

type Op =
  | { readonly op: 'store'; readonly table: TableName; readonly key: number; readonly value: WireValue }
  | { readonly op: 'delta'; readonly table: TableName; readonly key: number; readonly delta: ReadonlyMap<WireValue, WireValue> };

const KEYS = 6;
const table = fc.constantFrom(...TABLES);
const key = fc.integer({ min: 0, max: KEYS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('store' as const), table, key, value: fc.oneof(wireValue, fc.constant(null), wireMap) }),
  fc.record({ op: fc.constant('delta' as const), table, key, delta: wireMap }),
);

// Key i is written as the base58 of 1000 + i, sometimes with a leading '1' (the same number).
const key58 = (i: number, padded: boolean): string => (padded ? '1' : '') + key58Of(1000n + BigInt(i));

/** What the store counts a value as (its footprint), or undefined when msgpack cannot hold it (a bigint beyond 64 bits). */
const packedLength = (v: WireValue): number | undefined => {
  try {
    return footprint(v, packValue(v).length);
  } catch {
    return undefined;
  }
};

/** The model's merge: drop entries whose key equals a delta key, then add the delta's entries. */
const modelMerge = (base: ReadonlyArray<readonly [WireValue, WireValue]>, delta: ReadonlyMap<WireValue, WireValue>) => {
  let out = [...base];
  for (const [k, v] of delta) out = [...out.filter(([k0]) => !wireEquals(k0, k)), [k, v] as const];
  return out;
};

describe('chord store', () => {
  test.prop(
    [
      fc.array(fc.tuple(opArb, fc.boolean()), { maxLength: 40 }),
      fc.integer({ min: 1, max: 4 }),
      fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    ],
    { numRuns: propRuns(200) },
  )('store, delete and delta behave as a map (with its entries and bytes bounds)', (ops, entriesMax, bytesMax) => {
    let st: ChordStore = emptyStore(entriesMax, bytesMax);
    const model = new Map<string, WireValue>();
    const countIn = (t: TableName) => [...model.keys()].filter((m) => m.startsWith(`${t}:`)).length;
    const bytesOf = (slot: string) => {
      const v = model.get(slot);
      return v === undefined ? 0 : (packedLength(v) ?? 0);
    };
    let modelBytes = 0;
    /** What writing `value` to `slot` must give: a refusal, or undefined when it is kept. */
    const refusal = (table: TableName, slot: string, k58: string, value: WireValue): StoreError | undefined => {
      if (!model.has(slot) && countIn(table) >= entriesMax) return { _tag: 'TableFull', table, entriesMax };
      const n = packedLength(value);
      if (n === undefined) return { _tag: 'Unencodable', table, key58: k58 };
      if (modelBytes - bytesOf(slot) + n > bytesMax) return { _tag: 'StoreFull', table, bytesMax };
      return undefined;
    };
    const keep = (slot: string, value: WireValue | undefined) => {
      modelBytes -= bytesOf(slot);
      if (value === undefined) model.delete(slot);
      else model.set(slot, value);
      modelBytes += bytesOf(slot);
    };
    for (const [o, padded] of ops) {
      const slot = `${o.table}:${o.key}`;
      const k58 = key58(o.key, padded);
      if (o.op === 'store') {
        const r = store(st, o.table, k58, recopy(o.value));
        const refused = o.value === null ? undefined : refusal(o.table, slot, k58, o.value);
        if (refused !== undefined) expect(r).toEqual(E.left(refused));
        else keep(slot, o.value ?? undefined);
        if (E.isRight(r)) st = r.right;
      } else {
        const current = model.get(slot);
        const r = applyDelta(st, o.table, k58, o.delta);
        if (current !== undefined && !(current instanceof Map)) {
          expect(r).toEqual(E.left({ _tag: 'NotAMap', table: o.table, key58: k58 }));
        } else {
          const merged = new Map(modelMerge(current === undefined ? [] : [...(current as ReadonlyMap<WireValue, WireValue>)], o.delta));
          const refused = refusal(o.table, slot, k58, merged);
          if (refused !== undefined) expect(r).toEqual(E.left(refused));
          else keep(slot, merged);
        }
        if (E.isRight(r)) st = r.right;
      }
      // after every step, every slot reads back as the model says, nothing else is held, and the
      // bytes held are the footprints of the model's values, within the bound
      for (const t of TABLES) {
        for (let i = 0; i < KEYS; i++) {
          const got = retrieve(st, t, key58(i, i % 2 === 0));
          const want = model.get(`${t}:${i}`);
          expect(O.isSome(got)).toBe(want !== undefined);
          if (O.isSome(got) && want !== undefined) expect(wireEquals(got.value, want)).toBe(true);
        }
      }
      expect(items(st).length).toBe(model.size);
      expect(bytesHeld(st)).toBe(modelBytes);
      expect(bytesHeld(st)).toBeLessThanOrEqual(bytesMax);
    }
  });

  const position = fc.oneof(fc.bigInt({ min: 0n, max: RING_SIZE - 1n }), fc.bigInt({ min: 0n, max: 1000n }));
  test.prop(
    [
      fc.uniqueArray(position, { minLength: 2, maxLength: 30, selector: onRing }),
      fc.array(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 512n) - 1n }), fc.bigInt({ min: 0n, max: 1000n })), { maxLength: 60 }),
      fc.nat(),
    ],
    { numRuns: propRuns(300) },
  )('migration hands each key to exactly the node that owns it once the peer joins', (nodes, keys, pick) => {
    // The last node is the peer that becomes storing; `self` is one of the others.
    const peer = nodes[nodes.length - 1] ?? 0n;
    const before = nodes.slice(0, -1).map((position) => ({ position }));
    const self = before[pick % before.length]?.position ?? 0n;
    const after = [...before, { position: peer }];
    const owner = (k: bigint, ring: ReadonlyArray<{ readonly position: bigint }>) => O.toUndefined(find(k, ring))?.position;

    // self holds exactly the keys it owns before the peer joins
    const mine = keys.filter((k) => owner(k, before) === self);
    const st = mine.reduce((s, k, i) => {
      const r = store(s, 'sha512', key58Of(k), i);
      if (E.isLeft(r)) throw new Error(r.left._tag);
      return r.right;
    }, emptyStore());

    const moved = new Set(dumpData(st, peer, self).map((item) => item.key58));
    for (const k of mine) {
      const nowOwner = owner(k, after);
      expect(moved.has(key58Of(k))).toBe(nowOwner === peer);
      if (!moved.has(key58Of(k))) expect(nowOwner).toBe(self);
    }

    // on unjoin, every item is re-stored through the ring (membership.ts onUnjoin): exactly what
    // self holds (migration keeps local copies), one item per key with its last value
    const held = new Map<string, number>();
    mine.forEach((k, i) => held.set(key58Of(k), i));
    const all = items(st);
    expect(all).toEqual([...held].map(([key58, value]) => ({ table: 'sha512', key58, value })));

    // each item, routed as a leaving node routes it (no longer joined, over the storing peers
    // left), reaches the node that owns it once self is gone; what self still owned goes to the
    // seeds' `next` of self (the nearest storing node below it)
    const rest = after.filter((n) => n.position !== self);
    const below = O.toUndefined(next(self, rest))?.position;
    for (const item of all) {
      const position = nodePosition(item.key58);
      if (E.isLeft(position)) throw new Error(position.left._tag);
      const r = route(self, false, rest, position.right);
      expect(r).toEqual({ _tag: 'Forward', peer: { position: owner(position.right, rest) } });
      if (owner(position.right, after) === self) expect(r).toEqual({ _tag: 'Forward', peer: { position: below } });
    }
  });
});
