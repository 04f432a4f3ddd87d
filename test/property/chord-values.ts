// Arbitrary msgpack values for the chord property tests, and a structural re-copy of a value.
import { fc } from '@fast-check/vitest';
import { canonicalKey } from '../../src/core/chord/vote.js';
import type { WireValue } from '../../src/core/wire/value.js';

// Map entries with distinct keys by msgpack equality, as any peer's dict or object gives: a map
// with two equal keys has no defined meaning (which entry wins depends on the order).
const entries = (v: fc.Arbitrary<WireValue>, maxLength: number) =>
  fc.uniqueArray(fc.tuple(v, v), { maxLength, selector: ([k]) => canonicalKey(k) });

const scalar: fc.Arbitrary<WireValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.uint8Array({ maxLength: 6 }),
);

/** Any msgpack value: scalars, arrays and maps nested a few levels. */
export const wireValue: fc.Arbitrary<WireValue> = fc.letrec<{ value: WireValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    entries(tie('value'), 4).map((e) => new Map(e) as WireValue),
  ),
})).value;

/** A msgpack map value. */
export const wireMap: fc.Arbitrary<ReadonlyMap<WireValue, WireValue>> = entries(wireValue, 5).map((e) => new Map(e));

/**
 * The same msgpack value built anew: fresh arrays, byte buffers and maps (map entries in reverse
 * order), and safe integers as bigint. Equality must not depend on identity or entry order.
 */
export const recopy = (v: WireValue): WireValue => {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (v instanceof Map) return new Map([...v].reverse().map(([k, x]) => [recopy(k), recopy(x)] as const));
  if (Array.isArray(v)) return (v as ReadonlyArray<WireValue>).map(recopy);
  if (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0)) return BigInt(v);
  return v;
};
