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
