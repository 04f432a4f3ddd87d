// --- wire: identifiers, flags, messages
export { flags, msgTypes, subFlags, compressionFlags } from './core/flags.js';
export { toBase58, fromBase58, VERSION, PROTOCOL_VERSION } from './core/ids.js';
export { describeDecodeError, type DecodeError } from './core/wire/errors.js';
export { MSGPACK_DEPTH_MAX, MSGPACK_VALUES_MAX, MSGPACK_MAPS_MAX } from './core/wire/msgpack.js';
export type { WireValue } from './core/wire/value.js';
export { Protocol, InternalMessage } from './shell/base.js';
export { nodeCapabilities, nodeCompression } from './shell/caps.js';

// --- API: mesh sockets on real sockets
export { MeshSocket } from './shell/api/mesh.js';
export {
  RECV_QUEUE_MAX,
  RECV_QUEUE_BYTES_MAX,
  type MeshSocketOptions,
  type MeshSocketEvents,
  type SendOptions,
  type Handler,
  type PeerInfo,
  type ProtocolSpec,
  type Logger,
} from './shell/api/socket.js';
export { Message, type ReplyOutcome } from './shell/api/message.js';
export {
  Ts2pError,
  WrongSubnet,
  ConnectionRefused,
  Unreachable,
  Timeout,
  SelfConnection,
  AlreadyConnected,
  ConnectionClosed,
  SocketClosed,
  ReplyFailed,
  ListenFailed,
  BadArgument,
  type Ts2pErrorCode,
} from './shell/api/errors.js';
export { SEND_QUEUE_BYTES_MAX, TLS_HANDSHAKES_MAX } from './shell/net/transport.js';

// --- API: chord DHT sockets
export { ChordSocket, ChordRequestFailed, describeChordError, type ChordSocketOptions, type ChordKey } from './shell/api/chord.js';
export { defaultChordLimits, type ChordConfig } from './core/chord/config.js';
export type { ChordError } from './core/types.js';
