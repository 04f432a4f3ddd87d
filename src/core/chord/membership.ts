/**
 * Chord membership: who stores (meta), joining and leaving with data migration both ways, and
 * which peers a node keeps connected (ring neighbours and fingers).
 *
 * Inputs: a peer's meta, peers joining and leaving the routing table, connections accepted,
 * entries of peers lists, the Join/Unjoin commands, the clock.
 * Effects: `Write` (meta, peers lists, and migrated stores through handoff.ts), `Dial` (neighbours and fingers that
 * `choosePeers` picks and we are not connected to), `Close` (outgoing links no longer picked once
 * we hold more than `peersMax`: the seeds' `disconnect_least_efficient`, generalised), `Emit`.
 * Meta flow (§5.1): the accepting side sends its meta right after its handshake; a meta that
 * changes what we believe of a peer gets our meta back; once both sides store, we send our peers
 * and migrate to the peer what it now owns. ts2p's own additions, all within the wire:
 * - a storing dialler also sends its meta once the peer is routed (a seed dialler never tells a
 *   leeching acceptor that it stores);
 * - migration removes the local copy once it has been sent (the seeds keep stale copies), and is
 *   paced by what the connection takes (handoff.ts);
 * - unjoin hands every local item to the ring (js2p never migrates on leave).
 * Deliberately not: requests (requests.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { closeConn, connectionsFull, dial } from '../mesh/connections.js';
import { sendPeers } from '../mesh/peers.js';
import { ownMessage, writeMessage } from '../mesh/send.js';
import { msgTypes } from '../flags.js';
import { nextBelow } from '../rng.js';
import type { Address, CommandId, ConnId, NodeId } from '../types.js';
import { chordMetaPayload, peersRequestPayload } from '../wire/messages.js';
import { distance, nodePosition } from './ring.js';
import { choosePeers, next, prev } from './routing.js';
import { handOverStretch, pumpHandoffs } from './handoff.js';
import { peersChanged, storingPeers, succeed, whisperConn } from './send.js';
import type { ChordCtx } from './state.js';

/** Re-pick the peers to keep connected soon (not in this step: changes come in bursts). */
export const repickSoon = (ctx: ChordCtx): void => {
  const t = ctx.at + ctx.env.chord.repickDelayMs;
  if (ctx.st.repickAt === undefined || t < ctx.st.repickAt) ctx.st.repickAt = t;
};

/**
 * Remember a node heard of (bounded); a malformed id is not a ring member and is skipped. A full
 * directory takes no node from a peers list, but always takes a peer we are `connected` to, in
 * place of a node we are not linked to (one we failed to reach first): else one peers list of
 * made-up nodes would keep every later peer out of the ring's picks.
 */
export const learn = (ctx: ChordCtx, id: NodeId, address: Address, connected = false): void => {
  if (id === ctx.env.config.id || ctx.st.directory.has(id)) return;
  const p = nodePosition(id);
  if (E.isLeft(p)) return;
  if (ctx.st.directory.size >= ctx.env.chord.directoryMax && !(connected && evictUnlinked(ctx))) return;
  ctx.st.directory.set(id, { address, position: p.right, triedAt: undefined, failedAt: undefined });
  repickSoon(ctx);
};

/** Forget one directory entry we are not linked to, one we failed to reach if any; false if none. */
const evictUnlinked = (ctx: ChordCtx): boolean => {
  let victim: NodeId | undefined;
  for (const [id, e] of ctx.st.directory) {
    if (ctx.st.mesh.routing.has(id)) continue;
    if (e.failedAt !== undefined) {
      victim = id;
      break;
    }
    victim ??= id;
  }
  return victim !== undefined && ctx.st.directory.delete(victim);
};

/**
 * Hand `peer` what it now owns: the items from its position clockwise up to the next storing node
 * after it (ours, or another peer's: within the seeds' `dump_data(peer, self)`, the part that
 * routes to it), walked in batches (handoff.ts), our copies dropped once sent.
 */
const migrateTo = (ctx: ChordCtx, peer: NodeId, peerPosition: bigint): void => {
  handOverStretch(ctx, peer, peerPosition, ownedUpTo(ctx, peerPosition));
  pumpHandoffs(ctx);
};

/**
 * Where the stretch a storing node at `position` owns ends: the next storing node clockwise after
 * it (us when joined, or a storing peer); `position` itself when no other node stores (it owns the
 * whole ring).
 */
