/**
 * Replies and route finding (PROTOCOL.md §4.7): `Message.reply` and request/response.
 *
 * Inputs: the Reply command, RouteRequest and RouteResponse messages, a peer joining, Tick.
 * Effects: the reply whisper `[0x02, me, now, 0x02, ...packets]`, a request broadcast
 * `[0x00, me, now, 0x08, request_id, target]`, a response broadcast on the connection a request
 * came on, a `Dial` to a target named in a response; events ReplySent / ReplyFailed.
 * Invariants: every Reply ends in exactly one ReplySent or one ReplyFailed; at most
 * `pendingRequestsMax` replies wait; each waits at most `requestTimeoutMs`. Replies to one
 * target within one second share a request id, so they share one list and one broadcast.
 * Deliberately not: the seeds' crashes on this path (bytes + str, spreading a number, Buffer
 * keys): ids are canonical text and the deferred reply is a list of packets.
 */
import { msgTypes, subFlags } from '../flags.js';
import { requestId, timeSeconds } from '../ids.js';
import type { Address, CommandId, NodeId } from '../types.js';
import { NODE_ID_CHARS_MAX } from '../wire/codecs.js';
import { routeRequestPayload, routeResponsePayload, type WireMessageOf } from '../wire/messages.js';
import type { WireValue } from '../wire/value.js';
import { connectionsFull, dial } from './connections.js';
import { ownMessage, userMessage, writeMessage, type Stamp } from './send.js';
import { emit, type Conn, type Ctx, type MeshState } from './state.js';
import { broadcastOwn, remember } from './waterfall.js';

/** The whisper a Reply sends, or why it cannot be sent (`userMessage`). */
export const replyMessage = (ctx: Stamp, packets: ReadonlyArray<WireValue>) => userMessage(ctx, msgTypes.whisper, [subFlags.whisper, ...packets], 1);

const sendReply = (ctx: Ctx, c: Conn, cmd: CommandId, to: NodeId, packets: ReadonlyArray<WireValue>, routed: boolean): void => {
  const msg = replyMessage(ctx, packets);
  if (typeof msg === 'string') return fail(ctx, cmd, to, 'Unencodable', msg);
  writeMessage(ctx, c, msg);
  ctx.st.counters.repliesSent++;
  emit(ctx, { _tag: 'ReplySent', cmd, to, routed });
};

const fail = (ctx: Ctx, cmd: CommandId, to: NodeId, reason: 'Timeout' | 'TooManyPending' | 'Unreachable' | 'Unencodable', detail?: string): void => {
  ctx.st.counters.repliesFailed++;
  emit(ctx, detail === undefined ? { _tag: 'ReplyFailed', cmd, to, reason } : { _tag: 'ReplyFailed', cmd, to, reason, detail });
};

/** The Reply command: whisper directly, or ask the mesh for a route and wait. */
export const reply = (ctx: Ctx, cmd: CommandId, to: NodeId, packets: ReadonlyArray<WireValue>): void => {
  const { st } = ctx;
  const direct = st.routing.get(to);
  const c = direct === undefined ? undefined : st.conns.get(direct);
  if (c !== undefined) return sendReply(ctx, c, cmd, to, packets, false);
  // Checked now so a deferred reply cannot fail to build later.
  const refused = replyMessage(ctx, packets);
  if (typeof refused === 'string') return fail(ctx, cmd, to, 'Unencodable', refused);
  // No node has an id past the bound (peers refuse a route request naming one).
  if (to === ctx.env.config.id || st.routing.size === 0 || to.length > NODE_ID_CHARS_MAX) return fail(ctx, cmd, to, 'Unreachable');
  if (st.pendingCount >= ctx.env.config.pendingRequestsMax) return fail(ctx, cmd, to, 'TooManyPending');
  const rid = requestId(ctx.env.caps, to, timeSeconds(ctx.at));
  const entry = { cmd, to, packets, deadlineAt: ctx.at + ctx.env.config.requestTimeoutMs };
  st.pendingCount++;
  const list = st.pending.get(rid);
  if (list !== undefined) {
    list.push(entry);
    return;
  }
  st.pending.set(rid, [entry]);
  broadcastOwn(ctx, routeRequestPayload(rid, to));
};

/** A peer joined: send every reply that waited for it. */
export const flushReplies = (ctx: Ctx, peer: NodeId): void => {
  const { st } = ctx;
  if (st.pendingCount === 0) return;
  const connId = st.routing.get(peer);
  const c = connId === undefined ? undefined : st.conns.get(connId);
  if (c === undefined) return;
  for (const [rid, list] of st.pending) {
    if (list[0]?.to !== peer) continue;
    st.pending.delete(rid);
    st.pendingCount -= list.length;
    for (const p of list) sendReply(ctx, c, p.cmd, p.to, p.packets, true);
  }
};

/** A route request: answer on its connection when we hold the target. */
export const onRouteRequest = (ctx: Ctx, c: Conn, w: WireMessageOf<'RouteRequest'>): void => {
  const connId = ctx.st.routing.get(w.target);
  const address = connId === undefined ? undefined : ctx.st.conns.get(connId)?.peerAddr;
  if (address === undefined) return;
  // The request id and target are echoed exactly as they came (str or bin).
  const msg = ownMessage(ctx, msgTypes.broadcast, routeResponsePayload(w.requestIdRaw, address, w.targetRaw));
  remember(ctx, msg);
  writeMessage(ctx, c, msg);
};

/** A route response: dial the target for our waiting replies (sent once its handshake lands). */
export const onRouteResponse = (ctx: Ctx, rid: string, address: Address, target: NodeId): void => {
  const { st } = ctx;
  const list = st.pending.get(rid);
  if (list === undefined || list[0]?.to !== target || target === ctx.env.config.id) return;
  if (st.routing.has(target)) return flushReplies(ctx, target);
  if (address.host === '') return;
  for (const c of st.conns.values()) if (c.expectedId === target || c.peer === target) return;
  if (connectionsFull(ctx)) return;
  dial(ctx, address, target, undefined);
};

/** Fail the replies whose time is up. */
export const expireReplies = (ctx: Ctx): void => {
  const { st } = ctx;
  if (st.pendingCount === 0) return;
  for (const [rid, list] of st.pending) {
    const keep = list.filter((p) => p.deadlineAt > ctx.at);
    if (keep.length === list.length) continue;
    for (const p of list) if (p.deadlineAt <= ctx.at) fail(ctx, p.cmd, p.to, 'Timeout');
    st.pendingCount -= list.length - keep.length;
    if (keep.length === 0) st.pending.delete(rid);
    else st.pending.set(rid, keep);
  }
};

/** Fail every waiting reply (shutdown). */
export const abandonReplies = (ctx: Ctx): void => {
  for (const list of ctx.st.pending.values()) for (const p of list) fail(ctx, p.cmd, p.to, 'Unreachable');
  ctx.st.pending.clear();
  ctx.st.pendingCount = 0;
};

/** The earliest reply deadline, ms. */
export const replyWakeup = (st: MeshState): number | undefined => {
  // Asked after every step: no iterator for the usual empty table.
  if (st.pending.size === 0) return undefined;
  let t: number | undefined;
  for (const list of st.pending.values()) for (const p of list) if (t === undefined || p.deadlineAt < t) t = p.deadlineAt;
  return t;
};
