// --- wire: identifiers, flags, messages
export { flags, msgTypes, subFlags, compressionFlags } from './core/flags.js';
export { toBase58, fromBase58, VERSION, PROTOCOL_VERSION } from './core/ids.js';
export { describeDecodeError, type DecodeError } from './core/wire/errors.js';
export type { WireValue } from './core/wire/value.js';
export { Protocol, InternalMessage } from './shell/base.js';
export { nodeCapabilities, nodeCompression } from './shell/caps.js';
