/**
 * What a decoded value costs to hold, for the bounds on what peers can make a node keep (the chord
 * tables' `storeBytesMax`, the notify keys' `notifyKeyBytesMax`, the `recv` queue's
 * `recvQueueBytesMax`).
 *
 * A value's msgpack length understates its heap: every element of an array or a map takes a slot
 * and, for a string, a bin or a container, an object of its own, so a value of many tiny elements
 * costs tens of times its msgpack bytes once decoded (measured on Node 20: an empty array in a list
 * about 36 bytes, an empty map about 130 to 175, a one-byte bin about 195, against one to three
 * msgpack bytes each). The footprint counts the msgpack bytes plus `VALUE_OVERHEAD_BYTES` per value
 * and `OBJECT_OVERHEAD_BYTES` instead for each bin and map, rounded up from those measurements, so
 * it stays above what the decoded value holds.
 */
import type { WireValue } from './value.js';

/** Heap counted per value (the value itself, each element of an array, each key and value of a map). */
export const VALUE_OVERHEAD_BYTES = 64;

/** Heap counted instead for each bin and each map (a typed array and its buffer; a Map and its table). */
export const OBJECT_OVERHEAD_BYTES = 256;

/** The overheads of `v` and of every value inside it (msgpack nesting is bounded, so the recursion is too). */
const overheads = (v: WireValue): number => {
  if (v === null || typeof v !== 'object') return VALUE_OVERHEAD_BYTES;
  if (v instanceof Uint8Array) return OBJECT_OVERHEAD_BYTES;
  if (Array.isArray(v)) {
    let sum = VALUE_OVERHEAD_BYTES;
    for (const x of v as ReadonlyArray<WireValue>) sum += overheads(x);
    return sum;
  }
  let sum = OBJECT_OVERHEAD_BYTES;
  for (const [k, x] of v as ReadonlyMap<WireValue, WireValue>) sum += overheads(k) + overheads(x);
  return sum;
};

/** The bytes a decoded value is counted as holding: `packedBytes` (its msgpack length, or that of what holds it) plus the overheads above. */
export const footprint = (v: WireValue, packedBytes: number): number => packedBytes + overheads(v);