const ownedUpTo = (ctx: ChordCtx, position: bigint): bigint => {
  let upTo = position;
  let span = ctx.st.joined ? distance(position, ctx.st.position) : 0n;
  if (span > 0n) upTo = ctx.st.position;
  for (const p of storingPeers(ctx)) {
    const d = distance(position, p.position);
    if (d > 0n && (span === 0n || d < span)) {
      upTo = p.position;
      span = d;
    }
  }
  return upTo;
};

/** A peer's meta: '1' leeching, '0' storing (§5.1 meta flow). */
export const onMeta = (ctx: ChordCtx, connId: ConnId, leeching: boolean): void => {
  const c = ctx.st.mesh.conns.get(connId);
  const peer = c?.peer;
  if (c === undefined || peer === undefined) return;
  const rec = ctx.st.peers.get(peer);
  if (rec === undefined || rec.storing === !leeching) return;
  whisperConn(ctx, connId, chordMetaPayload(!ctx.st.joined));
  rec.storing = !leeching;
  peersChanged(ctx);
  repickSoon(ctx);
  if (rec.storing && ctx.st.joined) {
    sendPeers(ctx.mesh, c);
    migrateTo(ctx, peer, rec.position);
  }
};

/** A connection was accepted: the acceptor sends its meta right after its handshake. */
export const onAccepted = (ctx: ChordCtx, connId: ConnId): void => {
  if (ctx.st.mesh.conns.has(connId)) whisperConn(ctx, connId, chordMetaPayload(!ctx.st.joined));
};

/** A peer reached the routing table. */
export const onPeerJoined = (ctx: ChordCtx, peer: NodeId, conn: ConnId, address: Address, outgoing: boolean): void => {
  const p = nodePosition(peer);
  if (E.isLeft(p)) return;
  ctx.st.peers.set(peer, { position: p.right, storing: false, outgoing });
  peersChanged(ctx);
  learn(ctx, peer, address, true);
  const entry = ctx.st.directory.get(peer);
  if (entry !== undefined) entry.failedAt = undefined;
  if (outgoing && ctx.st.joined) whisperConn(ctx, conn, chordMetaPayload(false));
  repickSoon(ctx);
};

/** A peer left the routing table; one we dialled that went away is not redialled for a while. */
export const onPeerLeft = (ctx: ChordCtx, peer: NodeId): void => {
  const rec = ctx.st.peers.get(peer);
  ctx.st.peers.delete(peer);
  peersChanged(ctx);
  const entry = ctx.st.directory.get(peer);
  if (entry !== undefined && rec?.outgoing === true) entry.failedAt = ctx.at;
  repickSoon(ctx);
};

/** A connection failed before its handshake: a dial of ours marks its target as unreachable. */
export const onRejected = (ctx: ChordCtx, expectedId: NodeId | undefined): void => {
  const entry = expectedId === undefined ? undefined : ctx.st.directory.get(expectedId);
  if (entry !== undefined) entry.failedAt = ctx.at;
};

/** Tell every peer our meta (and our peers list when we start storing). */
const announce = (ctx: ChordCtx): void => {
  for (const connId of ctx.st.mesh.routing.values()) {
    const c = ctx.st.mesh.conns.get(connId);
    if (c === undefined) continue;
    if (ctx.st.joined) sendPeers(ctx.mesh, c);
    whisperConn(ctx, connId, chordMetaPayload(!ctx.st.joined));
  }
};

/** The join command: start storing; storing peers answer with their meta and migrate to us. */
export const onJoin = (ctx: ChordCtx, cmd: CommandId): void => {
  if (!ctx.st.joined) {
    ctx.st.joined = true;
    announce(ctx);
  }
  succeed(ctx, cmd);
};

/** The unjoin command: stop storing and hand every local item to the ring (kept if nobody stores). */
export const onUnjoin = (ctx: ChordCtx, cmd: CommandId): void => {
  if (ctx.st.joined) {
    ctx.st.joined = false;
    announce(ctx);
    // Each storing peer gets the stretch it owns, walked in batches: together, the whole ring.
    for (const p of storingPeers(ctx)) handOverStretch(ctx, p.id, p.position, ownedUpTo(ctx, p.position));
    pumpHandoffs(ctx);
  }
  succeed(ctx, cmd);
};

/** Who we are connected to or dialling, by id. */
const linkedIds = (ctx: ChordCtx): Set<NodeId> => {
  const ids = new Set<NodeId>(ctx.st.mesh.routing.keys());
  for (const c of ctx.st.mesh.conns.values()) {
    if (c.peer !== undefined) ids.add(c.peer);
    if (c.expectedId !== undefined) ids.add(c.expectedId);
  }
  return ids;
};

