/**
 * The receive path: bytes → frames → messages → waterfall → built-in handlers → user.
 *
 * Inputs: BytesReceived. Effects: whatever the handlers emit, `Deliver` for every message no
 * built-in handler claims (mesh handler order: handshake, peers, response, request; renegotiate
 * before them all), `Close` with a typed reason for bad input.
 * Invariants:
 * - a frame that fails to decode closes its connection (BadFrame); so does a point-to-point
 *   message of the wrong shape for its sub-flag (BadMessage). A malformed broadcast relayed by a
 *   neighbour that did not write it is dropped unrelayed instead: the neighbour is not at fault;
 * - the first message on a connection must be a handshake (both seeds send theirs first, before
 *   anything else, on every transport), else IllegalMessage;
 * - a fresh broadcast is relayed before it is dispatched locally; a copy whose id is remembered
 *   is settled by its id and stamp alone, its msgpack never decoded again;
 * - a handshake counts only as a whisper on its own link (a broadcast one is dropped);
 * - one connection's bad input never touches another connection;
 * - a frame must be whole within `frameStallTimeoutMs` of its first byte (a trickle is no excuse).
 * Deliberately not: user handlers (the shell runs them on `Deliver`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { msgTypes } from '../flags.js';
import type { ConnId } from '../types.js';
import { describeDecodeError } from '../wire/errors.js';
import { HEADER_BYTES, midFrame, pushBytes, wholeFrame } from '../wire/framing.js';
import { classify, type WireMessage } from '../wire/messages.js';
import { peekUint } from '../wire/msgpack.js';
import { decodeOpened, messageId, messageOf, msgpackLength, msgpackStart, openFrame, type InternalMessage } from '../wire/packets.js';
import { closeConn, isOpen } from './connections.js';
import { onHandshake } from './handshake.js';
import { onPeers, sendPeers } from './peers.js';
import { onCompression, onResend } from './renegotiate.js';
import { onRouteRequest, onRouteResponse } from './request.js';
import { emit, type Conn, type Ctx } from './state.js';
import { admitRemembered, admitUnremembered, isRemembered, relay } from './waterfall.js';

/** Bytes arrived on a connection. */
export const onBytes = (ctx: Ctx, connId: ConnId, bytes: Uint8Array): void => {
  const c = ctx.st.conns.get(connId);
  if (c === undefined || c.phase === 'dialing') return;
  if (wholeFrame(c.decoder, bytes)) {
    // One whole frame and nothing held: what pushBytes would give, without its bookkeeping.
    onFrame(ctx, c, bytes, HEADER_BYTES);
    if (c.stallAt !== undefined && isOpen(ctx.st, c)) c.stallAt = undefined;
    return;
  }
  const r = pushBytes(c.decoder, bytes);
  c.decoder = r.decoder;
  for (const body of r.frames) {
    onFrame(ctx, c, body, 0);
    if (!isOpen(ctx.st, c)) return;
  }
  if (r.error !== undefined) {
    closeConn(ctx, c, { _tag: 'BadFrame', detail: describeDecodeError(r.error) }, true);
    return;
  }
  // The stall deadline runs from a frame's first byte, not its latest: a peer trickling one byte
  // at a time (slowloris) must not keep a half frame alive by refreshing it.
  if (!midFrame(c.decoder)) c.stallAt = undefined;
  else if (c.stallAt === undefined || r.frames.length > 0) {
    c.stallAt = ctx.at + ctx.env.config.frameStallTimeoutMs;
    ctx.st.timed.add(c);
  }
};

