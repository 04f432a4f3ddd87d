/**
 * The local chord tables: what this node holds for the five hash tables, and which of it to hand
 * over when the ring changes.
 *
 * - `store` writes a value; a nil value deletes, and deleting really removes the entry (py2p's
 *   KeyError on deleting a missing slot is a bug; here it is a no-op).
 * - `applyDelta` merges a map into the stored map, creating `{}` when absent (§5.1 delta), at a
 *   cost that grows with the delta, not with the stored map (see `MapLedger`).
 * - `dumpData(start, end)` selects what a newly storing peer at `start` now owns: each item at k
 *   with `distance(start, k) < distance(end, k)`, `end` being self (§5.1 meta flow, migration).
 *
 * Keys are key58 text, normalised to the canonical base58 of their position, so "1z" and "z"
 * (same number) are one key. Values are msgpack values compared as in vote.ts.
 *
 * Inputs: table names, key58 text, values from peers. Effects: none outside the store itself.
 * Linear state, like the mesh's seen-set: the store is owned by one chord node's state, and a
 * write mutates it in place and returns it, so a write costs O(1) (a copy per write made 10,000
 * keys quadratic). A value read out is never changed afterwards: a merge changes in place only a
 * map the store made itself and has not handed out since. Two bounds: entries per table (`STORE_ENTRIES_MAX`) and
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
import btree from 'sorted-btree';
import { footprint, OBJECT_OVERHEAD_BYTES } from '../wire/footprint.js';
import { countMsgpack, packValue, type MsgpackCounts } from '../wire/msgpack.js';
import type { WireValue } from '../wire/value.js';
import { onRing, parseKey58, RING_SIZE, TABLES, type PositionError, type TableName } from './ring.js';
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

/**
 * One stored value, the ring position its key58 names, and the bytes the value counts as (its
 * footprint); a map that deltas were merged into also has its ledger (its `map` is the value).
 */
export interface StoredEntry {
  readonly position: bigint;
  readonly value: WireValue;
  readonly bytes: number;
  readonly ledger?: MapLedger;
}

/**
 * What a merged map's measures are, kept as deltas change it, so a merge costs what its delta
 * costs: `packed` is the map's msgpack length, `footprint` what it counts as in the store, and
 * `values`, `maps`, `depth` are `scanMsgpack`'s counts of it (see `MsgpackCounts`). `fits` in
 * `applyDelta` decides from these whether the merged map may be kept, with no encoding.
 */
export interface MapMeasure extends MsgpackCounts {
  readonly packed: number;
  readonly footprint: number;
}

/**
 * A map the store merges deltas into, with its measures. Keys are matched as msgpack values:
 * strings, booleans, nil and numbers directly by the `Map` (integers in one form, see `directKey`,
 * which keeps their bytes), other keys (bins, arrays, maps) through `odd`, their canonical
 * text → the key the map holds; `totals` are its entries' measures. `shared` is set when the map is handed out (a read); the next merge then copies
 * it instead of changing what a reader holds.
 */
interface MapLedger {
  readonly map: Map<WireValue, WireValue>;
  readonly odd: Map<string, WireValue>;
  readonly totals: EntryTotals;
  shared: boolean;
}

/**
 * A map's entries measured together: msgpack bytes of the keys and values (header excluded), their
 * footprint overheads, the values and maps inside them, and `depths[d]`, the entries whose deeper
 * side has depth d.
 */
interface EntryTotals {
  packed: number;
  overheads: number;
  values: number;
  maps: number;
  readonly depths: number[];
}

const emptyTotals = (): EntryTotals => ({ packed: 0, overheads: 0, values: 0, maps: 0, depths: [] });

/** Count one entry's measures in (`sign` 1) or out (-1). */
const count = (t: EntryTotals, m: Measured, sign: 1 | -1): void => {
  t.packed += sign * m.packed;
  t.overheads += sign * m.overheads;
  t.values += sign * m.values;
  t.maps += sign * m.maps;
  t.depths[m.depth] = (t.depths[m.depth] ?? 0) + sign;
};