/**
 * Keep connected what `choosePeers` picks among the nodes we know of: dial the picks we lack
 * (at most `dialsMax` dials in flight, and none while the mesh holds `connectionsMax`
 * connections), and past `peersMax` outgoing links close the outgoing ones not picked.
 */
export const repick = (ctx: ChordCtx): void => {
  const { chord } = ctx.env;
  const candidates: { id: NodeId; position: bigint; address: Address }[] = [];
  for (const [id, e] of ctx.st.directory) {
    const down = e.failedAt !== undefined && ctx.at - e.failedAt < chord.redialMs;
    if (!down || ctx.st.mesh.routing.has(id)) candidates.push({ id, position: e.position, address: e.address });
  }
  const picks = choosePeers(ctx.st.position, candidates, chord.peersMax);
  const linked = linkedIds(ctx);
  let dialing = 0;
  for (const c of ctx.st.mesh.conns.values()) if (c.phase === 'dialing') dialing++;
  for (const p of picks) {
    if (dialing >= chord.dialsMax || connectionsFull(ctx.mesh)) break;
    const e = ctx.st.directory.get(p.id);
    if (linked.has(p.id) || e === undefined || (e.triedAt !== undefined && ctx.at - e.triedAt < chord.redialMs)) continue;
    e.triedAt = ctx.at;
    dial(ctx.mesh, p.address, p.id, undefined);
    dialing++;
  }
  const picked = new Set(picks.map((p) => p.id));
  const outgoing = [...ctx.st.mesh.conns.values()].filter((c) => c.outgoing);
  let excess = outgoing.length - chord.peersMax;
  for (const c of outgoing) {
    if (excess <= 0) break;
    if (c.phase !== 'ready' || c.peer === undefined || picked.has(c.peer)) continue;
    closeLink(ctx, c.conn);
    excess--;
  }
};

/** Close one of our links that the ring no longer needs (it stays in the directory). */
const closeLink = (ctx: ChordCtx, connId: ConnId): void => {
  const c = ctx.st.mesh.conns.get(connId);
  if (c === undefined) return;
  closeConn(ctx.mesh, c, { _tag: 'UserDisconnect' }, true);
  if (c.peer !== undefined && !ctx.st.mesh.routing.has(c.peer) && ctx.st.peers.delete(c.peer)) peersChanged(ctx);
};

/**
 * Ask at most `refreshPeersMax` routed peers for their peers lists: the nearest storing peer on
 * each side (a joiner next to us shows up in their lists first), then others at random (the
 * node's PRNG), so news of a node still spreads through the whole ring in a few refreshes.
 */
const askForPeers = (ctx: ChordCtx): void => {
  const budget = Math.max(0, Math.floor(ctx.env.chord.refreshPeersMax));
  const storing = storingPeers(ctx);
  const asked = new Set<NodeId>();
  for (const side of [prev(ctx.st.position, storing), next(ctx.st.position, storing)]) {
    if (side._tag === 'Some' && asked.size < budget) asked.add(side.value.id);
  }
  const routed = [...ctx.st.mesh.routing.keys()];
  for (let tries = 0; asked.size < Math.min(budget, routed.length) && tries < 4 * budget; tries++) {
    const [i, rng] = nextBelow(ctx.st.mesh.rng, routed.length);
    ctx.st.mesh.rng = rng;
    const id = routed[i];
    if (id !== undefined) asked.add(id);
  }
  if (asked.size === 0) return;
  const msg = ownMessage(ctx.mesh, msgTypes.whisper, peersRequestPayload());
  for (const id of asked) {
    const connId = ctx.st.mesh.routing.get(id);
    const c = connId === undefined ? undefined : ctx.st.mesh.conns.get(connId);
    if (c !== undefined) writeMessage(ctx.mesh, c, msg);
  }
};

/** Periodic work: ask some peers for their peers, and re-pick. */
export const onMembershipTick = (ctx: ChordCtx): void => {
  if (ctx.at >= ctx.st.refreshAt) {
    ctx.st.refreshAt = ctx.at + ctx.env.chord.refreshMs;
    askForPeers(ctx);
    repickSoon(ctx);
  }
  if (ctx.st.repickAt !== undefined && ctx.at >= ctx.st.repickAt) {
    ctx.st.repickAt = undefined;
    repick(ctx);
  }
};
