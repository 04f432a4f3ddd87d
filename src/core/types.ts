/**
 * The node's vocabulary: what goes into `step` (Input), what comes out (Effect), and the events
 * a user sees. Everything here is plain data: no closures, sockets or promises, so tests compare
 * values with `toEqual` and the simulator records and replays them.
 *
 * Inputs are facts (past tense or user commands), effects are commands to the shell, events are
 * past tense. Every input carries `at`: the shell's clock in milliseconds.
 */
import type { WireValue } from './wire/value.js';

/** A connection, named by whoever opened it: the core for dials (`d…`), the shell for accepts (`a…`). */
export type ConnId = string & { readonly ConnId: unique symbol };
/** A node id in its canonical text form (base58; a bin id is read as latin1). */
export type NodeId = string & { readonly NodeId: unique symbol };
/** A number the shell picks to match a command with its outcome event. */
export type CommandId = number;

/** Casts, for the places that mint ids. */
export const ConnId = (s: string): ConnId => s as ConnId;
/** Casts, for the places that mint ids. */
export const NodeId = (s: string): NodeId => s as NodeId;

/** A host and port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

// ---------------------------------------------------------------------------------------------
// Why a connection was closed or refused. Shared by Close effects, events and API errors.

/** Why a connection was closed, from our side or theirs. */
export type CloseReason =
  | { readonly _tag: 'WrongSubnet'; readonly theirs: string; readonly ours: string }
  | { readonly _tag: 'SelfConnection' }
  | { readonly _tag: 'DuplicateConnection'; readonly peer: NodeId }
  | { readonly _tag: 'UnexpectedPeer'; readonly expected: NodeId; readonly got: NodeId }
  | { readonly _tag: 'BadFrame'; readonly detail: string }
  | { readonly _tag: 'BadMessage'; readonly detail: string }
  | { readonly _tag: 'IllegalMessage'; readonly detail: string }
  | { readonly _tag: 'HandshakeTimeout'; readonly afterMs: number }
  | { readonly _tag: 'StalledFrame'; readonly afterMs: number }
  | { readonly _tag: 'TooManyConnections'; readonly limit: number }
  | { readonly _tag: 'SlowPeer'; readonly queuedBytes: number }
  | { readonly _tag: 'PeerClosed'; readonly detail?: string }
  | { readonly _tag: 'UserDisconnect' }
  | { readonly _tag: 'Shutdown' };

/** Why a dial or a `connect` command failed. */
export type ConnectError =
  | { readonly _tag: 'ConnectionRefused'; readonly detail: string }
  | { readonly _tag: 'Unreachable'; readonly detail: string }
  | { readonly _tag: 'Timeout'; readonly afterMs: number }
  | { readonly _tag: 'AlreadyConnected'; readonly peer: NodeId }
  | { readonly _tag: 'Closed'; readonly reason: CloseReason };

// ---------------------------------------------------------------------------------------------
// Inputs

/** A message handed to the user: not claimed by a built-in handler. */
export interface DeliveredMessage {
  /** The connection it arrived on. */
  readonly conn: ConnId;
  /** Main flag: 0x00 broadcast, 0x02 whisper, or anything no built-in claimed. */
  readonly msgType: number;
  /** The originator, canonical text. */
  readonly sender: NodeId;
  /** Seconds since the epoch, as the originator stamped it. */
  readonly time: number;
  /** The payload, list[3:]; `packets[0]` is the sub-flag. */
  readonly packets: ReadonlyArray<WireValue>;
  /** The message id: SHA-256 of its msgpack bytes. */
  readonly id: Uint8Array;
  /** How many msgpack bytes the message took (for what holding it costs: `footprint`). */
  readonly msgpackBytes: number;
}

/** Everything that can happen to a node. */
export type Input =
  // --- transport facts, from the shell
  | { readonly _tag: 'ConnectionAccepted'; readonly at: number; readonly conn: ConnId; readonly remote: Address }
  | { readonly _tag: 'DialSucceeded'; readonly at: number; readonly conn: ConnId }
  | { readonly _tag: 'DialFailed'; readonly at: number; readonly conn: ConnId; readonly error: ConnectError }
  | { readonly _tag: 'BytesReceived'; readonly at: number; readonly conn: ConnId; readonly bytes: Uint8Array }
  | { readonly _tag: 'ConnectionClosed'; readonly at: number; readonly conn: ConnId; readonly reason: CloseReason }
  /**
   * Everything written to the connection before its `AwaitDrain`s up to `token` has left (the
   * answer to them; one input may answer several).
   */
  | { readonly _tag: 'Drained'; readonly at: number; readonly conn: ConnId; readonly token: number }
  | { readonly _tag: 'Tick'; readonly at: number }
  // --- user commands
  | {
      readonly _tag: 'Connect';
      readonly at: number;
      readonly cmd: CommandId;
      readonly address: Address;
      readonly expectedId?: NodeId;
    }
  | {
      readonly _tag: 'Send';
      readonly at: number;
      /** Payload after the sub-flag. */
      readonly packets: ReadonlyArray<WireValue>;
      /** Main flag: 0x00 broadcast (default) or 0x02 whisper to every peer. */
      readonly flag: number;
      /** Sub-flag: 0x00 by default. */
      readonly type: number;
    }
  | {
      readonly _tag: 'Reply';
      readonly at: number;
      readonly cmd: CommandId;
      /** The node to answer: a received message's sender. */
      readonly to: NodeId;
      readonly packets: ReadonlyArray<WireValue>;
    }
  | { readonly _tag: 'Disconnect'; readonly at: number; readonly peer: NodeId }
  | { readonly _tag: 'RequestPeers'; readonly at: number }
  | { readonly _tag: 'Shutdown'; readonly at: number }
  // --- chord commands (a mesh core ignores them; the chord core answers each by `cmd`)
  /** Read a key: answered by ChordResult with the value ≥ quorum tables agree on, or ChordFailed. */
  | { readonly _tag: 'ChordGet'; readonly at: number; readonly cmd: CommandId; readonly key: Uint8Array | string; readonly timeoutMs?: number }
  /** Write a key in all five tables (null deletes): answered by ChordResult once sent. */
  | { readonly _tag: 'ChordSet'; readonly at: number; readonly cmd: CommandId; readonly key: Uint8Array | string; readonly value: WireValue }
  /** Merge a map into the map stored under a key, in all five tables. */
  | {
      readonly _tag: 'ChordApplyDelta';
      readonly at: number;
      readonly cmd: CommandId;
      readonly key: Uint8Array | string;
      readonly delta: ReadonlyMap<WireValue, WireValue>;
    }
  /** Start storing data (and take over the keys this node now owns). */
  | { readonly _tag: 'ChordJoin'; readonly at: number; readonly cmd: CommandId }
  /** Stop storing data (and hand every held item to the ring). */
  | { readonly _tag: 'ChordUnjoin'; readonly at: number; readonly cmd: CommandId };