// sorted-btree is CommonJS: Node's ESM loader gives its exports object as the default import (the
// class is its `default`), while bundlers and test runners may give the class itself.
const loaded = btree as unknown as typeof btree.default | typeof btree;
const BTree: typeof btree.default = 'default' in loaded ? loaded.default : loaded;
type BTree<K, V> = InstanceType<typeof btree.default<K, V>>;

/** Where an entry lies on the ring (its position folded onto it), then its key58: positions above 2^384 fold onto others. */
export type RingSlot = readonly [ring: bigint, key58: string];

const bySlot = (a: RingSlot, b: RingSlot): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

/**
 * The local tables: per table, canonical key58 → entry, and the entries in ring order (so that
 * what a peer now owns is found without a walk over every entry). Owned by one chord state and
 * mutated by the writes below; treat as opaque and use the functions.
 */
export interface ChordStore {
  readonly tables: Map<TableName, Map<string, StoredEntry>>;
  readonly order: Map<TableName, BTree<RingSlot, undefined>>;
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
  order: new Map(TABLES.map((t) => [t, new BTree<RingSlot, undefined>(undefined, bySlot)] as const)),
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
  const packed = packedOf(value);
  return packed === undefined ? undefined : footprint(value, packed.length);
};

/** The msgpack bytes of a value, or undefined for one msgpack cannot hold. */
const packedOf = (value: WireValue): Uint8Array | undefined => {
  try {
    return packValue(value);
  } catch {
    return undefined;
  }
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
      st.order.get(table)?.delete([onRing(position), key]);
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
  put(st, table, key, { position, value, bytes });
  st.bytes = total;
  return E.right(st);
};

/** Keep `entry` under (table, key), in ring order too when it is new. */
const put = (st: ChordStore, table: TableName, key: string, entry: StoredEntry): void => {
  const entries = st.tables.get(table);
  const isNew = entries?.has(key) !== true;
  if (entries === undefined) st.tables.set(table, new Map([[key, entry]]));
  else entries.set(key, entry);
  if (isNew) st.order.get(table)?.set([onRing(entry.position), key], undefined);
};

/** The value under (table, key58), if any; a malformed key58 simply holds nothing. */
export const retrieve = (st: ChordStore, table: TableName, key58: string): O.Option<WireValue> => {
  const parsed = parseKey(key58);
  if (E.isLeft(parsed)) return O.none;
  const entry = tableOf(st, table).get(parsed.right.key58);
  return entry === undefined ? O.none : O.some(handOut(entry));
};

/** An entry's value, to be read out: a later merge will not change it (see `MapLedger`). */
const handOut = (e: StoredEntry): WireValue => {
  if (e.ledger !== undefined) e.ledger.shared = true;
  return e.value;
};

/**
 * Merges the map `delta` into the map stored under (table, key58), creating it when absent. An
 * entry of `delta` replaces the value of the stored entry whose key is equal as a msgpack value
 * (so a bin key and a str key stay distinct, and two equal bin keys are one key; the entry keeps
 * its place), and other entries are added at the end. Refused, in this order: a stored non-map
 * (`NotAMap`), a new key in a full table, a delta msgpack cannot hold, a merged map `fits` refuses
 * (`TooLarge`: each delta fits in a frame, but merged ones could grow one entry without bound),
 * and one past the store's byte bound.
 *
 * The work is the delta's and that of the entries it replaces: the stored map's measures are kept
 * beside it (`MapLedger`), and it is changed in place unless it was handed out since the last
 * merge (then copied first, once). The first merge into a map stored by `store` measures it whole.
 */
