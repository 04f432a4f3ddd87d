/**
 * What a decoded value costs to hold, for the bounds on what peers can make a node keep.
 *
 * A value's msgpack length understates its heap: every element of an array or a map takes a slot
 * and, for a string, a bin or a container, an object of its own, so a value of many tiny elements
 * costs tens of times its msgpack bytes once decoded (an empty array in a list about 36 bytes, an
 * empty map about 130, against one msgpack byte each). The footprint counts the msgpack bytes plus
 * `VALUE_OVERHEAD_BYTES` per value and `MAP_OVERHEAD_BYTES` more per map, which stays above what
 * the decoded value measures.
 */
import type { WireValue } from './value.js';

/** Heap counted per value (the value itself, each element of an array, each key and value of a map). */
export const VALUE_OVERHEAD_BYTES = 64;

/** Heap counted on top for each map (a Map object and its hash table). */
export const MAP_OVERHEAD_BYTES = 128;

/** Values and maps in `v`, `v` itself included (msgpack nesting is bounded, so the recursion is too). */
const census = (v: WireValue, acc: { values: number; maps: number }): void => {
  acc.values++;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
  if (Array.isArray(v)) {
    for (const x of v as ReadonlyArray<WireValue>) census(x, acc);
    return;
  }
  acc.maps++;
  for (const [k, x] of v as ReadonlyMap<WireValue, WireValue>) {
    census(k, acc);
    census(x, acc);
  }
};

/** The bytes a decoded value is counted as holding: its msgpack length `packedBytes` plus the overheads above. */
export const footprint = (v: WireValue, packedBytes: number): number => {
  const acc = { values: 0, maps: 0 };
  census(v, acc);
  return packedBytes + acc.values * VALUE_OVERHEAD_BYTES + acc.maps * MAP_OVERHEAD_BYTES;
};
