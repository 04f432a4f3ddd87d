/**
 * The local chord tables: what this node holds for the five hash tables, and which of it to hand
 * over when the ring changes.
 *
 * - `store` writes a value; a nil value deletes, and deleting really removes the entry (py2p's
 *   KeyError on deleting a missing slot is a bug; here it is a no-op).
 * - `applyDelta` merges a map into the stored map, creating `{}` when absent (§5.1 delta).
 * - `dumpData(start, end)` selects what a newly storing peer at `start` now owns: each item at k
 *   with `distance(start, k) < distance(end, k)`, `end` being self (§5.1 meta flow, migration).
 *
 * Keys are key58 text, normalised to the canonical base58 of their position, so "1z" and "z"
 * (same number) are one key. Values are msgpack values compared as in vote.ts.
 *
 * Inputs: table names, key58 text, values from peers. Effects: none outside the store itself.
 * Linear state, like the mesh's seen-set: the store is owned by one chord node's state, and a
 * write mutates it in place and returns it, so a write costs O(1) (a copy per write made 10,000
 * keys quadratic). Reads never mutate. Two bounds: entries per table (`STORE_ENTRIES_MAX`) and
 * bytes across the five tables (`STORE_BYTES_MAX`), each entry counted as its value's footprint
 * (its msgpack length plus a per-value overhead, `footprint`: what the decoded value costs to
 * hold); the store keeps that total as it writes (each entry remembers its count, so a delete or
 * an overwrite costs no encoding of the old value). An overwrite counts only its growth, and a
 * delete always goes through.
 * Bad input (bad key58, a delta on a non-map or one whose merged map the caller refuses as too
 * large, a full table or store, a value msgpack cannot hold) is a typed `StoreError`, and a refused
 * write leaves the store as it was.
 * Deliberately not here: routing (routing.ts), messages, notify key sets.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { footprint } from '../wire/footprint.js';
import { packValue } from '../wire/msgpack.js';
import type { WireValue } from '../wire/value.js';
import { distance, parseKey58, TABLES, type PositionError, type TableName } from './ring.js';
import { canonicalKey } from './vote.js';

/** Entries one table holds at most by default; a store of a new key beyond it is refused. */
export const STORE_ENTRIES_MAX = 65_536;

/**
 * Bytes the five tables hold at most by default (256 MiB), counting each entry as its value's
 * footprint (msgpack length plus per-value overhead, so a value of many tiny elements counts what
 * it costs decoded, not its few msgpack bytes); a write that would go past it is refused. The
 * entry bound alone lets a peer fill 5 × 65,536 entries with values of up to a frame each
 * (16 MiB): terabytes. 256 MiB still holds fifteen values of the largest frame, or every entry
 * the tables allow at about 800 bytes each, within a default Node heap (a few GiB).
 */
export const STORE_BYTES_MAX = 256 * 1024 * 1024;

/** One stored value, the ring position its key58 names, and the bytes the value counts as (its footprint). */
export interface StoredEntry {
  readonly position: bigint;
  readonly value: WireValue;
  readonly bytes: number;
}

/**
 * The local tables: per table, canonical key58 → entry. Owned by one chord state and mutated by
 * the writes below; treat as opaque and use the functions.
 */
export interface ChordStore {
  readonly tables: Map<TableName, Map<string, StoredEntry>>;
  readonly entriesMax: number;
  readonly bytesMax: number;
  /** The bytes every value held counts as, summed over the five tables. */
  bytes: number;
}

/** One (table, key, value) item, as handed over on migration or unjoin. */
export interface StoreItem {
  readonly table: TableName;
  readonly key58: string;
  readonly value: WireValue;
}

/** Why a store operation was refused. */
export type StoreError =
  | { readonly _tag: 'BadKey'; readonly key58: string; readonly reason: PositionError }
  | { readonly _tag: 'NotAMap'; readonly table: TableName; readonly key58: string }
  | { readonly _tag: 'TooLarge'; readonly table: TableName; readonly key58: string }
  | { readonly _tag: 'TableFull'; readonly table: TableName; readonly entriesMax: number }
  | { readonly _tag: 'StoreFull'; readonly table: TableName; readonly bytesMax: number }
  | { readonly _tag: 'Unencodable'; readonly table: TableName; readonly key58: string };

/** An empty store holding at most `entriesMax` entries per table and `bytesMax` bytes in all. */
export const emptyStore = (entriesMax: number = STORE_ENTRIES_MAX, bytesMax: number = STORE_BYTES_MAX): ChordStore => ({
  tables: new Map(TABLES.map((t) => [t, new Map<string, StoredEntry>()] as const)),
  entriesMax,
  bytesMax,
  bytes: 0,
});

const EMPTY: ReadonlyMap<string, StoredEntry> = new Map();

/** The entries of one table (empty if none), for reading. */
const tableOf = (st: ChordStore, table: TableName): ReadonlyMap<string, StoredEntry> => st.tables.get(table) ?? EMPTY;

/** A key58 parsed to its position and canonical text. */
const parseKey = (key58: string): E.Either<StoreError, { readonly key58: string; readonly position: bigint }> => {
  const p = parseKey58(key58);
  return E.isLeft(p) ? E.left({ _tag: 'BadKey', key58, reason: p.left }) : p;
};