export const applyDelta = (
  st: ChordStore,
  table: TableName,
  key58: string,
  delta: ReadonlyMap<WireValue, WireValue>,
  fits: (merged: MapMeasure) => boolean = () => true,
): E.Either<StoreError, ChordStore> => {
  const parsed = parseKey(key58);
  if (E.isLeft(parsed)) return parsed;
  const { key58: key, position } = parsed.right;
  const entries = st.tables.get(table);
  const old = entries?.get(key);
  if (old !== undefined && !(old.value instanceof Map)) return E.left({ _tag: 'NotAMap', table, key58 });
  if (old === undefined && entries !== undefined && entries.size >= st.entriesMax) {
    return E.left({ _tag: 'TableFull', table, entriesMax: st.entriesMax });
  }
  const base = old === undefined ? undefined : ledgerOf(old);
  if (base === null) return E.left({ _tag: 'Unencodable', table, key58 });
  const plan = planMerge(base, delta);
  if (plan === undefined) return E.left({ _tag: 'Unencodable', table, key58 });
  if (plan.changes.length === 0 && old?.ledger !== undefined) return E.right(st);
  const measure = plan.measure;
  if (!fits(measure)) return E.left({ _tag: 'TooLarge', table, key58 });
  const total = st.bytes - (old?.bytes ?? 0) + measure.footprint;
  if (total > st.bytesMax) return E.left({ _tag: 'StoreFull', table, bytesMax: st.bytesMax });
  // Accepted: only now is anything changed.
  // The stored map is changed in place only when it is the store's own and nobody was handed it.
  const ledger = base === undefined ? emptyLedger() : base === old?.ledger && base.shared ? copyLedger(base) : base;
  for (const change of plan.changes) applyChange(ledger, change);
  put(st, table, key, { position, value: ledger.map, bytes: measure.footprint, ledger });
  st.bytes = total;
  return E.right(st);
};

/** A key or a value (or an entry: both together) measured: msgpack length, footprint overheads and scan counts. */
interface Measured extends MsgpackCounts {
  readonly packed: number;
  readonly overheads: number;
}

/** `v` measured, or undefined when msgpack cannot hold it. */
const measured = (v: WireValue): Measured | undefined => {
  const bytes = packedOf(v);
  if (bytes === undefined) return undefined;
  const counts = countMsgpack(bytes);
  if ('_tag' in counts) return undefined;
  return { packed: bytes.length, overheads: footprint(v, 0), values: counts.values, maps: counts.maps, depth: counts.depth };
};

/** One entry of a map as the ledger counts it: its key and value measured together (depth: the deeper). */
const entryMeasure = (k: WireValue, v: WireValue): Measured | undefined => {
  const mk = measured(k);
  const mv = mk === undefined ? undefined : measured(v);
  if (mk === undefined || mv === undefined) return undefined;
  return {
    packed: mk.packed + mv.packed,
    overheads: mk.overheads + mv.overheads,
    values: mk.values + mv.values,
    maps: mk.maps + mv.maps,
    depth: Math.max(mk.depth, mv.depth),
  };
};

/** A change a merge makes: set `value` under `key` (the key the map holds, or the delta's normalised key), replacing `was`. */
interface Change {
  readonly key: WireValue;
  readonly canonical: string | undefined;
  readonly value: WireValue;
  readonly added: Measured;
  readonly was: Measured | undefined;
}

const INT64_MIN_N = -(2n ** 63n);
const UINT64_END_N = 2n ** 64n;
const SAFE_MIN_N = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX_N = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A key in the one form `Map` equality matches exactly as msgpack equality does, or undefined for
 * a key that needs its canonical text (bins, arrays, maps). Integers take one form, a number when
 * it is safe and a bigint when it is not (within 64 bits), as msgpack writes them alike; the form
 * chosen is written with the same bytes (and `Map` takes -0 as 0, which msgpackr writes as 0).
 */
const directKey = (k: WireValue): WireValue | undefined => {
  switch (typeof k) {
    case 'string':
    case 'boolean':
      return k;
    case 'number':
      if (Number.isInteger(k) && !Number.isSafeInteger(k)) {
        const n = BigInt(k);
        return n >= INT64_MIN_N && n < UINT64_END_N ? n : k;
      }
      return k;
    case 'bigint':
      return k >= SAFE_MIN_N && k <= SAFE_MAX_N ? Number(k) : k;
    default:
      return k === null ? k : undefined;
  }
};

