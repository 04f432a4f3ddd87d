/**
 * The handshake (PROTOCOL.md §4.2–4.3) and duplicate-connection resolution.
 *
 * Inputs: a classified Handshake on a connection. Effects: our handshake (uncompressed, §10
 * typing: id as str, protocol id as bin, compression as ints), our peers list after theirs,
 * `Close` for a wrong subnet, ourselves, an unexpected peer or the losing duplicate; events
 * Connected, PeerJoined, ConnectSucceeded, ConnectionRejected.
 * Invariants:
 * - a peer is routed through exactly one connection;
 * - between two nodes, both ends keep the same connection: when the two were initiated by
 *   different ends, the one initiated by the larger id (base58-decoded) survives, and each end
 *   reaches that on its own; when one end initiated both, that end closes the newer one and the
 *   other end keeps both until then (routing through the first);
 * - a second handshake on a ready connection (js2p sends one) only refreshes address and
 *   compression when it names the same peer;
 * - a connection keeps of the peer's compression list only the distinct methods we support, in
 *   its order (a list longer than `COMPRESSION_LIST_MAX` never gets here: it is BadMessage).
 * Deliberately not: verifying ids (nothing in the protocol can).
 */
import * as E from 'fp-ts/lib/Either.js';
import { msgTypes } from '../flags.js';
import { fromBase58 } from '../ids.js';
import type { NodeId } from '../types.js';
import { chooseCompression, supportedMethods } from '../wire/packets.js';
import { handshakePayload, type WireMessageOf } from '../wire/messages.js';
import { closeConn } from './connections.js';
import { noteReady } from './known.js';
import { sendPeers } from './peers.js';
import { flushReplies } from './request.js';
import { ownMessage, writeMessage } from './send.js';
import { emit, type Conn, type Ctx } from './state.js';

/** A handshake as classified from the wire. */
export type Handshake = WireMessageOf<'Handshake'>;

/** Send our handshake, uncompressed, on a connection that just opened. */
export const sendHandshake = (ctx: Ctx, c: Conn): void => {
  const { config } = ctx.env;
  const payload = handshakePayload(config.id, config.protocol.id, config.outAddr, config.compression);
  writeMessage(ctx, c, ownMessage(ctx, msgTypes.whisper, payload), true);
};

/** `a > b` for node ids, compared as base58-decoded integers (text order if either is not base58). */
export const idGreater = (a: NodeId, b: NodeId): boolean => {
  const x = fromBase58(a);
  const y = fromBase58(b);
  return E.isRight(x) && E.isRight(y) ? x.right > y.right : a > b;
};

const adopt = (ctx: Ctx, c: Conn, hs: Handshake): void => {
  c.peer = hs.id;
  c.peerAddr = hs.address;
  // Only the distinct methods we support are kept (the codec already refused a list longer than
  // COMPRESSION_LIST_MAX): decoding tries each at most once per frame.
  const methods = supportedMethods(ctx.env.caps, hs.compression);
  c.recvCompression = methods;
  c.sendList = methods;
  c.sendMethod = chooseCompression(ctx.env.config.compression, methods);
};

/** Handle a handshake arriving on `c`. */
export const onHandshake = (ctx: Ctx, c: Conn, hs: Handshake): void => {
  const { config } = ctx.env;
  if (hs.protocolId !== config.protocol.id) {
    closeConn(ctx, c, { _tag: 'WrongSubnet', theirs: hs.protocolId, ours: config.protocol.id }, true);
    return;
  }
  if (hs.id === config.id) {
    closeConn(ctx, c, { _tag: 'SelfConnection' }, true);
    return;
  }
  if (c.phase === 'ready') {
    // js2p repeats its handshake once ours arrives: refresh, nothing more.
    if (c.peer === hs.id) adopt(ctx, c, hs);
    else closeConn(ctx, c, { _tag: 'IllegalMessage', detail: 'second handshake names another peer' }, true);
    return;
  }
  if (c.expectedId !== undefined && c.expectedId !== hs.id) {
    closeConn(ctx, c, { _tag: 'UnexpectedPeer', expected: c.expectedId, got: hs.id }, true);
    return;
  }
  adopt(ctx, c, hs);
  c.phase = 'ready';
  c.deadlineAt = undefined;
  if (c.stallAt === undefined) ctx.st.timed.delete(c);
  noteReady(ctx, c);
  ctx.st.heal.dirty = true;
  const existingId = ctx.st.routing.get(hs.id);
  const existing = existingId === undefined ? undefined : ctx.st.conns.get(existingId);
  if (existing !== undefined) resolveDuplicate(ctx, c, existing, hs.id);
  else join(ctx, c, hs.id);
};

/** A new peer reaches the routing table. */
const join = (ctx: Ctx, c: Conn, peer: NodeId): void => {
  const first = ctx.st.routing.size === 0;
  ctx.st.routing.set(peer, c.conn);
  if (first) emit(ctx, { _tag: 'Connected', peer });
  emit(ctx, { _tag: 'PeerJoined', peer, conn: c.conn, address: c.peerAddr ?? c.remote ?? { host: '', port: 0 }, outgoing: c.outgoing });
  if (c.cmd !== undefined) {
    emit(ctx, { _tag: 'ConnectSucceeded', cmd: c.cmd, peer });
    c.cmd = undefined;
  }
  sendPeers(ctx, c);
  flushReplies(ctx, peer);
};

/** `fresh` just handshook with a peer already routed through `existing`. */
const resolveDuplicate = (ctx: Ctx, fresh: Conn, existing: Conn, peer: NodeId): void => {
  const dup = { _tag: 'DuplicateConnection', peer } as const;
  if (fresh.outgoing === existing.outgoing) {
    // One end initiated both: that end closes the newer; the other keeps both until it does.
    if (fresh.outgoing) closeConn(ctx, fresh, dup, true);
    return;
  }
  const weAreLarger = idGreater(ctx.env.config.id, peer);
  // The survivor is the connection initiated by the larger id: ours is the outgoing one.
  const survivor = weAreLarger === fresh.outgoing ? fresh : existing;
  const loser = survivor === fresh ? existing : fresh;
  if (survivor === fresh) {
    ctx.st.routing.set(peer, fresh.conn);
    if (fresh.cmd !== undefined) {
      emit(ctx, { _tag: 'ConnectSucceeded', cmd: fresh.cmd, peer });
      fresh.cmd = undefined;
    }
  }
  closeConn(ctx, loser, dup, true);
};
