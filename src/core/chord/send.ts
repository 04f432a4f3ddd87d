/**
 * How the chord node reaches the ring: who stores, where a ring position routes from here, and
 * whispering chord payloads to a peer or a connection through the mesh's writers.
 *
 * Inputs: the chord context. Effects: `Write` (through the mesh), `Close` for a peer's bad chord
 * message, with the peer forgotten at once.
 * Invariants: only connections past dialling are written to (routed ones, and an accepted one
 * still awaiting its handshake, which is sent our meta); a routed peer's storing flag comes only
 * from its meta.
 * Deliberately not: deciding what to send (requests.ts, membership.ts).
 */
import { msgTypes } from '../flags.js';
import { idText } from '../ids.js';
import { closeConn } from '../mesh/connections.js';
import { ownMessage, userMessage, writeMessage } from '../mesh/send.js';
import type { ChordError, CloseReason, CommandId, ConnId, NodeId } from '../types.js';
import type { IdValue } from '../wire/codecs.js';
import { chordRetrievedPayload } from '../wire/messages.js';
import { countMsgpack, MSGPACK_DEPTH_MAX, MSGPACK_MAPS_MAX, MSGPACK_VALUES_MAX } from '../wire/msgpack.js';
import { msgpackStart } from '../wire/packets.js';
import type { WireValue } from '../wire/value.js';
import { distance, onRing, RING_SIZE } from './ring.js';
import { route, type Route } from './routing.js';
import type { ChordCtx, RingView } from './state.js';
import type { MapMeasure } from './store.js';

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

/** A position folded onto the ring; positions already on it (every honest node's) cost no division. */
const ringPoint = (p: bigint): bigint => (p >= 0n && p < RING_SIZE ? p : onRing(p));

/** Call after any change to `ctx.st.peers` (a record added, removed, or its storing flag set). */
export const peersChanged = (ctx: ChordCtx): void => {
  ctx.st.ringView = undefined;
};

/** The storing, routed peers sorted by ring point, then larger raw position first (stable). */
const buildView = (ctx: ChordCtx): RingView => {
  const rows: { readonly id: NodeId; readonly raw: bigint; readonly point: bigint }[] = [];
  for (const [id, p] of ctx.st.peers) {
    if (p.storing && ctx.st.mesh.routing.has(id)) rows.push({ id, raw: p.position, point: ringPoint(p.position) });
  }
  rows.sort((a, b) => (a.point !== b.point ? (a.point < b.point ? -1 : 1) : a.raw !== b.raw ? (a.raw > b.raw ? -1 : 1) : 0));
  return { points: rows.map((r) => r.point), raws: rows.map((r) => r.raw), ids: rows.map((r) => r.id) };
};

/**
 * The index `find` picks in a view, or −1 when it is empty. `find` minimises the clockwise
 * distance from a peer to the key: the largest ring point at or below the key's, or failing that
 * the largest of all (the ring wraps); of equal points the smaller raw position (last in the
 * view's order), and of equal raw positions the earlier peer (walking back over the run).
 */
const ownerIndex = (v: RingView, key: bigint): number => {
  const n = v.points.length;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((v.points[mid] ?? 0n) <= key) lo = mid + 1;
    else hi = mid;
  }
  let i = lo === 0 ? n - 1 : lo - 1;
  while (i > 0 && v.points[i - 1] === v.points[i] && v.raws[i - 1] === v.raws[i]) i--;
  return i;
};

/**
 * Where `position` goes from here (§5 `find` over self, if joined, and the storing peers). Given
 * no list, it searches the sorted `ringView`, since every hop of every request routes; the
 * choice is `route`'s over `storingPeers`, tie rule included (a property test holds the two to
 * each other). The view may still hold a peer that has left the routing table: removing a peer
 * that is not chosen changes no choice, and a chosen one is caught here and the view rebuilt.
 */
export const routeFrom = (ctx: ChordCtx, position: bigint, peers?: ReadonlyArray<StoringPeer>): Route<StoringPeer> => {
  if (peers !== undefined) return route(ctx.st.position, ctx.st.joined, peers, position);
  const key = ringPoint(position);
  let v = (ctx.st.ringView ??= buildView(ctx));
  let i = ownerIndex(v, key);
  const chosen = v.ids[i];
  if (chosen !== undefined && !ctx.st.mesh.routing.has(chosen)) {
    v = ctx.st.ringView = buildView(ctx);
    i = ownerIndex(v, key);
  }
  const best = v.ids[i];
  const bestRaw = v.raws[i] ?? 0n;
  if (ctx.st.joined && (best === undefined || distance(ctx.st.position, position) <= distance(bestRaw, position))) return LOCAL;
  return best === undefined ? NO_ROUTE : { _tag: 'Forward', peer: { id: best, position: bestRaw } };
};