/**
 * The changes merging `delta` into `base` (absent: an empty map) makes and the merged map's
 * measures, without changing anything; undefined when a delta entry cannot be encoded. A key the
 * delta names twice is one change (the later value).
 */
const planMerge = (
  base: MapLedger | undefined,
  delta: ReadonlyMap<WireValue, WireValue>,
): { readonly changes: ReadonlyArray<Change>; readonly measure: MapMeasure } | undefined => {
  const ledger = base ?? emptyLedger();
  let size = ledger.map.size;
  // The ledger's totals as they would be, on a copy.
  const totals = copyTotals(ledger.totals);
  const changes: Change[] = [];
  // Changes by key (direct form, or canonical text for the others: two maps, so that no string key
  // can be taken for another key's canonical text), so a key named twice in the delta replaces its
  // first change.
  const pendingDirect = new Map<WireValue, number>();
  const pendingOdd = new Map<string, number>();
  for (const [k, v] of delta) {
    const direct = directKey(k);
    const canonical = direct === undefined ? canonicalKey(k) : undefined;
    const held = direct === undefined ? ledger.odd.get(canonical!) : ledger.map.has(direct) ? direct : NOT_HELD;
    const key = held === NOT_HELD || held === undefined ? (direct ?? k) : held;
    const added = entryMeasure(key, v);
    if (added === undefined) return undefined;
    const earlier = direct !== undefined ? pendingDirect.get(direct) : pendingOdd.get(canonical!);
    const prior = earlier === undefined ? undefined : changes[earlier]!;
    // What this change replaces: the delta's earlier change of this key, else the stored entry.
    const was = prior !== undefined ? prior.added : held === NOT_HELD || held === undefined ? undefined : entryMeasure(key, ledger.map.get(key) ?? null);
    if (was !== undefined) count(totals, was, -1);
    else size++;
    count(totals, added, 1);
    const change: Change =
      prior !== undefined
        ? { key: prior.key, canonical: prior.canonical, value: v, added, was: prior.was }
        : { key, canonical: held === undefined ? canonical : undefined, value: v, added, was };
    if (prior !== undefined) changes[earlier!] = change;
    else {
      if (direct !== undefined) pendingDirect.set(direct, changes.length);
      else pendingOdd.set(canonical!, changes.length);
      changes.push(change);
    }
  }
  const packed = mapHeaderBytes(size) + totals.packed;
  return {
    changes,
    measure: {
      packed,
      footprint: packed + OBJECT_OVERHEAD_BYTES + totals.overheads,
      values: 1 + totals.values,
      maps: 1 + totals.maps,
      depth: size === 0 ? 0 : 1 + deepest(totals.depths),
    },
  };
};

// Marks a direct key the map does not hold (undefined is taken: an odd key not held).
const NOT_HELD = Symbol('not held');

/** Bytes msgpack's map header takes for `size` entries (fixmap, map16, map32). */
const mapHeaderBytes = (size: number): number => (size < 0x10 ? 1 : size < 0x10000 ? 3 : 5);

/** The highest depth an entry has (the histogram's last non-zero slot), 0 for none. */
const deepest = (depths: ReadonlyArray<number>): number => {
  for (let d = depths.length - 1; d > 0; d--) if ((depths[d] ?? 0) > 0) return d;
  return 0;
};

/** Make one planned change to a ledger. */
const applyChange = (ledger: MapLedger, c: Change): void => {
  if (c.was !== undefined) count(ledger.totals, c.was, -1);
  else if (c.canonical !== undefined) ledger.odd.set(c.canonical, c.key);
  ledger.map.set(c.key, c.value);
  count(ledger.totals, c.added, 1);
};

const emptyLedger = (): MapLedger => ({ map: new Map(), odd: new Map(), totals: emptyTotals(), shared: false });

