/**
 * A node's configuration: who it is and every bound it keeps. Each bound is a named constant
 * with its unit, and every one can be overridden.
 */
import type { Address, NodeId } from './types.js';

/** Largest frame body accepted, in bytes (a length header above it is refused at once). */
export const FRAME_BYTES_MAX = 16 * 1024 * 1024;
/** Broadcasts older than this are dropped (the seeds' 60 s). */
export const BROADCAST_EXPIRY_MS = 60_000;
/**
 * How long a seen message id is remembered at least, from its arrival. An id is also kept until
 * its own stamp is stale, so a late copy can never be delivered twice.
 */
export const SEEN_TTL_MS = 60_000;
/**
 * Broadcasts stamped further ahead of our clock than this are dropped (and counted): remembering
 * them until they go stale would let a far-future stamp pin the seen-set.
 */
export const FUTURE_TOLERANCE_MS = 300_000;
/** How many seen (id, time) pairs are remembered at most. */
export const SEEN_MAX = 100_000;
/**
 * Messages smaller than this (msgpack bytes) are sent uncompressed even on a compressed link:
 * compressing them costs more than it saves, and every receiver (ts2p, js2p, py2p) tries to
 * decompress and falls back to the raw bytes (§1.4).
 */
export const COMPRESS_MIN_BYTES = 512;
/** Outgoing connections made from peer lists. */
export const OUTGOING_MAX = 4;
/** Connections of any kind. */
export const CONNECTIONS_MAX = 256;
/** Connections that have not yet completed a handshake. */
export const AWAITING_MAX = 64;
/** A connection that has not handshaken by then is closed. */
export const HANDSHAKE_TIMEOUT_MS = 60_000;
/** A connection stuck mid-frame for this long is closed (py2p's kill_old_nodes). */
export const FRAME_STALL_TIMEOUT_MS = 60_000;
/** Replies waiting for a route. */
export const PENDING_REQUESTS_MAX = 1024;
/** A reply waiting for a route gives up after this. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A dial that has not connected by then fails. */
export const DIAL_TIMEOUT_MS = 10_000;
/** Addresses remembered for redialling (learnt from peers lists, handshakes and dials). */
export const KNOWN_ADDRESSES_MAX = 64;
/** First redial delay after an address failed; it doubles with each further failure (jitter ±50 %). */
export const REDIAL_BASE_MS = 1_000;
/** The redial delay stops doubling here. */
export const REDIAL_MAX_MS = 60_000;
/** A connection that stayed up at least this long clears its address's failure count when it drops. */
export const REDIAL_STABLE_MS = 60_000;
/**
 * Below its outgoing target (`outgoingMax`), a node asks its peers for their peers (`'*'`) this
 * long after falling short, then at doubling intervals (jitter ±50 %).
 */
export const PEERS_REQUEST_BASE_MS = 5_000;
/** The peers-request interval stops doubling here. */
export const PEERS_REQUEST_MAX_MS = 600_000;
/** Peers asked per self-healing peers request, picked at random (a hub need not ask hundreds). */
export const PEERS_REQUEST_FANOUT = 4;
/**
 * For this long after an outgoing connection that lasted `redialStableMs` drops, a node with
 * `outgoingMax` ≥ 2 keeps one outgoing slot for redialling the peers it lost so, and fills the
 * others from elsewhere: the halves of a healed partition find each other even when each half
 * could fill every node's target on its own.
 */
export const LOST_PEER_RETRY_MS = 900_000;

/** The subnet a node belongs to (§3.2). */
export interface ProtocolInfo {
  readonly subnet: string;
  readonly encryption: string;
  /** base58 protocol id. */
  readonly id: string;
}

/** Everything a node is told at start. */
export interface NodeConfig {
  readonly id: NodeId;
  readonly protocol: ProtocolInfo;
  /** The address we tell peers to reach us at. */
  readonly outAddr: Address;
  /** Compression flags we offer, in preference order. */
  readonly compression: ReadonlyArray<number>;
  /** Messages smaller than this many msgpack bytes go uncompressed. */
  readonly compressMinBytes: number;
  /** Seed for the node's PRNG (the real shell draws it from crypto, the simulator from its run seed). */
  readonly seed: number;
  readonly frameBytesMax: number;
  readonly broadcastExpiryMs: number;
  readonly seenTtlMs: number;
  readonly futureToleranceMs: number;
  readonly seenMax: number;
  readonly outgoingMax: number;
  readonly connectionsMax: number;
  readonly awaitingMax: number;
  readonly handshakeTimeoutMs: number;
  readonly frameStallTimeoutMs: number;
  readonly pendingRequestsMax: number;
  readonly requestTimeoutMs: number;
  readonly dialTimeoutMs: number;
  readonly knownAddressesMax: number;
  readonly redialBaseMs: number;
  readonly redialMaxMs: number;
  readonly redialStableMs: number;
  readonly peersRequestBaseMs: number;
  readonly peersRequestMaxMs: number;
  readonly peersRequestFanout: number;
  readonly lostPeerRetryMs: number;
}

/** The bounds, with their defaults. */
export const defaultLimits = {
  frameBytesMax: FRAME_BYTES_MAX,
  compressMinBytes: COMPRESS_MIN_BYTES,
  broadcastExpiryMs: BROADCAST_EXPIRY_MS,
  seenTtlMs: SEEN_TTL_MS,
  futureToleranceMs: FUTURE_TOLERANCE_MS,
  seenMax: SEEN_MAX,
  outgoingMax: OUTGOING_MAX,
  connectionsMax: CONNECTIONS_MAX,
  awaitingMax: AWAITING_MAX,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
  frameStallTimeoutMs: FRAME_STALL_TIMEOUT_MS,
  pendingRequestsMax: PENDING_REQUESTS_MAX,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  dialTimeoutMs: DIAL_TIMEOUT_MS,
  knownAddressesMax: KNOWN_ADDRESSES_MAX,
  redialBaseMs: REDIAL_BASE_MS,
  redialMaxMs: REDIAL_MAX_MS,
  redialStableMs: REDIAL_STABLE_MS,
  peersRequestBaseMs: PEERS_REQUEST_BASE_MS,
  peersRequestMaxMs: PEERS_REQUEST_MAX_MS,
  peersRequestFanout: PEERS_REQUEST_FANOUT,
  lostPeerRetryMs: LOST_PEER_RETRY_MS,
} as const;
