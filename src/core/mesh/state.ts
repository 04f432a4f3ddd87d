/**
 * The mesh node's state and the context every mesh reducer works in.
 *
 * Owns: the shape of a node (connections, routing table, seen-set, pending replies, counters,
 * the address book and the self-healing schedule)
 * and the small helpers all concerns share (emit an event, count a close).
 * Invariants:
 * - every connection in `routing` is in `conns`, in phase `ready`, with `peer` equal to its key;
 * - a connection is in at most one phase; `conns.size <= connectionsMax`;
 * - the seen-set's queue is in arrival order, so its head expires first; every id in its map
 *   has an entry in the queue; the map never holds more than `seenMax` ids;
 * - the address book (`known`) never holds more than `knownAddressesMax` entries, nor our own
 *   address or id.
 * Deliberately not: immutable. For speed `step` mutates the previous state's Maps and returns
 * it (linear use); `cloneNode` in node.ts copies a state for tests that branch.
 */
import type { Capabilities } from '../caps.js';
import type { NodeConfig } from '../config.js';
import type { Address, CommandId, ConnId, Effect, NodeEvent, NodeId } from '../types.js';
import type { FrameDecoder } from '../wire/framing.js';
import type { FrameSource } from '../wire/packets.js';
import type { PeerEntry } from '../wire/messages.js';
import type { WireValue } from '../wire/value.js';
import type { Rng } from '../rng.js';

/** What the core is run with: who it is and what it may call. */
export interface Env {
  readonly config: NodeConfig;
  readonly caps: Capabilities;
}

/** Where a connection is in its life. */
export type Phase = 'dialing' | 'awaiting' | 'ready';

/** One connection, from dial or accept to close. Mutable: owned by the node state alone. */
export interface Conn {
  readonly conn: ConnId;
  readonly outgoing: boolean;
  /** The dialled address, or the accepted socket's remote address. */
  readonly remote: Address | undefined;
  phase: Phase;
  /** The peer's id, once its handshake arrived. */
  peer: NodeId | undefined;
  /** The address the peer advertised in its handshake. */
  peerAddr: Address | undefined;
  /** The id this dial is meant to reach (from a peers list, a route response or a Connect). */
  readonly expectedId: NodeId | undefined;
  /** The Connect command waiting on this connection. */
  cmd: CommandId | undefined;
  /**
   * Methods to try when decompressing what the peer sends (its handshake list, peer order, and
   * any renegotiated since): only the distinct methods we support, so at most `caps.compressors`.
   */
  recvCompression: ReadonlyArray<number>;
  /** The peer's current list as far as our sending goes (renegotiate may change it), as kept above. */
  sendList: ReadonlyArray<number>;
  /** The method we compress with, chosen from our list and `sendList`. */
  sendMethod: number | undefined;
  decoder: FrameDecoder;
  /**
   * The bytes of the last message written here, and whether it went uncompressed (a handshake);
   * undefined when it was above `RESEND_BYTES_MAX`, or once a resend has sent it again.
   */
  lastSent: LastSent | undefined;
  /** Dial or handshake deadline, ms. */
  deadlineAt: number | undefined;
  /** Set while a frame is half received: when it counts as stalled, ms. */
  stallAt: number | undefined;
  /** When its handshake completed, ms (undefined until then). */
  readyAt?: number;
  /** When we last answered its peers request, ms: one answer per millisecond (a read of requests gets one list). */
  peersAnsweredAt?: number;
}

/** What a connection keeps of its last message for a renegotiate resend (mesh/send.ts). */
export interface LastSent {
  readonly msg: FrameSource;
  readonly plain: boolean;
}

/** An address learnt from a peers list, a handshake or a dial: a candidate to (re)dial. */
export interface KnownAddress {
  readonly address: Address;
  /** The id last seen at this address, if any (dialled as the expected id). */
  id: NodeId | undefined;
  /** Failed attempts since the last connection that lasted (drives the back-off). */
  failures: number;
  /** Not to be dialled before this, ms. */
  retryAt: number;
  /** When it was last learnt or reached, ms (the oldest goes first when the book is full). */
  seenAt: number;
  /** Wrong subnet or ourselves: never dialled again while remembered. */
  banned: boolean;
  /** When a lasting outgoing connection to it dropped, until it is reached again, ms. */
  lostAt: number | undefined;
}

/** The self-healing schedule (mesh/heal.ts). */
export interface HealState {
  /** Something that may change the outgoing count happened this step: re-check at its end. */
  dirty: boolean;
  /** When the earliest known address becomes due for a redial, ms (only while under target). */
  dialAt: number | undefined;
  /** When to next ask peers for their peers, ms (only while under target). */
  requestAt: number | undefined;
  /** The current interval between peers requests, ms (doubles while under target). */
  requestDelayMs: number;
}

