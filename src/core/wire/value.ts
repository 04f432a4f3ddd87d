/**
 * The values that travel inside a packet list. msgpack str and bin stay distinct: str decodes to
 * `string`, bin to `Uint8Array`. Integers decode to `number` when safe and `bigint` otherwise.
 */

/** A decoded (or to-be-encoded) msgpack value. */
export type WireValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ReadonlyArray<WireValue>
  | ReadonlyMap<WireValue, WireValue>;

/**
 * A deep copy of a value: what a node keeps of a value a user gave it, and what it gives a user of
 * a value it keeps, so that neither side's later changes reach the other (bins come back as plain
 * `Uint8Array`s).
 */
export const copyValue = <V extends WireValue>(v: V): V => (v === null || typeof v !== 'object' ? v : structuredClone(v));
