/**
 * Writing messages to connections.
 *
 * Owns: stamping our own messages (one time, one id per message), framing per link compression
 * (none below `compressMinBytes`: receivers try to decompress, then take the raw bytes), and fan-out with a per-method frame cache so N peers on one method cost one compression.
 * Effects: `Write`. Records each connection's last sent message (for a renegotiate resend).
 * Deliberately not: deciding who receives what (waterfall, request and peers decide that).
 */
import type { ConnId, NodeId } from '../types.js';
import { timeSeconds } from '../ids.js';
import { checkedMessage, encodeFrame, makeMessage, msgpackLength, type InternalMessage } from '../wire/packets.js';
import type { WireValue } from '../wire/value.js';
import type { Conn, Ctx } from './state.js';

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
const methodFor = (ctx: Ctx, c: Conn, msg: InternalMessage): number | undefined =>
  msgpackLength(msg) < ctx.env.config.compressMinBytes ? undefined : c.sendMethod;

/** Write one message to one connection; `plain` sends it uncompressed (handshakes). */
export const writeMessage = (ctx: Ctx, c: Conn, msg: InternalMessage, plain = false): void => {
  const bytes = encodeFrame(ctx.env.caps, msg, plain ? undefined : methodFor(ctx, c, msg));
  ctx.out.push({ _tag: 'Write', conn: c.conn, bytes });
  c.lastSent = { msg, plain };
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
  // One record for every connection written to (it is read-only).
  const sent = { msg, plain: false };
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