/**
 * Message ids seen recently. A Map answers membership; a queue in arrival order (so in expiry
 * order) forgets them from its head in O(1), where iterating a Map from its start would walk
 * over every entry deleted before.
 */
export interface SeenSet {
  /**
   * Message id key → the queue position of its latest entry (`base` + index). A position, not a
   * time: a small integer (compaction counts from 0 again past `SEEN_REBASE_AT`), so the map holds
   * no boxed number per id.
   */
  readonly latest: Map<string, number>;
  /** Queue of [key, forget-at (ms)], oldest at `head`. */
  queueKeys: string[];
  queueUntil: number[];
  head: number;
  /** Entries compaction has cut from the queue's front: the entry at index i is at position `base + i`. */
  base: number;
}

/** A reply waiting for a route to its target. */
export interface PendingReply {
  readonly cmd: CommandId;
  readonly to: NodeId;
  readonly packets: ReadonlyArray<WireValue>;
  readonly deadlineAt: number;
}

/** Counts kept for observability (`nodeStatus`). */
export interface Counters {
  framesReceived: number;
  broadcastsRelayed: number;
  duplicatesDropped: number;
  staleDropped: number;
  /** Broadcasts stamped beyond `futureToleranceMs` ahead of our clock. */
  futureDropped: number;
  /**
   * Ids the `seenMax` bound forgot before their time was up: while such an id is forgotten, a
   * late copy of its broadcast would be taken as new. Above zero, raise `seenMax`.
   */
  seenForgottenEarly: number;
  badBroadcastsDropped: number;
  delivered: number;
  repliesSent: number;
  repliesFailed: number;
  /** Connections closed, by reason tag (ours and theirs). */
  readonly closedByReason: Record<string, number>;
}

/** The whole mesh node. */
export interface MeshState {
  closed: boolean;
  rng: Rng;
  dialSeq: number;
  readonly conns: Map<ConnId, Conn>;
  /**
   * Every connection of `conns` with a deadline or a stall deadline, perhaps with others (closed
   * or without either): the deadline scans walk this instead of every connection, and the Tick's
   * scan keeps only what belongs. A node with many quiet, handshaken peers scans nothing.
   */
  timed: Set<Conn>;
  readonly routing: Map<NodeId, ConnId>;
  readonly seen: SeenSet;
  /**
   * The latest clock reading any input brought, ms. The seen-set reckons with it, not the step's
   * clock: a clock set back (a skew ending, a step of NTP) must not make a forgotten broadcast fresh.
   */
  clockMax: number;
  /** Request id → replies waiting on it (several replies to one target in one second share one). */
  readonly pending: Map<string, PendingReply[]>;
  pendingCount: number;
  readonly counters: Counters;
  /**
   * Set by a layer composed over the mesh (chord) that wants to see peers lists: every entry of
   * every list received is appended here, and that layer empties it after each step.
   */
  peersHeard?: PeerEntry[];
  /** Address key (`port@host`) → what we know of it; at most `knownAddressesMax` entries. */
  readonly known: Map<string, KnownAddress>;
  readonly heal: HealState;
}

/** One step's working set: environment, state, clock and the effects emitted so far. */
export interface Ctx {
  readonly env: Env;
  readonly st: MeshState;
  readonly at: number;
  readonly out: Effect[];
}

/** Takes an input's clock reading into `clockMax`: every step does, first of all (mesh and chord alike). */
export const readClock = (st: MeshState, at: number): void => {
  if (at > st.clockMax) st.clockMax = at;
};

/** Emit an event for the user. */
export const emit = (ctx: Ctx, event: NodeEvent): void => {
  ctx.out.push({ _tag: 'Emit', event });
};

/** Count a close by its reason tag. */
export const countClose = (st: MeshState, tag: string): void => {
  st.counters.closedByReason[tag] = (st.counters.closedByReason[tag] ?? 0) + 1;
};

/** The number of outgoing connections in any phase. */
export const outgoingCount = (st: MeshState): number => {
  let n = 0;
  for (const c of st.conns.values()) if (c.outgoing) n++;
  return n;
};

/** The number of connections still waiting for a handshake. */
export const awaitingCount = (st: MeshState): number => {
  let n = 0;
  for (const c of st.conns.values()) if (c.phase === 'awaiting') n++;
  return n;
};

/** Two addresses name the same endpoint. */
export const sameAddress = (a: Address | undefined, b: Address | undefined): boolean =>
  a !== undefined && b !== undefined && a.host === b.host && a.port === b.port;
