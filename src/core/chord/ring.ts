/**
 * Chord ring geometry as the DHT uses it: the 2^384-position ring of §5, where nodes and keys
 * sit, and the checks that keep a peer's key58 from becoming an absurd number.
 *
 * - A node sits at the base58-decoded value of its id (`id_10`).
 * - A user key (bytes; a string is taken as its UTF-8 bytes) sits at five positions, one per hash
 *   table: sha1 << 224, sha224 << 160, sha256 << 128, sha384, and sha512 unshifted (so that one
 *   can exceed 2^384; `distance` folds it onto the ring like any other position).
 *
 * The arithmetic itself (base58, digest → integer, shifts, `distance`) lives in `ids.ts`; this
 * module re-exports it under the chord vocabulary and adds validation and key58 text.
 *
 * Inputs: base58 ids and key58 strings, key bytes, the hash functions of `Capabilities`.
 * Effects: none. Every function is pure and total; bad base58 comes back as a typed error.
 * Invariants: `distance(a, b)` is in [0, 2^384); `distance(a, a) = 0`;
 * `distance(a, b) + distance(b, a)` is 0 or 2^384.
 * Deliberately not here: who owns a key (routing.ts), what is stored (store.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Capabilities } from '../caps.js';
import { distance, fromBase58, hashTables, keyPositions, RING_SIZE, toBase58, utf8Bytes, type HashTable } from '../ids.js';
import { describeDecodeError } from '../wire/errors.js';

export { distance, RING_SIZE };

/** Bits in a ring position. */
export const RING_BITS = 384n;
/**
 * Longest key58 accepted, in characters: a sha512 position (below 2^512) takes at most 88.
 * Anything longer is refused before it is decoded, so a peer cannot make us parse a huge number.
 */
export const KEY58_CHARS_MAX = 88;
/** Positions must be below this: the largest table (sha512) yields values below 2^512. */
export const POSITION_LIMIT = 1n << 512n;

/** The five hash tables a key is stored under, in their canonical order. */
export const TABLES = hashTables;
/** A hash table's name, as it travels on the wire. */
export type TableName = HashTable;
/** One value per table. */
export type PerTable<A> = Readonly<Record<TableName, A>>;

/** Why a node id or key58 could not become a ring position. */
export type PositionError =
  | { readonly _tag: 'BadBase58'; readonly input: string; readonly detail: string }
  | { readonly _tag: 'TooLong'; readonly chars: number; readonly max: number }
  | { readonly _tag: 'TooLarge'; readonly input: string };

/** True when `s` names one of the five tables. */
export const isTableName = (s: string): s is TableName => (TABLES as ReadonlyArray<string>).includes(s);

/** A position folded onto the ring, in [0, 2^384). */
export const onRing = (p: bigint): bigint => distance(0n, p);

/** Decodes a base58 id or key58 into a position, refusing overlong, oversized or malformed text. */
export const positionOf = (text: string): E.Either<PositionError, bigint> => {
  if (text.length > KEY58_CHARS_MAX) {
    return E.left({ _tag: 'TooLong', chars: text.length, max: KEY58_CHARS_MAX });
  }
  const decoded = fromBase58(text);
  if (E.isLeft(decoded)) {
    return E.left({ _tag: 'BadBase58', input: text, detail: describeDecodeError(decoded.left) });
  }
  return decoded.right < POSITION_LIMIT ? E.right(decoded.right) : E.left({ _tag: 'TooLarge', input: text });
};

/**
 * A key58 as its position and its canonical text (`key58Of(position)`): base58 without padding,
 * so the canonical text is the valid text without its leading '1's (zero digits), or "1" for 0.
 * Cheaper than `key58Of(positionOf(text))`, which every hop of every request would pay.
 */
export const parseKey58 = (text: string): E.Either<PositionError, { readonly key58: string; readonly position: bigint }> => {
  const p = positionOf(text);
  if (E.isLeft(p)) return p;
  let zeros = 0;
  while (zeros < text.length - 1 && text.charCodeAt(zeros) === 0x31) zeros++;
  return E.right({ key58: zeros === 0 ? text : text.slice(zeros), position: p.right });
};

/** A node's ring position, `id_10 = b58dec(id)`. */
export const nodePosition = (id: string): E.Either<PositionError, bigint> => positionOf(id);

/** The canonical key58 text of a position (base58, no padding; the seeds' form). */
export const key58Of = (position: bigint): string => toBase58(position);

/** The five positions of a user key (§5 "Keys"); a string key is hashed as its UTF-8 bytes. */
export const keyPositionsOf = (caps: Capabilities, key: Uint8Array | string): PerTable<bigint> =>
  keyPositions(caps, typeof key === 'string' ? utf8Bytes(key) : key);

/** The five key58 strings of a user key, as they travel in store/retrieve/delta messages. */
export const keyPositions58 = (caps: Capabilities, key: Uint8Array | string): PerTable<string> => {
  const p = keyPositionsOf(caps, key);
  return {
    sha1: key58Of(p.sha1),
    sha224: key58Of(p.sha224),
    sha256: key58Of(p.sha256),
    sha384: key58Of(p.sha384),
    sha512: key58Of(p.sha512),
  };
};
