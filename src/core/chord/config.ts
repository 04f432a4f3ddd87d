/**
 * The chord node's own bounds, next to the mesh's `NodeConfig`. Each is a named constant with its
 * unit, and every one can be overridden per node.
 *
 * Deliberately not: the mesh's bounds. A chord node runs its mesh with `NodeConfig` as usual; its
 * outgoing budget for ring neighbours and fingers is `peersMax` here, on top of the mesh's small
 * `outgoingMax` (which only bootstraps it from peers lists).
 */
import { HANDOFF_BATCH_BYTES } from './handoff.js';
import { CHORD_PEERS_MAX } from './routing.js';
import { STORE_BYTES_MAX, STORE_ENTRIES_MAX } from './store.js';
import { VOTE_QUORUM } from './vote.js';

/** A get that has not reached a quorum by then fails with Timeout (the seeds' 10 s). */
export const GET_TIMEOUT_MS = 10_000;
/** Gets waiting for answers at most. */
export const GETS_MAX = 4096;
/** Retrieves forwarded on a peer's behalf and waiting for the owner's answer, at most. */
export const FORWARDS_MAX = 16_384;
/** A forwarded retrieve nobody answered is forgotten after this. */
export const FORWARD_TIMEOUT_MS = 15_000;
/** Nodes remembered from peers lists (candidates for ring neighbours and fingers). */
export const DIRECTORY_MAX = 8192;
/** A node we failed to reach is not dialled again before this. */
export const REDIAL_MS = 30_000;
/** How often the node asks its peers for their peers and re-picks whom to keep connected. */
export const REFRESH_MS = 15_000;
/**
 * Peers asked for their peers list at each refresh: the nearest storing peer on each side, then
 * others picked at random. Asking every peer (the mesh's `requestPeers`) costs each refresh
 * peers² list entries per node, which in a 256-node ring was most of the work of an idle ring.
 */
export const REFRESH_PEERS_MAX = 4;
/** After the directory or the routing table changed, re-pick peers this soon. */
export const REPICK_DELAY_MS = 250;
/** Chord dials in flight at most. */
export const DIALS_MAX = 8;
/** User keys remembered from notify broadcasts (the `keys()` set). */
export const NOTIFY_KEYS_MAX = 1_000_000;
/**
 * Bytes of the user keys remembered from notify broadcasts, each key counted as its length in bytes
 * (a str key as its UTF-8 bytes) plus the per-value overhead (`VALUE_OVERHEAD_BYTES`, 64: the map
 * entry and the string). A key can be up to a frame long, so `NOTIFY_KEYS_MAX` alone would let
 * peers fill the set with a million keys of 16 MiB. 128 MiB holds the million keys at 64 bytes
 * each, which a hash or a path-like key stays within.
 */
export const NOTIFY_KEY_BYTES_MAX = 128 * 1024 * 1024;

/**
 * Whether a set broadcasts a notify (1, the seeds' behaviour, which every node's `keys()` relies
 * on) or not (0: `keys()` then holds only keys set here). A notify floods the whole network once
 * per new key, so very large simulated rings turn it off.
 */
export const ANNOUNCE_KEYS = 1;

/** Everything a chord node is told at start, beyond its mesh configuration. */
export interface ChordConfig {
  /** Outgoing connections kept for ring neighbours and fingers. */
  readonly peersMax: number;
  /** Entries one local table holds at most. */
  readonly storeEntriesMax: number;
  /** Bytes the five local tables hold at most, together, each value counted as its footprint (msgpack length plus per-value overhead). */
  readonly storeBytesMax: number;
  /** Agreeing tables a get needs (of five). */
  readonly voteQuorum: number;
  readonly getTimeoutMs: number;
  readonly getsMax: number;
  readonly forwardsMax: number;
  readonly forwardTimeoutMs: number;
  readonly directoryMax: number;
  readonly redialMs: number;
  readonly refreshMs: number;
  /** Peers asked for their peers list per refresh. */
  readonly refreshPeersMax: number;
  readonly repickDelayMs: number;
  readonly dialsMax: number;
  readonly notifyKeysMax: number;
  /** Bytes of the keys remembered from notify, together (each its length plus the per-value overhead). */
  readonly notifyKeyBytesMax: number;
  /** 1: a set broadcasts notify (default); 0: it does not. */
  readonly announceKeys: number;
  /**
   * Bytes of stores written to one peer before waiting for them to leave, when handing items over
   * (handoff.ts): below the shell's send queue bound, so a hand-over never has the peer dropped as slow.
   */
  readonly handoffBatchBytes: number;
}

/** The chord bounds, with their defaults. */
export const defaultChordLimits: ChordConfig = {
  peersMax: CHORD_PEERS_MAX,
  storeEntriesMax: STORE_ENTRIES_MAX,
  storeBytesMax: STORE_BYTES_MAX,
  voteQuorum: VOTE_QUORUM,
  getTimeoutMs: GET_TIMEOUT_MS,
  getsMax: GETS_MAX,
  forwardsMax: FORWARDS_MAX,
  forwardTimeoutMs: FORWARD_TIMEOUT_MS,
  directoryMax: DIRECTORY_MAX,
  redialMs: REDIAL_MS,
  refreshMs: REFRESH_MS,
  refreshPeersMax: REFRESH_PEERS_MAX,
  repickDelayMs: REPICK_DELAY_MS,
  dialsMax: DIALS_MAX,
  notifyKeysMax: NOTIFY_KEYS_MAX,
  notifyKeyBytesMax: NOTIFY_KEY_BYTES_MAX,
  announceKeys: ANNOUNCE_KEYS,
  handoffBatchBytes: HANDOFF_BATCH_BYTES,
};
