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
import { FlagList } from '../core/wire/codecs.js';
import * as packets from '../core/wire/packets.js';
import type { WireValue } from '../core/wire/value.js';
import { BadArgument } from './api/errors.js';
import { nodeCapabilities, nodeCompression } from './caps.js';

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/** Refuses what the decoders cannot read: they take bytes, a compression list and a byte limit. */
const checkDecodeArguments = (bytes: unknown, compression: unknown, maxBytes: unknown): void => {
  if (!isBytes(bytes)) throw new BadArgument('decode takes a Uint8Array');
  if (!FlagList.is(compression)) throw new BadArgument('compression must be a list of integer flags');
  if (!Number.isInteger(maxBytes) || (maxBytes as number) < 0) throw new BadArgument(`maxBytes must be a non-negative integer, got ${String(maxBytes)}`);
};

/** A subnet: its name, its transport, and the id derived from both (§3.2). BadArgument unless both are strings. */
export class Protocol {
  /** The base58 protocol id. */
  readonly id: string;
  constructor(
    readonly subnet: string,
    readonly encryption: string,
  ) {
    if (typeof subnet !== 'string' || typeof encryption !== 'string') throw new BadArgument('Protocol(subnet, encryption) takes two strings');
    this.id = protocolId(nodeCapabilities, subnet, encryption);
  }
}

/** The core message for the constructor's arguments, checked first. */
const buildMessage = (msgType: unknown, sender: unknown, payload: unknown, time: unknown, compression: unknown): packets.InternalMessage => {
  if (!Number.isInteger(msgType) || (msgType as number) < 0) throw new BadArgument(`msgType must be a non-negative integer, got ${String(msgType)}`);
  if (typeof sender !== 'string' && !isBytes(sender)) throw new BadArgument('sender must be a string or a Uint8Array');
  if (!Array.isArray(payload)) throw new BadArgument('payload must be an array (sub-flag first)');
  if (typeof time !== 'number' || !Number.isFinite(time)) throw new BadArgument(`time must be a finite number of seconds, got ${String(time)}`);
  if (!FlagList.is(compression)) throw new BadArgument('compression must be a list of integer flags');
  const msg = packets.checkedMessage(nodeCapabilities, msgType as number, sender, payload as ReadonlyArray<WireValue>, time, (i) => `payload[${i}]`);
  if (typeof msg === 'string') throw new BadArgument(msg);
  return msg;
};

/** One message: its packets, its id (SHA-256 of its msgpack bytes) and its framed wire form. */
export class InternalMessage {
  #bytes: Uint8Array | undefined;

  /**
   * A message of `msgType` from `sender` carrying `payload` (sub-flag first), stamped `time`
   * (seconds; now by default), to be sent to a peer offering `compression`. BadArgument for
   * arguments of the wrong kind, or packets msgpack cannot carry or a peer's decoder would refuse
   * (see the README's Limits); the message names the part of the payload at fault.
   */
  constructor(
    msgType: number,
    sender: string | Uint8Array,
    payload: ReadonlyArray<WireValue>,
    time: number = timeSeconds(Date.now()),
    readonly compression: ReadonlyArray<number> = [],
    /** The core value this wraps. */
    readonly message: packets.InternalMessage = buildMessage(msgType, sender, payload, time, compression),
  ) {}

  /**
   * Decode a whole frame (length header included) from a peer offering `compression`: never
   * throws for any bytes (each failure is a `DecodeError`); BadArgument if `frame` is not bytes.
   */
  static decode(
    frame: Uint8Array,
    compression: ReadonlyArray<number> = [],
    maxBytes: number = FRAME_BYTES_MAX,
  ): E.Either<DecodeError, InternalMessage> {
    checkDecodeArguments(frame, compression, maxBytes);
    if (frame.length < HEADER_BYTES) return E.left({ _tag: 'TooShort', length: frame.length, need: HEADER_BYTES });
    const declared = new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).getUint32(0);
    if (declared > maxBytes) return E.left({ _tag: 'FrameTooLarge', length: declared, max: maxBytes });
    if (declared !== frame.length - HEADER_BYTES) {
      return E.left({ _tag: 'LengthMismatch', declared, actual: frame.length - HEADER_BYTES });
    }
    return decodeChecked(frame.subarray(HEADER_BYTES), compression, maxBytes);
  }

  /** Decode a frame body (no length header); as `decode`. */
  static decodeBody(
    body: Uint8Array,
    compression: ReadonlyArray<number> = [],
    maxBytes: number = FRAME_BYTES_MAX,
  ): E.Either<DecodeError, InternalMessage> {
    checkDecodeArguments(body, compression, maxBytes);
    return decodeChecked(body, compression, maxBytes);
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

/** `InternalMessage.decodeBody` with its arguments already checked. */
const decodeChecked = (body: Uint8Array, compression: ReadonlyArray<number>, maxBytes: number): E.Either<DecodeError, InternalMessage> => {
  const r = packets.decodeBody(nodeCapabilities, body, compression, maxBytes);
  return E.isLeft(r) ? r : E.right(new InternalMessage(r.right.msgType, r.right.sender, r.right.payload, r.right.time, compression, r.right));
};