const copyTotals = (t: EntryTotals): EntryTotals => ({ ...t, depths: [...t.depths] });

/** A ledger with the same measures and its own copy of the map, not shared. */
const copyLedger = (l: MapLedger): MapLedger => ({ map: new Map(l.map), odd: new Map(l.odd), totals: copyTotals(l.totals), shared: false });

/**
 * The ledger of a stored map: its own when it has one, else one measured from the map (a map
 * `store` put there; it is then the store's copy, equal keys as one entry, the later value kept),
 * or null when an entry cannot be encoded (never for a value `store` took).
 */
const ledgerOf = (e: StoredEntry): MapLedger | null => {
  if (e.ledger !== undefined) return e.ledger;
  const plan = planMerge(undefined, e.value as ReadonlyMap<WireValue, WireValue>);
  if (plan === undefined) return null;
  const ledger = emptyLedger();
  for (const change of plan.changes) applyChange(ledger, change);
  return ledger;
};

/** Every item held, table by table in canonical order, each table in insertion order. */
export const items = (st: ChordStore): ReadonlyArray<StoreItem> =>
  TABLES.flatMap((table) => [...tableOf(st, table)].map(([key58, e]) => ({ table, key58, value: handOut(e) })));

/** How many entries one table holds. */
export const size = (st: ChordStore, table: TableName): number => tableOf(st, table).size;

/** The bytes every value held counts as (its footprint), over the five tables. */
export const bytesHeld = (st: ChordStore): number => st.bytes;

/**
 * Walk `table`'s entries in ring order from `from` clockwise up to (not including) `to` (the whole
 * ring when `from` and `to` are one point), strictly
 * after the slot `after` when given (where an earlier walk stopped), calling `visit` with each
 * key58 until it returns false: the slot it stopped at, or undefined once the stretch is done.
 * Costs the entries visited (and a search), not the table.
 */
export const walkRing = (
  st: ChordStore,
  table: TableName,
  from: bigint,
  to: bigint,
  after: RingSlot | undefined,
  visit: (key58: string) => boolean,
): RingSlot | undefined => {
  const order = st.order.get(table);
  const lo = onRing(from);
  const hi = onRing(to);
  if (order === undefined) return undefined;
  // One piece, or two when the stretch passes the top of the ring (from == to: all of it).
  const pieces: Array<readonly [bigint, bigint]> = lo < hi ? [[lo, hi]] : [[lo, RING_SIZE], [0n, hi]];
  // The walk resumes in the piece `after` lies in (the second, when it lies below `from`).
  let from0 = after !== undefined && pieces.length === 2 && after[0] < lo ? 1 : 0;
  for (; from0 < pieces.length; from0++) {
    const [start, end] = pieces[from0]!;
    for (const slot of order.keys(after ?? [start, ''])) {
      if (slot[0] >= end) break;
      if (after !== undefined && bySlot(slot, after) <= 0) continue;
      if (!visit(slot[1])) return slot;
    }
    after = undefined;
  }
  return undefined;
};

/**
 * What to migrate to a peer that has just become storing (§5.1, `dump_data(start = peer,
 * end = self)`): each item at k with `distance(start, k) < distance(end, k)`, i.e. the peer sits
 * in (self, k] and is now the nearer predecessor. That is each item from `start` clockwise up to
 * (not including) `end`, found in ring order: the work is the items', not the tables'. Each table
 * in ring order from `start`. Local copies are not removed (as in the seeds).
 */
export const dumpData = (st: ChordStore, start: bigint, end: bigint): ReadonlyArray<StoreItem> => {
  const out: StoreItem[] = [];
  // The rule selects nothing when the two are one point (no distance is below itself).
  if (onRing(start) === onRing(end)) return out;
  for (const table of TABLES) {
    const entries = tableOf(st, table);
    walkRing(st, table, start, end, undefined, (key58) => {
      const e = entries.get(key58);
      if (e !== undefined) out.push({ table, key58, value: handOut(e) });
      return true;
    });
  }
  return out;
};

