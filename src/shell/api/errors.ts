/**
 * Typed errors the public API rejects with. Each carries a stable `code` so callers can switch on
 * it without parsing messages; the core's plain-data reasons are mapped onto these classes here.
 */
import type { CloseReason, ConnectError, NodeId } from '../../core/types.js';

/** Every error code a ts2p socket can reject with. */
export type Ts2pErrorCode =
  | 'WrongSubnet'
  | 'ConnectionRefused'
  | 'Unreachable'
  | 'Timeout'
  | 'SelfConnection'
  | 'AlreadyConnected'
  | 'ConnectionClosed'
  | 'SocketClosed'
  | 'ReplyFailed'
  | 'ListenFailed'
  | 'BadArgument'
  // A ChordSocket's request failures (`ChordRequestFailed`); its `Timeout` is the one above.
  | 'NotFound'
  | 'NoQuorum'
  | 'NotJoined'
  | 'Busy'
  | 'BadValue'
  | 'Disconnected'
  | 'Shutdown';

/** The root of ts2p's errors: a message and a machine-readable `code`. */
export class Ts2pError extends Error {
  /** Stable machine-readable error code. */
  readonly code: Ts2pErrorCode;
  constructor(code: Ts2pErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The peer belongs to another subnet (protocol id differs). */
export class WrongSubnet extends Ts2pError {
  constructor(readonly theirs: string, readonly ours: string) {
    super('WrongSubnet', `peer is on subnet ${theirs}, ours is ${ours}`);
  }
}

/** Nothing listens at the address. */
export class ConnectionRefused extends Ts2pError {
  constructor(detail: string) {
    super('ConnectionRefused', `connection refused: ${detail}`);
  }
}

/** The address cannot be reached or resolved. */
export class Unreachable extends Ts2pError {
  constructor(detail: string) {
    super('Unreachable', `address unreachable: ${detail}`);
  }
}

/** A dial or a handshake did not finish in time. */
export class Timeout extends Ts2pError {
  constructor(readonly afterMs: number) {
    super('Timeout', `timed out after ${afterMs} ms`);
  }
}

/** The address or id is this node's own. */
export class SelfConnection extends Ts2pError {
  constructor() {
    super('SelfConnection', 'refused to connect to this node itself');
  }
}

/** The peer is already in the routing table. */
export class AlreadyConnected extends Ts2pError {
  constructor(readonly peer: NodeId) {
    super('AlreadyConnected', `already connected to ${peer}`);
  }
}

/** The connection was closed before the handshake finished. */
export class ConnectionClosed extends Ts2pError {
  constructor(readonly reason: CloseReason) {
    super('ConnectionClosed', `connection closed: ${describeReason(reason)}`);
  }
}

/** The socket was closed, or was never started. */
export class SocketClosed extends Ts2pError {
  constructor() {
    super('SocketClosed', 'the socket is closed');
  }
}

/** A reply found no route to its target. */
export class ReplyFailed extends Ts2pError {
  constructor(
    readonly to: NodeId,
    readonly why: string,
    /** What `why` stands for, when there is more to say (which packet could not be sent, for `Unencodable`). */
    readonly detail?: string,
  ) {
    super('ReplyFailed', `reply to ${to} failed: ${why}${detail === undefined ? '' : ` (${detail})`}`);
  }
}

/** The socket could not listen on its address (in use, not local, no permission). */
export class ListenFailed extends Ts2pError {
  constructor(readonly host: string, readonly port: number, detail: string) {
    super('ListenFailed', `cannot listen on ${host}:${port}: ${detail}`);
  }
}

/** A call was made with an argument it cannot accept. */
export class BadArgument extends Ts2pError {
  constructor(detail: string) {
    super('BadArgument', detail);
  }
}

/** A one-line human reading of a close reason. */
export const describeReason = (reason: CloseReason): string => {
  switch (reason._tag) {
    case 'WrongSubnet':
      return `wrong subnet (theirs ${reason.theirs}, ours ${reason.ours})`;
    case 'DuplicateConnection':
      return `duplicate connection to ${reason.peer}`;
    case 'UnexpectedPeer':
      return `expected ${reason.expected}, got ${reason.got}`;
    case 'BadFrame':
    case 'BadMessage':
    case 'IllegalMessage':
      return `${reason._tag}: ${reason.detail}`;
    case 'HandshakeTimeout':
    case 'StalledFrame':
      return `${reason._tag} after ${reason.afterMs} ms`;
    case 'TooManyConnections':
      return `too many connections (limit ${reason.limit})`;
    case 'SlowPeer':
      return `slow peer (${reason.queuedBytes} bytes queued)`;
    case 'PeerClosed':
      return reason.detail === undefined ? 'closed by peer' : `closed by peer: ${reason.detail}`;
    default:
      return reason._tag;
  }
};

/** Maps a core connect failure onto its error class. */
export const connectErrorToError = (error: ConnectError): Ts2pError => {
  switch (error._tag) {
    case 'ConnectionRefused':
      return new ConnectionRefused(error.detail);
    case 'Unreachable':
      return new Unreachable(error.detail);
    case 'Timeout':
      return new Timeout(error.afterMs);
    case 'AlreadyConnected':
      return new AlreadyConnected(error.peer);
    case 'Closed':
      return closeReasonToError(error.reason);
  }
};

/** Maps a close reason seen while connecting onto its error class. */
export const closeReasonToError = (reason: CloseReason): Ts2pError => {
  switch (reason._tag) {
    case 'WrongSubnet':
      return new WrongSubnet(reason.theirs, reason.ours);
    case 'SelfConnection':
      return new SelfConnection();
    case 'HandshakeTimeout':
      return new Timeout(reason.afterMs);
    case 'DuplicateConnection':
      return new AlreadyConnected(reason.peer);
    case 'Shutdown':
      return new SocketClosed();
    default:
      return new ConnectionClosed(reason);
  }
};
