/**
 * Writing messages to connections.
 *
 * Owns: stamping our own messages (one time, one id per message), framing per link compression
 * (none below `compressMinBytes`: receivers try to decompress, then take the raw bytes), and fan-out with a per-method frame cache so N peers on one method cost one compression.
 * Effects: `Write`. Records each connection's last sent message (for a renegotiate resend): its
 * bytes only, never its decoded values, and only up to `RESEND_BYTES_MAX`, so what a connection
 * holds between writes stays small whatever was sent on it.
 * Deliberately not: deciding who receives what (waterfall, request and peers decide that).
 */
import type { ConnId, NodeId } from '../types.js';
import { timeSeconds } from '../ids.js';
import { HEADER_BYTES, writeLength } from '../wire/framing.js';
import { checkedMessage, encodeFrame, makeMessage, msgpackLength, type FrameSource, type InternalMessage } from '../wire/packets.js';
import type { WireValue } from '../wire/value.js';
import type { Conn, Ctx, LastSent } from './state.js';

/**
 * Largest message a connection keeps for a renegotiate resend, in bytes of its uncompressed body
 * (checksum and msgpack). A larger message is not kept, so a resend asked for after it sends
 * nothing; without the bound a 16 MiB message sent on every connection would stay held on each
 * until something else was written there.
 */
export const RESEND_BYTES_MAX = 64 * 1024;

/**
 * What a connection keeps of a message it was just sent, for a resend: undefined above
 * `RESEND_BYTES_MAX`, else its bytes. A message received and relayed on may lie in the buffer of
 * a larger read, which a view would keep whole: such a body is copied out (at most the bound).
 */
const resendRecord = (msg: FrameSource, plain: boolean): LastSent | undefined => {
  const bodyBytes = msg.plain.length - msg.at;
  if (bodyBytes > RESEND_BYTES_MAX) return undefined;
  if (msg.plain.buffer.byteLength <= RESEND_BYTES_MAX) return { msg: { plain: msg.plain, at: msg.at, frame: msg.frame }, plain };
  const framed = new Uint8Array(HEADER_BYTES + bodyBytes);
  writeLength(framed, bodyBytes);
  framed.set(msg.plain.subarray(msg.at), HEADER_BYTES);
  return { msg: { plain: framed, at: HEADER_BYTES, frame: framed }, plain };
};

/** What stamping a message of ours needs: the node's environment and the step's clock. */
export type Stamp = Pick<Ctx, 'env' | 'at'>;

/** A message from us, stamped with the step's clock (wire time = floor(at / 1000)). */
export const ownMessage = (ctx: Stamp, msgType: number, payload: ReadonlyArray<WireValue>): InternalMessage =>
  makeMessage(ctx.env.caps, msgType, ctx.env.config.id, payload, timeSeconds(ctx.at));

/**
 * A message carrying user packets, or why it cannot be sent: msgpack refuses a bigint beyond 64
 * bits, and a receiver would refuse a frame above `frameBytesMax` or a value its decoder does not
 * take (nested deeper than `MSGPACK_DEPTH_MAX`, more than `MSGPACK_VALUES_MAX` values or
 * `MSGPACK_MAPS_MAX` maps). A part that is not a wire value at all (undefined, a function, a
 * plain object…) is named, with its place: `packets[i]` counts from `payload[userFrom]`, where the
 * user's packets start. User input must never make `step` throw.
 */
export const userMessage = (ctx: Stamp, msgType: number, payload: ReadonlyArray<WireValue>, userFrom = payload.length): InternalMessage | string =>
  checkedMessage(
    ctx.env.caps,
    msgType,
    ctx.env.config.id,
    payload,
    timeSeconds(ctx.at),
    (i) => (i >= userFrom ? `packets[${i - userFrom}]` : `payload[${i}]`),
    ctx.env.config.frameBytesMax,
  );

/** The method to send `msg` with on `c`: none for a message under `compressMinBytes`. */
const methodFor = (ctx: Ctx, c: Conn, msg: FrameSource): number | undefined =>
  msgpackLength(msg) < ctx.env.config.compressMinBytes ? undefined : c.sendMethod;

/**
 * Write one message to one connection; `plain` sends it uncompressed (handshakes). It becomes the
 * connection's last sent message, kept for a resend unless it is above `RESEND_BYTES_MAX`.
 */
export const writeMessage = (ctx: Ctx, c: Conn, msg: FrameSource, plain = false): void => {
  const bytes = encodeFrame(ctx.env.caps, msg, plain ? undefined : methodFor(ctx, c, msg));
  ctx.out.push({ _tag: 'Write', conn: c.conn, bytes });
  c.lastSent = resendRecord(msg, plain);
};

/**
 * Write one message to every ready routed connection except the ones `skip` names. The frame
 * for each compression method is built once. Returns how many connections got it.
 */
export const fanOut = (
  ctx: Ctx,
  msg: InternalMessage,
  skipPeer: NodeId | undefined,
  skipConn: ConnId | undefined,
): number => {
  const { st } = ctx;
  let plainFrame: Uint8Array | undefined;
  let byMethod: Map<number, Uint8Array> | undefined;
  let n = 0;
  // One record for every connection written to (it is read-only); none above RESEND_BYTES_MAX.
  const sent = resendRecord(msg, false);
  for (const [peer, connId] of st.routing) {
    if (peer === skipPeer || connId === skipConn) continue;
    const c = st.conns.get(connId);
    if (c === undefined) continue;
    const method = methodFor(ctx, c, msg);
    let bytes: Uint8Array | undefined;
    if (method === undefined) {
      bytes = plainFrame ??= encodeFrame(ctx.env.caps, msg, undefined);
    } else {
      byMethod ??= new Map();
      bytes = byMethod.get(method);
      if (bytes === undefined) {
        bytes = encodeFrame(ctx.env.caps, msg, method);
        byMethod.set(method, bytes);
      }
    }
    ctx.out.push({ _tag: 'Write', conn: connId, bytes });
    c.lastSent = sent;
    n++;
  }
  return n;
};
