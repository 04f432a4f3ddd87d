/**
 * How the chord node reaches the ring: who stores, where a ring position routes from here, and
 * whispering chord payloads to a peer or a connection through the mesh's writers.
 *
 * Inputs: the chord context. Effects: `Write` (through the mesh), `Close` for a peer's bad chord
 * message, with the peer forgotten at once.
 * Invariants: only routed connections are written to; a routed peer's storing flag comes only
 * from its meta.
 * Deliberately not: deciding what to send (requests.ts, membership.ts).
 */
import { msgTypes } from '../flags.js';
import { closeConn } from '../mesh/connections.js';
import { ownMessage, userMessage, writeMessage } from '../mesh/send.js';
import type { CloseReason, ConnId, NodeId } from '../types.js';
import type { WireValue } from '../wire/value.js';
import { route, type Route } from './routing.js';
import type { ChordCtx } from './state.js';

/** A storing peer, as routing sees it. */
export interface StoringPeer {
  readonly id: NodeId;
  readonly position: bigint;
}

/** The routed peers that said they store (meta '0'). */
export const storingPeers = (ctx: ChordCtx): ReadonlyArray<StoringPeer> => {
  const out: StoringPeer[] = [];
  for (const [id, p] of ctx.st.peers) if (p.storing && ctx.st.mesh.routing.has(id)) out.push({ id, position: p.position });
  return out;
};

/** Where `position` goes from here (§5 `find` over self, if joined, and the storing peers). */
export const routeFrom = (ctx: ChordCtx, position: bigint, peers: ReadonlyArray<StoringPeer> = storingPeers(ctx)): Route<StoringPeer> =>
  route(ctx.st.position, ctx.st.joined, peers, position);

/** Whisper a payload on one connection; false when it is gone or not ready. */
export const whisperConn = (ctx: ChordCtx, connId: ConnId, payload: ReadonlyArray<WireValue>): boolean => {
  const c = ctx.st.mesh.conns.get(connId);
  if (c === undefined || c.phase === 'dialing') return false;
  const msg = userMessage(ctx.mesh, msgTypes.whisper, payload);
  if (typeof msg === 'string') return false;
  writeMessage(ctx.mesh, c, msg);
  return true;
};

/** Whisper a payload to a routed peer; false when it is not routed. */
export const whisperPeer = (ctx: ChordCtx, peer: NodeId, payload: ReadonlyArray<WireValue>): boolean => {
  const connId = ctx.st.mesh.routing.get(peer);
  return connId !== undefined && whisperConn(ctx, connId, payload);
};

/** True when a payload can be written (msgpack refuses a bigint beyond 64 bits, for one). */
export const encodable = (ctx: ChordCtx, payload: ReadonlyArray<WireValue>): string | undefined => {
  const msg = userMessage(ctx.mesh, msgTypes.whisper, payload);
  return typeof msg === 'string' ? msg : undefined;
};

/** Our own message, stamped now. */
export const chordMessage = (ctx: ChordCtx, msgType: number, payload: ReadonlyArray<WireValue>): ReturnType<typeof ownMessage> =>
  ownMessage(ctx.mesh, msgType, payload);

/** Close a connection for what its peer sent, and forget the peer if that was its last link. */
export const closeForBadInput = (ctx: ChordCtx, connId: ConnId, reason: CloseReason): void => {
  const c = ctx.st.mesh.conns.get(connId);
  if (c === undefined) return;
  ctx.st.counters.badRequests++;
  closeConn(ctx.mesh, c, reason, true);
  if (c.peer !== undefined && !ctx.st.mesh.routing.has(c.peer)) ctx.st.peers.delete(c.peer);
};