const LOCAL: Route<StoringPeer> = { _tag: 'Local' };
const NO_ROUTE: Route<StoringPeer> = { _tag: 'NoRoute' };

/** Whisper a payload on one connection: the bytes of the message body written, 0 when the connection is gone or not ready. */
export const whisperConn = (ctx: ChordCtx, connId: ConnId, payload: ReadonlyArray<WireValue>): number => {
  const c = ctx.st.mesh.conns.get(connId);
  if (c === undefined || c.phase === 'dialing') return 0;
  const msg = userMessage(ctx.mesh, msgTypes.whisper, payload);
  if (typeof msg === 'string') return 0;
  writeMessage(ctx.mesh, c, msg);
  return msg.plain.length - msg.at;
};

/**
 * Answer a retrieve on one connection: `[0x0D, table, key58, value]`, table and key58 echoed as
 * received. The message is built once per step for each echo and value, so a read of many
 * retrieves of one key, or an answer many peers wait for, encodes the value once.
 */
export const answerConn = (ctx: ChordCtx, connId: ConnId, table: IdValue, key58: IdValue, value: WireValue): void => {
  const c = ctx.st.mesh.conns.get(connId);
  if (c === undefined || c.phase === 'dialing') return;
  const echo = `${typeof table === 'string' ? 's' : 'b'}${idText(table)}/${typeof key58 === 'string' ? 's' : 'b'}${idText(key58)}`;
  ctx.answers ??= new Map();
  let built = ctx.answers.get(echo);
  if (built === undefined || built.value !== value) {
    const msg = userMessage(ctx.mesh, msgTypes.whisper, chordRetrievedPayload(table, key58, value));
    if (typeof msg === 'string') return;
    built = { value, msg };
    ctx.answers.set(echo, built);
  }
  writeMessage(ctx.mesh, c, built.msg);
};

/** Make sure the node wakes by `t`. */
export const wakeAt = (ctx: ChordCtx, t: number): void => {
  if (ctx.st.checkAt === undefined || t < ctx.st.checkAt) ctx.st.checkAt = t;
};

/** Emit a command's success. */
export const succeed = (ctx: ChordCtx, cmd: CommandId, value?: WireValue): void => {
  ctx.out.push({ _tag: 'Emit', event: value === undefined ? { _tag: 'ChordResult', cmd } : { _tag: 'ChordResult', cmd, value } });
};

/** Emit a command's failure. */
export const fail = (ctx: ChordCtx, cmd: CommandId, error: ChordError): void => {
  ctx.out.push({ _tag: 'Emit', event: { _tag: 'ChordFailed', cmd, error } });
};

/** Whisper a payload to a routed peer: the connection it went out on, or undefined when it is not routed. */
export const whisperPeer = (ctx: ChordCtx, peer: NodeId, payload: ReadonlyArray<WireValue>): ConnId | undefined => {
  const connId = ctx.st.mesh.routing.get(peer);
  return connId !== undefined && whisperConn(ctx, connId, payload) > 0 ? connId : undefined;
};

const EMPTY_MAP: ReadonlyMap<WireValue, WireValue> = new Map();

/**
 * Whether a retrieved answer from us for (table, key58) carrying a map of measures `m` could be
 * sent: what `userMessage` would decide of the encoded answer (its body within `frameBytesMax`,
 * its msgpack within the peers' decoder bounds), decided from the measures without encoding the
 * map. The answer with an empty map in its place is encoded and counted, and the map's share
 * added (an empty map is one byte, one value, one map and no depth).
 */
export const retrievedFits = (ctx: ChordCtx, table: IdValue, key58: IdValue, m: MapMeasure): boolean => {
  const empty = userMessage(ctx.mesh, msgTypes.whisper, chordRetrievedPayload(table, key58, EMPTY_MAP));
  if (typeof empty === 'string') return false;
  const counts = countMsgpack(empty.plain, msgpackStart(empty));
  if ('_tag' in counts) return false;
  return (
    empty.plain.length - empty.at - 1 + m.packed <= ctx.env.config.frameBytesMax &&
    counts.values - 1 + m.values <= MSGPACK_VALUES_MAX &&
    counts.maps - 1 + m.maps <= MSGPACK_MAPS_MAX &&
    Math.max(counts.depth, 1 + m.depth) <= MSGPACK_DEPTH_MAX
  );
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
  if (c.peer !== undefined && !ctx.st.mesh.routing.has(c.peer) && ctx.st.peers.delete(c.peer)) peersChanged(ctx);
};