/**
 * The bytes a value counts as (`footprint`), or undefined for one msgpack cannot hold (a bigint
 * beyond 64 bits: never a peer's, whose values were decoded from msgpack, nor a user's, checked
 * before).
 */
const countedBytes = (value: WireValue): number | undefined => {
  let packed: number;
  try {
    packed = packValue(value).length;
  } catch {
    return undefined;
  }
  return footprint(value, packed);
};

/**
 * Writes `value` under (table, key58), in place; a null value deletes the entry (absent stays
 * absent). Returns the same store, or the refusal (and then the store is unchanged).
 */
export const store = (st: ChordStore, table: TableName, key58: string, value: WireValue): E.Either<StoreError, ChordStore> => {
  const parsed = parseKey(key58);
  if (E.isLeft(parsed)) return parsed;
  const { key58: key, position } = parsed.right;
  const entries = st.tables.get(table);
  const old = entries?.get(key);
  if (value === null) {
    if (old !== undefined && entries !== undefined) {
      entries.delete(key);
      st.bytes -= old.bytes;
    }
    return E.right(st);
  }
  if (old === undefined && entries !== undefined && entries.size >= st.entriesMax) {
    return E.left({ _tag: 'TableFull', table, entriesMax: st.entriesMax });
  }
  const bytes = countedBytes(value);
  if (bytes === undefined) return E.left({ _tag: 'Unencodable', table, key58 });
  // Only growth counts against the bound: the total is within it, so an overwrite with a value
  // no larger than the old one always fits.
  const total = st.bytes - (old?.bytes ?? 0) + bytes;
  if (total > st.bytesMax) return E.left({ _tag: 'StoreFull', table, bytesMax: st.bytesMax });
  const entry: StoredEntry = { position, value, bytes };
  if (entries === undefined) st.tables.set(table, new Map([[key, entry]]));
  else entries.set(key, entry);
  st.bytes = total;
  return E.right(st);
};

/** The value under (table, key58), if any; a malformed key58 simply holds nothing. */
export const retrieve = (st: ChordStore, table: TableName, key58: string): O.Option<WireValue> => {
  const parsed = parseKey(key58);
  if (E.isLeft(parsed)) return O.none;
  const entry = tableOf(st, table).get(parsed.right.key58);
  return entry === undefined ? O.none : O.some(entry.value);
};

/**
 * Merges the map `delta` into the map stored under (table, key58), creating it when absent. An
 * entry of `delta` replaces the stored entry whose key is equal as a msgpack value (so a bin key
 * and a str key stay distinct, and two equal bin keys are one key). A stored non-map is refused,
 * and so is a merged map that `fits` refuses: each delta fits in a frame, but merged ones could
 * grow one entry without bound.
 */
export const applyDelta = (
  st: ChordStore,
  table: TableName,
  key58: string,
  delta: ReadonlyMap<WireValue, WireValue>,
  fits: (merged: WireValue) => boolean = () => true,
): E.Either<StoreError, ChordStore> => {
  const parsed = parseKey(key58);
  if (E.isLeft(parsed)) return parsed;
  const current = tableOf(st, table).get(parsed.right.key58)?.value ?? new Map<WireValue, WireValue>();
  if (!(current instanceof Map)) return E.left({ _tag: 'NotAMap', table, key58 });
  const merged = mergeMaps(current as ReadonlyMap<WireValue, WireValue>, delta);
  if (!fits(merged)) return E.left({ _tag: 'TooLarge', table, key58 });
  return store(st, table, key58, merged);
};

/** `base` updated with every entry of `delta`, keys matched by msgpack equality. */
export const mergeMaps = (
  base: ReadonlyMap<WireValue, WireValue>,
  delta: ReadonlyMap<WireValue, WireValue>,
): ReadonlyMap<WireValue, WireValue> => {
  const byKey = new Map<string, readonly [WireValue, WireValue]>();
  for (const [k, v] of base) byKey.set(canonicalKey(k), [k, v]);
  for (const [k, v] of delta) byKey.set(canonicalKey(k), [k, v]);
  return new Map([...byKey.values()]);
};

/** Every item held, table by table in canonical order, each table in insertion order. */
export const items = (st: ChordStore): ReadonlyArray<StoreItem> =>
  TABLES.flatMap((table) => [...tableOf(st, table)].map(([key58, e]) => ({ table, key58, value: e.value })));

/** How many entries one table holds. */
export const size = (st: ChordStore, table: TableName): number => tableOf(st, table).size;

/** The bytes every value held counts as (its footprint), over the five tables. */
export const bytesHeld = (st: ChordStore): number => st.bytes;

/**
 * What to migrate to a peer that has just become storing (§5.1, `dump_data(start = peer,
 * end = self)`): each item at k with `distance(start, k) < distance(end, k)`, i.e. the peer sits
 * in (self, k] and is now the nearer predecessor. Local copies are not removed (as in the seeds).
 */
export const dumpData = (st: ChordStore, start: bigint, end: bigint): ReadonlyArray<StoreItem> =>
  TABLES.flatMap((table) =>
    [...tableOf(st, table)]
      .filter(([, e]) => distance(start, e.position) < distance(end, e.position))
      .map(([key58, e]) => ({ table, key58, value: e.value })),
  );