/** Why a chord command failed. */
export type ChordError =
  /** Every table answered and no value reached the quorum (some answered, not enough agree). */
  | { readonly _tag: 'NoQuorum'; readonly bestVotes: number; readonly quorum: number }
  /** No table holds the key. */
  | { readonly _tag: 'NotFound' }
  /** Not enough answers arrived in time (a get), or a write's stores had not left in time (`write`). */
  | { readonly _tag: 'Timeout'; readonly afterMs: number; readonly bestVotes: number; readonly write?: true }
  /** Neither this node nor any peer stores data, so the key has nowhere to go. */
  | { readonly _tag: 'NotJoined' }
  /** A local bound refused the command (too many pending gets, …). */
  | { readonly _tag: 'Busy'; readonly limit: number }
  /** The key could not be written (a value msgpack cannot carry, a delta on a non-map). */
  | { readonly _tag: 'BadValue'; readonly detail: string }
  /** The connection to a table's owner closed before the write had left: it may not have arrived. */
  | { readonly _tag: 'Disconnected'; readonly peer: NodeId }
  | { readonly _tag: 'Shutdown' };

// ---------------------------------------------------------------------------------------------
// Events for the user

/** What the user is told. */
export type NodeEvent =
  /** The first peer reached the routing table (the seeds' 'connect'). */
  | { readonly _tag: 'Connected'; readonly peer: NodeId }
  | { readonly _tag: 'PeerJoined'; readonly peer: NodeId; readonly conn: ConnId; readonly address: Address; readonly outgoing: boolean }
  | { readonly _tag: 'PeerLeft'; readonly peer: NodeId; readonly conn: ConnId; readonly reason: CloseReason }
  /** A connection was refused or dropped before or outside the routing table. */
  | { readonly _tag: 'ConnectionRejected'; readonly conn: ConnId; readonly remote?: Address; readonly reason: CloseReason }
  | { readonly _tag: 'ConnectSucceeded'; readonly cmd: CommandId; readonly peer: NodeId }
  | { readonly _tag: 'ConnectFailed'; readonly cmd: CommandId; readonly error: ConnectError }
  /** A reply reached its target (directly or by a route found through request/response). */
  | { readonly _tag: 'ReplySent'; readonly cmd: CommandId; readonly to: NodeId; readonly routed: boolean }
  /**
   * `Unencodable`: the packets hold something that is not a wire value, or a message peers would
   * refuse (too large, too deep, too many values); `detail` says what.
   */
  | {
      readonly _tag: 'ReplyFailed';
      readonly cmd: CommandId;
      readonly to: NodeId;
      readonly reason: 'Timeout' | 'TooManyPending' | 'Unreachable' | 'Unencodable';
      readonly detail?: string;
    }
  /** Something was dropped without closing a connection: counted, for observability. */
  | { readonly _tag: 'Dropped'; readonly conn?: ConnId; readonly why: string }
  /** A chord command succeeded; a get carries the value. */
  | { readonly _tag: 'ChordResult'; readonly cmd: CommandId; readonly value?: WireValue }
  | { readonly _tag: 'ChordFailed'; readonly cmd: CommandId; readonly error: ChordError };

// ---------------------------------------------------------------------------------------------
// Effects

/** What the core asks the shell to do. */
export type Effect =
  | { readonly _tag: 'Dial'; readonly conn: ConnId; readonly address: Address }
  /** Write these bytes (whole frames) to the connection. */
  | { readonly _tag: 'Write'; readonly conn: ConnId; readonly bytes: Uint8Array }
  | { readonly _tag: 'Close'; readonly conn: ConnId; readonly reason: CloseReason }
  /**
   * Answer with a `Drained` input carrying `token` (or a later one) once everything written to the
   * connection so far has left (nothing, if it closes first). Tokens of one node grow. A node
   * sending more than a send queue holds paces itself by it, and a write is done once answered.
   */
  | { readonly _tag: 'AwaitDrain'; readonly conn: ConnId; readonly token: number }
  | { readonly _tag: 'Deliver'; readonly message: DeliveredMessage }
  | { readonly _tag: 'Emit'; readonly event: NodeEvent };
