/**
 * Packet lists, checksum and compression (PROTOCOL.md §1.2–1.4, §3.4).
 *
 * A frame body is `C(SHA-256(msgpack) || msgpack)` where msgpack is the array
 * `[msgType, sender, time, ...payload]` and C is the sender's compressor or none. Outgoing: the
 * sender uses the first method of its own list that the peer also offers. Incoming: try each
 * method the peer offers (in its order) that we support and take the first output whose checksum
 * holds; else the raw bytes if their checksum holds; else `ChecksumMismatch`. (Methods with a
 * cheap header test are tried before the raw check and the others after it; see `openFrame`.) Each
 * method is tried at most once per frame, however often the list names it. Decompression is
 * capped at the frame maximum, so a bomb stops at the limit.
 *
 * A message keeps the exact msgpack bytes it was decoded from (or encoded to): relays resend
 * those bytes, never a re-encoding, so the id (= checksum) is the same on every hop. Nothing here
 * throws on peer input; every failure is a `DecodeError`.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Capabilities } from '../caps.js';
import { idText, latin1 } from '../ids.js';
import type { NodeId } from '../types.js';
import { bytesFrom, view, viewFrom } from './bytes.js';
import { describeDecodeError, type DecodeError } from './errors.js';
import { frame, HEADER_BYTES, readLength, writeLength } from './framing.js';
import { nonWireElement, packValueWithRoom, scanMsgpack, unpackScanned } from './msgpack.js';
import type { WireValue } from './value.js';

/** Size of the SHA-256 checksum in front of the msgpack bytes. */
export const CHECKSUM_BYTES = 32;

/**
 * Where a checksummed body lies: `plain` from index `at` to the end holds the checksum (the
 * message id), then the exact msgpack bytes. Messages, opened bodies and decoded bodies all keep
 * this; `messageId`, `messageMsgpack`, `msgpackStart` and `msgpackLength` read it, making a view
 * only when asked for one.
 */
export interface BodyAt {
  readonly plain: Uint8Array;
  readonly at: number;
}

/** The id of the body: the SHA-256 of its msgpack bytes, which is also its checksum (a view). */
export const messageId = (b: BodyAt): Uint8Array => view(b.plain, b.at, CHECKSUM_BYTES);

/** Where the msgpack bytes start in `plain`. */
export const msgpackStart = (b: BodyAt): number => b.at + CHECKSUM_BYTES;

/** The exact msgpack bytes (a view). */
export const messageMsgpack = (b: BodyAt): Uint8Array => viewFrom(b.plain, msgpackStart(b));

/** How many msgpack bytes there are. */
export const msgpackLength = (b: BodyAt): number => b.plain.length - msgpackStart(b);

/** One message as it travels between nodes; where its checksum and msgpack bytes lie is its `BodyAt`. */
export interface InternalMessage extends BodyAt {
  readonly msgType: number;
  /** The originator exactly as decoded: str or bin. */
  readonly sender: string | Uint8Array;
  /** The originator's canonical text (bin read as latin1). */
  readonly senderId: NodeId;
  /** Seconds as decoded (a float time stays a number). */
  readonly time: number;
  /** list[3:]; payload[0] is the sub-flag. */
  readonly payload: ReadonlyArray<WireValue>;
  /** The whole packet list. */
  readonly packets: ReadonlyArray<WireValue>;
  /** The id as a 32-character string, for Map keys. */
  readonly idKey: string;
  /** The whole uncompressed frame (header, checksum, msgpack) when the message holds it in one piece. */
  readonly frame: Uint8Array | undefined;
}

/** What framing a message needs: its body and, when it holds one, its whole uncompressed frame. */
export type FrameSource = Pick<InternalMessage, 'plain' | 'at' | 'frame'>;

/** Bytes in front of the msgpack bytes of a frame: length header and checksum. */
const FRAME_PREFIX_BYTES = HEADER_BYTES + CHECKSUM_BYTES;

/**
 * Build an outgoing message. Its bytes are laid out as the uncompressed frame
 * (header, checksum, msgpack) in one buffer, which is both its `frame` and its `plain`, so sending
 * it uncompressed needs no copy. Throws RangeError only for values msgpack cannot hold (local misuse).
 */
