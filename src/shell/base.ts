/**
 * The public wire vocabulary, in the shape of the seeds' base module: `Protocol` (a subnet and
 * its id) and `InternalMessage` (one message with its wire form), both on the Node capabilities.
 * Thin wrappers over `src/core/wire`; they add no protocol logic.
 */
import * as E from 'fp-ts/lib/Either.js';
import { FRAME_BYTES_MAX } from '../core/config.js';
import { protocolId, timeSeconds } from '../core/ids.js';
import type { DecodeError } from '../core/wire/errors.js';
import { HEADER_BYTES } from '../core/wire/framing.js';
import * as packets from '../core/wire/packets.js';
import type { WireValue } from '../core/wire/value.js';
import { nodeCapabilities, nodeCompression } from './caps.js';

/** A subnet: its name, its transport, and the id derived from both (§3.2). */
export class Protocol {
  /** The base58 protocol id. */
  readonly id: string;
  constructor(
    readonly subnet: string,
    readonly encryption: string,
  ) {
    this.id = protocolId(nodeCapabilities, subnet, encryption);
  }
}

/** One message: its packets, its id (SHA-256 of its msgpack bytes) and its framed wire form. */
export class InternalMessage {
  #bytes: Uint8Array | undefined;

  /**
   * A message of `msgType` from `sender` carrying `payload` (sub-flag first), stamped `time`
   * (seconds; now by default), to be sent to a peer offering `compression`.
   */
  constructor(
    msgType: number,
    sender: string | Uint8Array,
    payload: ReadonlyArray<WireValue>,
    time: number = timeSeconds(Date.now()),
    readonly compression: ReadonlyArray<number> = [],
    /** The core value this wraps. */
    readonly message: packets.InternalMessage = packets.makeMessage(nodeCapabilities, msgType, sender, payload, time),
  ) {}

  /** Decode a whole frame (length header included) from a peer offering `compression`. */
  static decode(
    frame: Uint8Array,
    compression: ReadonlyArray<number> = [],
    maxBytes: number = FRAME_BYTES_MAX,
  ): E.Either<DecodeError, InternalMessage> {
    if (frame.length < HEADER_BYTES) return E.left({ _tag: 'TooShort', length: frame.length, need: HEADER_BYTES });
    const declared = new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).getUint32(0);
    if (declared > maxBytes) return E.left({ _tag: 'FrameTooLarge', length: declared, max: maxBytes });
    if (declared !== frame.length - HEADER_BYTES) {
      return E.left({ _tag: 'LengthMismatch', declared, actual: frame.length - HEADER_BYTES });
    }
    return InternalMessage.decodeBody(frame.subarray(HEADER_BYTES), compression, maxBytes);
  }

  /** Decode a frame body (no length header). */
  static decodeBody(
    body: Uint8Array,
    compression: ReadonlyArray<number> = [],
    maxBytes: number = FRAME_BYTES_MAX,
  ): E.Either<DecodeError, InternalMessage> {
    const r = packets.decodeBody(nodeCapabilities, body, compression, maxBytes);
    return E.isLeft(r) ? r : E.right(new InternalMessage(r.right.msgType, r.right.sender, r.right.payload, r.right.time, compression, r.right));
  }

  /** The main flag, list[0]. */
  get msgType(): number {
    return this.message.msgType;
  }
  /** The originator, str or bin as given or received. */
  get sender(): string | Uint8Array {
    return this.message.sender;
  }
  /** Seconds since the epoch, as stamped by the originator. */
  get time(): number {
    return this.message.time;
  }
  /** list[3:]: the sub-flag, then the packets. */
  get payload(): ReadonlyArray<WireValue> {
    return this.message.payload;
  }
  /** The whole packet list. */
  get packets(): ReadonlyArray<WireValue> {
    return this.message.packets;
  }
  /** The message id: SHA-256 of the msgpack bytes (also the checksum). */
  get id(): Uint8Array {
    return packets.messageId(this.message);
  }
  /** The compression used on the wire: our first method the peer also offers, if any. */
  get compressionUsed(): number | undefined {
    return packets.chooseCompression(nodeCompression, this.compression);
  }
  /** The framed wire form: length header, then the (compressed) checksum and msgpack bytes. */
  get bytes(): Uint8Array {
    this.#bytes ??= packets.encodeFrame(nodeCapabilities, this.message, this.compressionUsed);
    return this.#bytes;
  }
}
