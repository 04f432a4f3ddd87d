// A merged map is judged by its measures (store.ts, MapLedger) without being encoded: the judgement
// must be the one the encoded retrieved answer gets, on each side of every bound.
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { defaultChordLimits } from '../../src/core/chord/config.js';
import { initChord, type ChordEnv } from '../../src/core/chord/node.js';
import { encodable, retrievedFits } from '../../src/core/chord/send.js';
import type { ChordCtx } from '../../src/core/chord/state.js';
import { applyDelta, emptyStore, type MapMeasure } from '../../src/core/chord/store.js';
import { chordRetrievedPayload } from '../../src/core/wire/messages.js';
import { MSGPACK_DEPTH_MAX, MSGPACK_MAPS_MAX, MSGPACK_VALUES_MAX } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { mkEnv, T0 } from './mesh-env.js';

const ctxOf = (frameBytesMax: number): ChordCtx => {
  const env: ChordEnv = { ...mkEnv(1, { frameBytesMax }), chord: defaultChordLimits };
  const st = initChord(env, T0);
  return { env, st, at: T0, out: [], mesh: { env, st: st.mesh, at: T0, out: [] }, answers: undefined };
};

/** The measures the store judges `map` by, as built by a delta of its entries split in two (a merge, not one measuring). */
const measureOf = (map: ReadonlyMap<WireValue, WireValue>): MapMeasure => {
  const entries = [...map];
  const half = Math.floor(entries.length / 2);
  const st = emptyStore();
  let measure: MapMeasure | undefined;
  for (const part of [entries.slice(0, half), entries.slice(half)]) {
    const r = applyDelta(st, 'sha256', '2', new Map(part), (m) => {
      measure = m;
      return true;
    });
    if (E.isLeft(r)) throw new Error(r.left._tag);
  }
  return measure!;
};

/** For each map, the store's judgement and that of the encoded answer agree; both outcomes occur. */
const agreeAcross = (ctx: ChordCtx, maps: ReadonlyArray<ReadonlyMap<WireValue, WireValue>>): void => {
  const seen = new Set<boolean>();
  for (const map of maps) {
    const encoded = encodable(ctx, chordRetrievedPayload('sha256', '2', map)) === undefined;
    expect(retrievedFits(ctx, 'sha256', '2', measureOf(map))).toBe(encoded);
    seen.add(encoded);
  }
  expect([...seen].sort()).toEqual([false, true]);
};

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('a merged map is judged by its measures as its encoded answer would be', () => {
  it('at the frame bound', () => {
    const frameBytesMax = 1000;
    // one str entry growing a byte at a time across the bound (str8 to str16 on the way)
    const maps = range(850, 1000).map((n) => new Map<WireValue, WireValue>([['k', 'x'.repeat(n)], [1, 2]]));
    agreeAcross(ctxOf(frameBytesMax), maps);
  });

  it('at the value bound', () => {
    // nil → nil entries: two values each; the answer's own fields take a few more
    const half = Math.floor(MSGPACK_VALUES_MAX / 2);
    const maps = range(half - 8, half).map((n) => new Map<WireValue, WireValue>(Array.from({ length: n }, (_, i) => [i, null])));
    agreeAcross(ctxOf(16 * 1024 * 1024), maps);
  });

  it('at the map bound', () => {
    const maps = range(MSGPACK_MAPS_MAX - 4, MSGPACK_MAPS_MAX + 1).map(
      (n) => new Map<WireValue, WireValue>(Array.from({ length: n }, (_, i) => [i, new Map<WireValue, WireValue>()])),
    );
    agreeAcross(ctxOf(16 * 1024 * 1024), maps);
  });

  it('at the depth bound, with empty containers deepest (they add no depth)', () => {
    const nest = (d: number, inner: WireValue): WireValue => (d === 0 ? inner : [nest(d - 1, inner)]);
    const maps = range(MSGPACK_DEPTH_MAX - 4, MSGPACK_DEPTH_MAX).flatMap((d) => [
      new Map<WireValue, WireValue>([['deep', nest(d, 1)], ['flat', 1]]),
      new Map<WireValue, WireValue>([[nest(d, []) as WireValue, 1], ['flat', 1]]),
    ]);
    agreeAcross(ctxOf(16 * 1024 * 1024), maps);
  });
});