export const makeMessage = (
  caps: Capabilities,
  msgType: number,
  sender: string | Uint8Array,
  payload: ReadonlyArray<WireValue>,
  time: number,
): InternalMessage => {
  const packets: WireValue[] = [msgType, sender, time];
  for (let i = 0; i < payload.length; i++) packets.push(payload[i]!);
  const framed = packValueWithRoom(packets, FRAME_PREFIX_BYTES);
  const idKey = digestKey(caps, framed, FRAME_PREFIX_BYTES);
  writeLength(framed, framed.length - HEADER_BYTES);
  for (let i = 0; i < CHECKSUM_BYTES; i++) framed[HEADER_BYTES + i] = idKey.charCodeAt(i);
  return { msgType, sender, senderId: idText(sender) as NodeId, time, payload, packets, plain: framed, at: HEADER_BYTES, idKey, frame: framed };
};

/**
 * `makeMessage` for values a caller gave, checked as a peer would take them: the message, or why it
 * cannot be sent (it never throws for values). A part of the payload that is not a wire value is
 * named, `nameOf(i)` naming the payload element that holds it; a body above `maxBodyBytes` (the
 * receivers' `frameBytesMax`) or one a peer's decoder refuses is refused too.
 */
export const checkedMessage = (
  caps: Capabilities,
  msgType: number,
  sender: string | Uint8Array,
  payload: ReadonlyArray<WireValue>,
  time: number,
  nameOf: (i: number) => string,
  maxBodyBytes = Infinity,
): InternalMessage | string => {
  let msg: InternalMessage;
  try {
    msg = makeMessage(caps, msgType, sender, payload, time);
  } catch (e) {
    if (e instanceof RangeError) return nonWireElement(payload, nameOf) ?? e.message;
    throw e;
  }
  const bodyBytes = msg.plain.length - msg.at;
  if (bodyBytes > maxBodyBytes) return `the message takes ${bodyBytes} bytes, more than frameBytesMax (${maxBodyBytes}) allows`;
  const refused = scanMsgpack(msg.plain, msgpackStart(msg));
  if (refused === undefined) return msg;
  // msgpackr writes undefined and functions as an extension, which peers refuse: say which part it was.
  const bad = refused._tag === 'ExtensionType' ? nonWireElement(payload, nameOf) : undefined;
  return bad ?? `peers would refuse the message: ${describeDecodeError(refused)}`;
};

/** SHA-256 of `data` from `start` on as a latin1 string, by the capability's fast path when it has one. */
export const digestKey = (caps: Capabilities, data: Uint8Array, start = 0): string =>
  caps.sha256Latin1 !== undefined
    ? caps.sha256Latin1(data, start)
    : latin1(caps.sha256(bytesFrom(data, start)));

/** The first method of ours that they also offer, or undefined for none. */
export const chooseCompression = (ours: ReadonlyArray<number>, theirs: ReadonlyArray<number>): number | undefined => {
  for (const m of ours) if (theirs.includes(m)) return m;
  return undefined;
};

/**
 * The distinct methods of a peer's list that `caps` can decompress, in the peer's order: what a
 * connection keeps of a list it is sent. The result is never longer than `caps.compressors`, so
 * a receiver tries each method at most once per frame however long or repetitive the list was.
 */
export const supportedMethods = (caps: Capabilities, theirs: ReadonlyArray<number>): ReadonlyArray<number> => {
  const kept: number[] = [];
  for (const m of theirs) if (caps.compressors.has(m) && !kept.includes(m)) kept.push(m);
  return kept;
};

/**
 * The whole frame (header included) for a message, compressed with `compression` if given.
 * Throws if `compression` is not among `caps.compressors` (callers pick it with `chooseCompression`).
 * The result may be a view of the message's own buffer; treat it as read-only.
 */
export const encodeFrame = (caps: Capabilities, msg: FrameSource, compression: number | undefined): Uint8Array => {
  if (compression === undefined && msg.frame !== undefined) return msg.frame;
  const { plain, at } = msg;
  const bodyLength = plain.length - at;
  if (compression === undefined) {
    // A frame received whole keeps its header in front of the body, within its own bytes: when it
    // holds the body's length, the frame is already there, a view. (Memory in front of `plain`
    // is not looked at: a decompressed body may sit in a shared pool whose bytes are not ours.)
    if (at >= HEADER_BYTES && readLength(plain, at - HEADER_BYTES) === bodyLength) return view(plain, at - HEADER_BYTES, HEADER_BYTES + bodyLength);
    return frame(bytesFrom(plain, at));
  }
  const compressor = caps.compressors.get(compression);
  if (compressor === undefined) throw new RangeError(`compression 0x${compression.toString(16)} is not available`);
  return frame(compressor.compress(bytesFrom(plain, at)));
};

