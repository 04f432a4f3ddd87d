/**
 * The chord node's state and the context its reducers work in.
 *
 * Owns: the shape of a chord node, which is a mesh node (`mesh`, stepped by the mesh reducer and
 * never reached into except through mesh functions) plus what chord adds: whether we store, each
 * routed peer's ring position and storing flag (from its meta), the local tables, the notify key
 * set, gets waiting for answers, retrieves forwarded for peers, and a directory of nodes heard of
 * in peers lists (candidates for ring neighbours and fingers).
 * Invariants: `peers` only names routed peers of `mesh`; `waiting` holds at most `forwardsMax`
 * relays and `gets` at most `getsMax` gets; `directory` at most `directoryMax` nodes; the key set
 * at most `notifyKeysMax` keys, of `notifyKeyBytesMax` bytes together (`keyBytes`); the tables
 * at most `storeBytesMax` bytes (store.ts).
 * Deliberately not: immutable. Like the mesh, `chordStep` mutates the state it is given.
 */
import type { Ctx as MeshCtx, Env } from '../mesh/state.js';
import type { NodeState } from '../node.js';
import type { Address, CommandId, ConnId, Effect, NodeId } from '../types.js';
import type { IdValue } from '../wire/codecs.js';
import type { InternalMessage } from '../wire/packets.js';
import type { WireValue } from '../wire/value.js';
import type { ChordConfig } from './config.js';
import type { Handoff } from './handoff.js';
import type { TableName } from './ring.js';
import type { ChordStore } from './store.js';
import type { TableAnswer } from './vote.js';
import type { ConnWrites, PendingWrite } from './writes.js';

/** What a chord node runs with: the mesh's environment plus the chord bounds. */
export interface ChordEnv extends Env {
  readonly chord: ChordConfig;
}

/** A routed peer as chord sees it. */
export interface ChordPeer {
  readonly position: bigint;
  /** From its meta; every peer starts as leeching (§5). */
  storing: boolean;
  /** We dialled it. */
  readonly outgoing: boolean;
}

/** A node heard of in a peers list or met directly. */
export interface DirectoryEntry {
  readonly address: Address;
  readonly position: bigint;
  /** When we last dialled it ourselves, ms. */
  triedAt: number | undefined;
  /** When a dial of ours to it failed or our link to it dropped, ms. */
  failedAt: number | undefined;
}

/** A user get waiting for its five answers. */
export interface PendingGet {
  readonly cmd: CommandId;
  /** The key58 asked of each table, in `TABLES` order. */
  readonly keys58: ReadonlyArray<string>;
  readonly answers: TableAnswer[];
  readonly startedAt: number;
  readonly deadlineAt: number;
}

/** Someone waiting for the answer to one (table, key58): a local get or a peer we forward for. */
export type Waiter =
  | { readonly _tag: 'Get'; readonly cmd: CommandId; readonly index: number }
  | { readonly _tag: 'Relay'; readonly conn: ConnId; readonly table: IdValue; readonly key58: IdValue };

/**
 * Everyone waiting for one (table, key58), when to give up on them, and the connections a retrieve
 * of it went out on: only an answer on one of those settles it.
 */
export interface WaitSlot {
  /** What is waited for: the table, the canonical key58 and its position. */
  readonly target: Target;
  readonly waiters: Waiter[];
  deadlineAt: number;
  readonly asked: ConnId[];
}

/** Counts kept for observability. */
export interface ChordCounters {
  storesHandled: number;
  storesForwarded: number;
  retrievesAnswered: number;
  retrievesForwarded: number;
  migrated: number;
  badRequests: number;
}

/**
 * The storing, routed peers sorted by ring point (equal points: larger raw position first), for
 * routing by binary search. Dropped whenever `peers` changes and rebuilt on the next route
 * (send.ts); a peer that left the routing table since is caught when it would be chosen.
 */
export interface RingView {
  readonly points: ReadonlyArray<bigint>;
  readonly raws: ReadonlyArray<bigint>;
  readonly ids: ReadonlyArray<NodeId>;
}

/** The whole chord node. */
export interface ChordState {
  readonly mesh: NodeState;
  readonly position: bigint;
  joined: boolean;
  readonly peers: Map<NodeId, ChordPeer>;
  /** `peers` as routing reads it; undefined after a change (see `RingView`). */
  ringView: RingView | undefined;
  /** The local tables, owned here and written in place (store.ts). */
  readonly store: ChordStore;
  /** Canonical key → the key as the user or the notify gave it. */
  readonly keys: Map<string, Uint8Array | string>;
  /** What the keys in `keys` count against `notifyKeyBytesMax`, summed (kept as keys come and go). */
  keyBytes: number;
  readonly gets: Map<CommandId, PendingGet>;
  /** `table/key58` (canonical) → waiters. */
  readonly waiting: Map<string, WaitSlot>;
  relays: number;
  /** The earliest deadline of a get or a wait slot (maybe passed), ms. */
  checkAt: number | undefined;
  readonly directory: Map<NodeId, DirectoryEntry>;
  /** Items being handed over to their owners, per connection (handoff.ts). */
  readonly handoffs: Map<ConnId, Handoff>;
  /** The last `AwaitDrain` token given (writes.ts). */
  drainTokens: number;
  /** User writes not done yet, and what each connection's drain will settle (writes.ts). */
  readonly writes: Map<CommandId, PendingWrite>;
  readonly writesByConn: Map<ConnId, ConnWrites>;
  /** When to re-pick the peers to keep connected, ms. */
  repickAt: number | undefined;
  /** When to next ask peers for their peers, ms. */
  refreshAt: number;
  readonly counters: ChordCounters;
}

/** One step's working set. `mesh` is the mesh context sharing the same effect list. */
export interface ChordCtx {
  readonly env: ChordEnv;
  readonly st: ChordState;
  readonly at: number;
  readonly out: Effect[];
  readonly mesh: MeshCtx;
  /**
   * The answers (retrieved messages) built during this step, by the table and key58 they echo, with
   * the value each carries: many retrieves of one key in one read, or many peers waiting for one
   * forwarded answer, share one encoding of the value instead of one each. Made on first use.
   */
  answers: Map<string, { readonly value: WireValue; readonly msg: InternalMessage }> | undefined;
}

/** A parsed (table, key58): the table, the canonical key58 text, and its position. */
export interface Target {
  readonly table: TableName;
  readonly key58: string;
  readonly position: bigint;
}

/** The key of a wait slot. */
export const slotKey = (table: TableName, key58: string): string => `${table}/${key58}`;

/** Values that a user key can take on the wire. */
export type UserKey = Uint8Array | string;

/** A chord value is any msgpack value. */
export type ChordValue = WireValue;