/** A frame body arrived: the bytes of `frame` from `at` on. */
const onFrame = (ctx: Ctx, c: Conn, frame: Uint8Array, at: number): void => {
  const opened = openFrame(ctx.env.caps, frame, at, c.recvCompression, ctx.env.config.frameBytesMax);
  if (opened._tag !== 'Opened') {
    closeConn(ctx, c, { _tag: 'BadFrame', detail: describeDecodeError(opened) }, true);
    return;
  }
  // A remembered id is a broadcast whose very bytes (the id is their checksum) were checked when
  // they first came or were built here: its fate needs its time alone, not another decoding. This
  // is most frames a mesh carries: every node hears each broadcast from each of its peers.
  // Looked up once: a broadcast on a ready connection is admitted by what this found.
  const remembered = c.phase === 'ready' && isRemembered(ctx.st, opened.idKey);
  if (remembered) {
    const time = peekUint(opened.plain, msgpackStart(opened), 2);
    if (time !== undefined) {
      ctx.st.counters.framesReceived++;
      admitRemembered(ctx, time);
      return;
    }
  }
  const decoded = decodeOpened(opened);
  if (decoded._tag !== 'Decoded') {
    closeConn(ctx, c, { _tag: 'BadFrame', detail: describeDecodeError(decoded) }, true);
    return;
  }
  ctx.st.counters.framesReceived++;
  if (c.phase !== 'ready') return onFirst(ctx, c, messageOf(decoded));
  const broadcast = decoded.msgType === msgTypes.broadcast;
  // A broadcast's fate depends on its id and time alone: a duplicate never becomes a message.
  if (broadcast && (remembered ? admitRemembered(ctx, decoded.time) : admitUnremembered(ctx, decoded)) !== 'fresh') return;
  const msg = messageOf(decoded);
  const w = classify(msg);
  if (E.isLeft(w)) {
    if (broadcast && msg.senderId !== c.peer) {
      ctx.st.counters.badBroadcastsDropped++;
      emit(ctx, { _tag: 'Dropped', conn: c.conn, why: describeDecodeError(w.left) });
    } else {
      closeConn(ctx, c, { _tag: 'BadMessage', detail: describeDecodeError(w.left) }, true);
    }
    return;
  }
  if (broadcast) relay(ctx, msg, c.conn);
  dispatch(ctx, c, msg, w.right);
};

/** Before its handshake a connection may send nothing but its handshake. */
const onFirst = (ctx: Ctx, c: Conn, msg: InternalMessage): void => {
  const w = classify(msg);
  if (E.isLeft(w)) closeConn(ctx, c, { _tag: 'BadMessage', detail: describeDecodeError(w.left) }, true);
  else if (w.right._tag === 'Handshake') onHandshake(ctx, c, w.right);
  else closeConn(ctx, c, { _tag: 'IllegalMessage', detail: `${w.right._tag} before the handshake` }, true);
};

const dispatch = (ctx: Ctx, c: Conn, msg: InternalMessage, w: WireMessage): void => {
  switch (w._tag) {
    case 'RenegotiateCompression':
      return onCompression(ctx, c, w.methods);
    case 'RenegotiateResend':
      return onResend(ctx, c);
    case 'Handshake':
      // A handshake speaks for the link it is whispered on; one flooded by the waterfall (any
      // node can broadcast one) must not close every link it reaches: claimed and dropped.
      if (msg.msgType !== msgTypes.whisper) {
        ctx.st.counters.badBroadcastsDropped++;
        return;
      }
      return onHandshake(ctx, c, w);
    case 'Peers':
      return onPeers(ctx, w.peers);
    case 'RouteResponse':
      return onRouteResponse(ctx, w.requestId, w.address, w.target);
    case 'PeersRequest':
      // A read can hold hundreds of requests (a list can be tens of kB): one answer per millisecond.
      if (c.peersAnsweredAt === ctx.at) return;
      c.peersAnsweredAt = ctx.at;
      return sendPeers(ctx, c);
    case 'RouteRequest':
      return onRouteRequest(ctx, c, w);
    default:
      ctx.st.counters.delivered++;
      ctx.out.push({
        _tag: 'Deliver',
        message: { conn: c.conn, msgType: msg.msgType, sender: msg.senderId, time: msg.time, packets: msg.payload, id: messageId(msg), msgpackBytes: msgpackLength(msg) },
      });
  }
};