/**
 * A frame body decompressed and its checksum verified: where its plain form lies (the checksum
 * from `plain[at]`, then the msgpack part to the end) and its digest. Decoding reads the msgpack
 * part where it lies.
 */
export interface Opened extends BodyAt {
  readonly _tag: 'Opened';
  readonly idKey: string;
}

/** The body from `plain[at]` opened when its leading checksum matches the rest, else undefined. */
const verified = (caps: Capabilities, plain: Uint8Array, at: number): Opened | undefined => {
  const msgpackAt = at + CHECKSUM_BYTES;
  if (plain.length < msgpackAt) return undefined;
  const idKey = digestKey(caps, plain, msgpackAt);
  for (let i = 0; i < CHECKSUM_BYTES; i++) if (idKey.charCodeAt(i) !== plain[at + i]) return undefined;
  return { _tag: 'Opened', plain, at, idKey };
};

// Longest compressor message kept per failed method in a ChecksumMismatch.
const FAILURE_CHARS_MAX = 200;

// What was tried, for the error: stays this shared empty list when no method was tried.
const NOTHING_TRIED: string[] = [];

/**
 * Decompress and verify a frame body, the bytes of `received` from `at` to the end (`at` is 0 for a
 * body on its own, the header's length for a whole frame), from a peer that advertised
 * `peerCompression`, per the receive rule; the checksummed plain body and its digest, its msgpack
 * not decoded (a receiver that can settle the frame by its id alone saves the decoding). Never throws.
 * Methods whose header test passes come first, then the raw checksum, then methods without a
 * header test: the outcome is the rule's (a body cannot verify both raw and decompressed short of
 * a SHA-256 collision), but an uncompressed frame costs no failed decompression.
 */
export const openFrame = (
  caps: Capabilities,
  received: Uint8Array,
  at: number,
  peerCompression: ReadonlyArray<number>,
  maxBytes: number,
): Opened | DecodeError => {
  // The body is set apart only when there are methods to try on it.
  const body = peerCompression.length === 0 ? undefined : bytesFrom(received, at);
  const tried = body === undefined ? NOTHING_TRIED : [];
  const signed = body === undefined ? undefined : tryMethods(caps, body, peerCompression, maxBytes, true, tried);
  if (signed !== undefined) return signed;
  const raw = verified(caps, received, at);
  if (raw !== undefined) return raw;
  const unsigned = body === undefined ? undefined : tryMethods(caps, body, peerCompression, maxBytes, false, tried);
  if (unsigned !== undefined) return unsigned;
  if (tried.length === 0 && received.length - at < CHECKSUM_BYTES) {
    return { _tag: 'TooShort', length: received.length - at, need: CHECKSUM_BYTES };
  }
  return { _tag: 'ChecksumMismatch', tried: [...tried, 'raw'] };
};

/**
 * Try, in the peer's order, the methods we support that have a header test (`signed`) or lack
 * one; the first whose output verifies. Failures are appended to `tried`. A method listed twice
 * is tried once (the node keeps `supportedMethods` per connection; this holds for any list a
 * caller passes), so `tried` never holds more entries than `caps` has methods.
 */
const tryMethods = (
  caps: Capabilities,
  body: Uint8Array,
  peerCompression: ReadonlyArray<number>,
  maxBytes: number,
  signed: boolean,
  tried: string[],
): Opened | undefined => {
  // The methods that failed so far (a success returns at once): made on the first failure.
  let failed: number[] | undefined;
  for (let i = 0; i < peerCompression.length; i++) {
    const method = peerCompression[i]!;
    const compressor = caps.compressors.get(method);
    if (compressor === undefined || (compressor.signature !== undefined) !== signed) continue;
    if (failed?.includes(method) === true) continue;
    if (compressor.signature !== undefined && !compressor.signature(body)) continue;
    let plain: Uint8Array;
    try {
      plain = compressor.decompress(body, maxBytes);
    } catch (e) {
      // A compressor's own message is cut short: the detail goes into a close reason and a log.
      tried.push(`0x${method.toString(16)}: ${(e instanceof Error ? e.message : String(e)).slice(0, FAILURE_CHARS_MAX)}`);
      (failed ??= []).push(method);
      continue;
    }
    const opened = verified(caps, plain, 0);
    if (opened !== undefined) return opened;
    tried.push(`0x${method.toString(16)}: checksum`);
    (failed ??= []).push(method);
  }
  return undefined;
};

