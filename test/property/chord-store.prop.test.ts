// The local tables behave as a model map (with both bounds and the bytes held), and migration
// hands each key to the node that owns it.
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect } from 'vitest';
import { distance, key58Of, nodePosition, onRing, RING_SIZE, TABLES, type TableName } from '../../src/core/chord/ring.js';
import { find, next, route } from '../../src/core/chord/routing.js';
import { applyDelta, bytesHeld, dumpData, emptyStore, items, retrieve, size, store, walkRing, type ChordStore, type MapMeasure, type RingSlot, type StoreError } from '../../src/core/chord/store.js';
import { canonicalKey, wireEquals } from '../../src/core/chord/vote.js';
import { footprint } from '../../src/core/wire/footprint.js';
import { countMsgpack, packValue } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { recopy, wireMap, wireValue } from './chord-values.js';
import { propRuns } from './runs.js';

type Op =
  | { readonly op: 'store'; readonly table: TableName; readonly key: number; readonly value: WireValue }
  | { readonly op: 'delta'; readonly table: TableName; readonly key: number; readonly delta: ReadonlyMap<WireValue, WireValue>; readonly recopied: boolean }
  | { readonly op: 'read'; readonly table: TableName; readonly key: number };

const KEYS = 6;
const table = fc.constantFrom(...TABLES);
const key = fc.integer({ min: 0, max: KEYS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('store' as const), table, key, value: fc.oneof(wireValue, fc.constant(null), wireMap) }),
  fc.record({ op: fc.constant('delta' as const), table, key, delta: wireMap, recopied: fc.boolean() }),
  fc.record({ op: fc.constant('read' as const), table, key }),
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
      fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(Infinity)),
    ],
    { numRuns: propRuns(200) },
  )('store, delete, delta and read behave as a map (with its entries, bytes and merged-size bounds)', (ops, entriesMax, bytesMax, packedMax) => {
    let st: ChordStore = emptyStore(entriesMax, bytesMax);
    // Values read out, with what they were then: a later write must never change them.
    const readOut: Array<readonly [WireValue, string]> = [];
    // A merged map is refused above `packedMax` msgpack bytes; the measures it is judged by must be
    // the merged map's own, whatever deltas built it.
    const fits = (m: MapMeasure): boolean => {
      measures.push(m);
      return m.packed <= packedMax;
    };
    let measures: MapMeasure[] = [];
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
      } else if (o.op === 'delta') {
        const current = model.get(slot);
        measures = [];
        const r = applyDelta(st, o.table, k58, o.recopied ? (recopy(o.delta) as ReadonlyMap<WireValue, WireValue>) : o.delta, fits);
        if (current !== undefined && !(current instanceof Map)) {
          expect(r).toEqual(E.left({ _tag: 'NotAMap', table: o.table, key58: k58 }));
        } else {
          const merged = new Map(modelMerge(current === undefined ? [] : [...(current as ReadonlyMap<WireValue, WireValue>)], o.delta));
          const refused = refusal(o.table, slot, k58, merged);
          const packed = packedLength(merged) === undefined ? undefined : packValue(merged);
          if (refused?._tag === 'TableFull' || refused?._tag === 'Unencodable' || packed === undefined) expect(r).toEqual(E.left(refused));
          else if (o.delta.size === 0 && current !== undefined) expect(E.isRight(r)).toBe(true);
          else {
            // judged by the merged map's own measures: msgpack length, scan counts and footprint
            const counts = countMsgpack(packed);
            expect(measures).toEqual([{ packed: packed.length, footprint: packedLength(merged), ...counts }]);
            if (packed.length > packedMax) expect(r).toEqual(E.left({ _tag: 'TooLarge', table: o.table, key58: k58 }));
            else if (refused !== undefined) expect(r).toEqual(E.left(refused));
            else keep(slot, merged);
          }
        }
        if (E.isRight(r)) st = r.right;
      } else {
        const got = retrieve(st, o.table, k58);
        if (O.isSome(got)) readOut.push([got.value, canonicalKey(got.value)]);
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
      for (const [value, was] of readOut) expect(canonicalKey(value)).toBe(was);
      expect(bytesHeld(st)).toBe(modelBytes);
      expect(bytesHeld(st)).toBeLessThanOrEqual(bytesMax);
    }
  });

  // Merges into one map, with keys from a small set so that they meet often, in every form msgpack
  // writes alike (3 and 3n, 2^60 and 2^60n, two bins or arrays with the same bytes) and some it does
  // not (-0 and 0, str and bin).
  const mergeKey: fc.Arbitrary<WireValue> = fc.oneof(
    fc.integer({ min: -2, max: 2 }),
    fc.constantFrom<WireValue>(-0, 1.5, Number.NaN, 2 ** 60, 2n ** 60n, 1n, -(2n ** 63n), '', 'a', 'b', null, true),
    fc.constantFrom('', 'a', 'ab').map((t): WireValue => new TextEncoder().encode(t)),
    fc.constantFrom<WireValue>([1], [[1]], [], new Map<WireValue, WireValue>([['a', 1]])),
  );
  type MergeOp =
    | { readonly op: 'delta'; readonly slot: number; readonly entries: ReadonlyArray<readonly [WireValue, WireValue]> }
    | { readonly op: 'store'; readonly slot: number; readonly entries: ReadonlyArray<readonly [WireValue, WireValue]> }
    | { readonly op: 'read'; readonly slot: number };
  const slotArb = fc.integer({ min: 0, max: 1 });
  const entriesArb = fc.array(fc.tuple(fc.oneof(mergeKey, mergeKey.map(recopy)), wireValue), { maxLength: 8 });
  const mergeOp: fc.Arbitrary<MergeOp> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('delta' as const), slot: slotArb, entries: entriesArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('store' as const), slot: slotArb, entries: entriesArb }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), slot: slotArb }) },
  );

  test.prop([fc.array(mergeOp, { maxLength: 40 })], { numRuns: propRuns(300) })(
    'merged maps hold what the deltas say, are measured as their encoding, and never change once read',
    (ops) => {
      const st = emptyStore();
      const model: Array<ReadonlyArray<readonly [WireValue, WireValue]> | undefined> = [undefined, undefined];
      const readOut: Array<readonly [WireValue, string]> = [];
      for (const o of ops) {
        const k58 = key58(o.slot, false);
        if (o.op === 'read') {
          const got = retrieve(st, 'sha1', k58);
          if (O.isSome(got)) readOut.push([got.value, canonicalKey(got.value)]);
          continue;
        }
        // Entries whose encoding msgpack refuses are left out: the other properties cover refusals.
        const entries = o.entries.filter(([k, v]) => packedLength(k) !== undefined && packedLength(v) !== undefined);
        if (o.op === 'store') {
          // kept as given, equal keys and all, until a delta merges into it
          expect(E.isRight(store(st, 'sha1', k58, new Map(entries)))).toBe(true);
          model[o.slot] = [...new Map(entries)];
          continue;
        }
        const delta = new Map(entries);
        let measure: MapMeasure | undefined;
        const r = applyDelta(st, 'sha1', k58, delta, (m) => {
          measure = m;
          return true;
        });
        expect(E.isRight(r)).toBe(true);
        // a map of equal keys means the merge of its entries in order
        const merged = new Map(modelMerge(modelMerge([], new Map(model[o.slot] ?? [])), delta));
        model[o.slot] = [...merged];
        if (measure !== undefined) {
          const packed = packValue(merged);
          expect(measure).toEqual({ packed: packed.length, footprint: footprint(merged, packed.length), ...countMsgpack(packed) });
        }
        // the stored map encodes to as many bytes as the model's, holds as many entries, and counts as its footprint
        const held = retrieve(st, 'sha1', k58);
        const value = O.isSome(held) ? (held.value as ReadonlyMap<WireValue, WireValue>) : new Map();
        expect(wireEquals(value, merged)).toBe(true);
        expect(value.size).toBe(merged.size);
        expect(packValue(value).length).toBe(packValue(merged).length);
      }
      const total = model.reduce((sum, m) => sum + (m === undefined ? 0 : footprint(new Map(m), packValue(new Map(m)).length)), 0);
      expect(bytesHeld(st)).toBe(total);
      for (const [value, was] of readOut) expect(canonicalKey(value)).toBe(was);
    },
  );

  // Ring positions from a small range, so keys, nodes and the ring's ends meet; a key may also lie
  // one or more turns above its position (keys reach 2^512, the ring 2^384), so two keys can share
  // one place on the ring.
  const near = fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.bigInt({ min: RING_SIZE - 20n, max: RING_SIZE - 1n }));
  const keyAt = fc.tuple(near, fc.integer({ min: 0, max: 2 })).map(([p, turns]) => p + BigInt(turns) * RING_SIZE);
  test.prop([fc.array(fc.tuple(fc.constantFrom(...TABLES), keyAt), { maxLength: 40 }), fc.array(fc.boolean(), { maxLength: 40 }), near, near, fc.integer({ min: 1, max: 4 })], {
    numRuns: propRuns(300),
  })('what a peer now owns is every item the distance rule selects, whatever was stored and deleted', (keys, deletes, start, end, stride) => {
    const st = emptyStore();
    keys.forEach(([t, k], i) => {
      expect(E.isRight(store(st, t, key58Of(k), i))).toBe(true);
      if (deletes[i] === true) expect(E.isRight(store(st, t, key58Of(k), null))).toBe(true);
    });
    const at = (key58: string): bigint => {
      const p = nodePosition(key58);
      if (E.isLeft(p)) throw new Error(p.left._tag);
      return p.right;
    };
    const want = items(st)
      .filter((it) => distance(start, at(it.key58)) < distance(end, at(it.key58)))
      .map((it) => `${it.table}/${it.key58}`);
    const got = dumpData(st, start, end).map((it) => `${it.table}/${it.key58}`);
    expect(got.length).toBe(new Set(got).size);
    // the ring order holds exactly the entries held (a deleted one leaves it)
    for (const t of TABLES) expect(st.order.get(t)?.size).toBe(size(st, t));
    // a walk stopped every few entries and resumed where it stopped visits the same entries
    for (const t of TABLES) {
      const whole: string[] = [];
      walkRing(st, t, start, end, undefined, (k) => whole.push(k) > 0);
      const pieces: string[] = [];
      let after: RingSlot | undefined;
      for (let walks = 0; walks <= whole.length; walks++) {
        let n = 0;
        after = walkRing(st, t, start, end, after, (k) => {
          pieces.push(k);
          return ++n < stride;
        });
        if (after === undefined) break;
      }
      expect(pieces).toEqual(whole);
    }
    expect(new Set(got)).toEqual(new Set(want));
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