/**
 * A frame body decoded, verified and its fixed fields checked: everything a message is made of,
 * before the message record is built (a receiver that drops it as a duplicate never needs one).
 */
export interface DecodedBody extends BodyAt {
  readonly _tag: 'Decoded';
  readonly msgType: number;
  readonly sender: string | Uint8Array;
  readonly senderId: NodeId;
  readonly time: number;
  readonly packets: ReadonlyArray<WireValue>;
  readonly idKey: string;
}

/** Check the packet list's fixed fields. */
const checkFields = (opened: Opened, value: WireValue): DecodedBody | DecodeError => {
  if (!Array.isArray(value)) return { _tag: 'NotAnArray', detail: `top-level ${describeKind(value)}` };
  const packets = value as ReadonlyArray<WireValue>;
  if (packets.length < 3) return { _tag: 'NotAnArray', detail: `${packets.length} packets, need at least 3` };
  const msgType = packets[0];
  const sender = packets[1];
  const rawTime = packets[2];
  // A time beyond 2^53 decodes as bigint; it is nonsense as a time but still a number of seconds.
  const time = typeof rawTime === 'bigint' ? Number(rawTime) : rawTime;
  if (typeof msgType !== 'number' || !Number.isInteger(msgType)) return { _tag: 'BadField', index: 0, expected: 'an integer message type' };
  if (typeof sender !== 'string' && !(sender instanceof Uint8Array)) return { _tag: 'BadField', index: 1, expected: 'a sender id (str or bin)' };
  if (typeof time !== 'number' || !Number.isFinite(time)) return { _tag: 'BadField', index: 2, expected: 'a finite time' };
  const { plain, at, idKey } = opened;
  return { _tag: 'Decoded', msgType, sender, senderId: idText(sender) as NodeId, time, packets, plain, at, idKey };
};

/** The message a decoded body makes. */
export const messageOf = (d: DecodedBody): InternalMessage => ({
  msgType: d.msgType,
  sender: d.sender,
  senderId: d.senderId,
  time: d.time,
  payload: d.packets.slice(3),
  packets: d.packets,
  plain: d.plain,
  at: d.at,
  idKey: d.idKey,
  frame: undefined,
});

const describeKind = (v: WireValue): string =>
  v === null ? 'nil' : v instanceof Uint8Array ? 'bin' : v instanceof Map ? 'map' : typeof v;

/**
 * Decode and verify a frame body (header already stripped) from a peer that advertised
 * `peerCompression`, and check its fixed fields. Never throws: every failure is a DecodeError.
 */
const decodeFields = (
  caps: Capabilities,
  body: Uint8Array,
  peerCompression: ReadonlyArray<number>,
  maxBytes: number,
): DecodedBody | DecodeError => {
  const opened = openFrame(caps, body, 0, peerCompression, maxBytes);
  return opened._tag === 'Opened' ? decodeOpened(opened) : opened;
};

/** Decode an opened frame's msgpack and check its fixed fields (the rest of `decodeFields`). */
export const decodeOpened = (opened: Opened): DecodedBody | DecodeError => {
  // Read where the msgpack part lies, without a view of it.
  const start = msgpackStart(opened);
  const scanError = scanMsgpack(opened.plain, start);
  if (scanError !== undefined) return scanError;
  let value: WireValue;
  try {
    value = unpackScanned(opened.plain, start);
  } catch (e) {
    return { _tag: 'NotMsgpack', detail: e instanceof Error ? e.message : String(e) };
  }
  return checkFields(opened, value);
};

/**
 * Decode a frame body (header already stripped) from a peer that advertised `peerCompression`.
 * Never throws: every failure is a typed DecodeError.
 */
export const decodeBody = (
  caps: Capabilities,
  body: Uint8Array,
  peerCompression: ReadonlyArray<number>,
  maxBytes: number,
): E.Either<DecodeError, InternalMessage> => {
  const d = decodeFields(caps, body, peerCompression, maxBytes);
  return d._tag === 'Decoded' ? E.right(messageOf(d)) : E.left(d);
};
