/**
 * The mesh node's root reducer: `step(env, state, input) → [state, effects]`.
 *
 * Owns: routing each Input to its concern (mesh/connections, handshake, peers, waterfall,
 * request, renegotiate, receive), the user commands, the next wake-up, and read-only views for
 * the API facade and the simulator. After any step that may have changed the outgoing count,
 * and on every Tick, mesh/heal re-checks the outgoing target (self-healing).
 * Inputs: every `Input` of types.ts. Effects: every `Effect` of types.ts, in the order the
 * concerns emit them (a relay's writes come before the local `Deliver`).
 * Invariants: `step` never throws on any input, including arbitrary bytes from a peer; after
 * Shutdown every input is ignored except Connect and Reply (and the chord commands), which fail,
 * and the other commands, which are dropped; time enters only as `input.at`
 * (wire time is `floor(at / 1000)`).
 * Linear state: for speed, `step` mutates the state it is given and returns it. Use each state
 * once; `cloneNode` copies one for tests that branch.
 * Deliberately not: user handlers (the shell runs them on `Deliver`, then queues the message
 * when `isQueuedForUser`).
 */
import type { Address, CommandId, ConnectError, ConnId, DeliveredMessage, Effect, Input, NodeId } from './types.js';
import { subFlags } from './flags.js';
import { seedRng } from './rng.js';
import type { WireValue } from './wire/value.js';
import {
  closeConn,
  connWakeup,
  connectionsFull,
  dial,
  expireConns,
  onAccepted,
  onClosed,
  onDialFailed,
  onDialSucceeded,
  refuse,
} from './mesh/connections.js';
import { sendHandshake } from './mesh/handshake.js';
import { emptyHeal, healWakeup, maintain } from './mesh/heal.js';
import { requestPeers, sendPeers } from './mesh/peers.js';
import { onBytes } from './mesh/receive.js';
import { abandonReplies, expireReplies, reply, replyMessage, replyWakeup } from './mesh/request.js';
import { userMessage, type Stamp } from './mesh/send.js';
import { readClock, sameAddress, type Ctx, type Env, type MeshState } from './mesh/state.js';
import { emptySeen, purgeSeen, seenSize, seenWakeup, sendToAll } from './mesh/waterfall.js';

export type { Env } from './mesh/state.js';

/** A node's whole state. Opaque to shells: read it only through the views below. */
export type NodeState = MeshState;

/** A fresh node with no connections. */
export const initNode = (env: Env, at: number): NodeState => ({
  closed: false,
  rng: seedRng(env.config.seed),
  dialSeq: 0,
  conns: new Map(),
  timed: new Set(),
  routing: new Map(),
  seen: emptySeen(),
  clockMax: at,
  pending: new Map(),
  pendingCount: 0,
  counters: {
    framesReceived: 0,
    broadcastsRelayed: 0,
    duplicatesDropped: 0,
    staleDropped: 0,
    futureDropped: 0,
    seenForgottenEarly: 0,
    badBroadcastsDropped: 0,
    delivered: 0,
    repliesSent: 0,
    repliesFailed: 0,
    closedByReason: {},
  },
  known: new Map(),
  heal: emptyHeal(env.config.peersRequestBaseMs),
});

/** A deep copy, for tests that step one state down two paths. */
export const cloneNode = (state: NodeState): NodeState => structuredClone(state);

const onConnect = (ctx: Ctx, cmd: CommandId, address: Address, expectedId: NodeId | undefined): void => {
  const { config } = ctx.env;
  const fail = (error: ConnectError): void => {
    ctx.out.push({ _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd, error } });
  };
  if (sameAddress(address, config.outAddr) || expectedId === config.id) {
    return fail({ _tag: 'Closed', reason: { _tag: 'SelfConnection' } });
  }
  for (const [peer, connId] of ctx.st.routing) {
    if (peer === expectedId || sameAddress(ctx.st.conns.get(connId)?.peerAddr, address)) {
      return fail({ _tag: 'AlreadyConnected', peer });
    }
  }
  if (connectionsFull(ctx)) {
    return fail({ _tag: 'Closed', reason: { _tag: 'TooManyConnections', limit: config.connectionsMax } });
  }
  // Not remembered yet: an address the user names is learnt once its node handshakes (so a
  // node that answers, then refuses or drops us, is tried again later on its own), while an
  // address that never answers rejects the connect and leaves nothing behind.
  dial(ctx, address, expectedId, cmd);
};

const sendMessage = (ctx: Stamp, flag: number, type: number, packets: ReadonlyArray<WireValue>) => userMessage(ctx, flag, [type, ...packets], 1);

const onSend = (ctx: Ctx, flag: number, type: number, packets: ReadonlyArray<WireValue>): void => {
  const msg = sendMessage(ctx, flag, type, packets);
  if (typeof msg === 'string') ctx.out.push({ _tag: 'Emit', event: { _tag: 'Dropped', why: `send: ${msg}` } });
  else sendToAll(ctx, msg);
};

/**
 * Why `step` would refuse a user command at once, if it would: a `Send` (dropped with a `send:`
 * event) or a `Reply` (failed as Unencodable) whose packets cannot be sent. Undefined for every
 * other input. It reads no state, so a shell can refuse such a command when it is issued, before
 * the core sees it (the simulator does, for commands it queues).
 */
export const commandRefusal = (env: Env, input: Input): string | undefined => {
  const msg =
    input._tag === 'Send'
      ? sendMessage({ env, at: input.at }, input.flag, input.type, input.packets)
      : input._tag === 'Reply'
        ? replyMessage({ env, at: input.at }, input.packets)
        : undefined;
  return typeof msg === 'string' ? msg : undefined;
};

const onDisconnect = (ctx: Ctx, peer: NodeId): void => {
  const connId = ctx.st.routing.get(peer);
  const c = connId === undefined ? undefined : ctx.st.conns.get(connId);
  if (c !== undefined) closeConn(ctx, c, { _tag: 'UserDisconnect' }, true);
};

const onShutdown = (ctx: Ctx): void => {
  for (const c of [...ctx.st.conns.values()]) closeConn(ctx, c, { _tag: 'Shutdown' }, true);
  abandonReplies(ctx);
  ctx.st.seen.latest.clear();
  ctx.st.seen.queueKeys = [];
  ctx.st.seen.queueUntil = [];
  ctx.st.seen.head = 0;
  ctx.st.seen.base = 0;
  ctx.st.known.clear();
  ctx.st.closed = true;
};

/** After Shutdown only commands get an answer: each fails, so no command goes unanswered. */
const afterShutdown = (ctx: Ctx, input: Input): void => {
  const reason = { _tag: 'Shutdown' } as const;
  if (input._tag === 'Connect') {
    ctx.out.push({ _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd: input.cmd, error: { _tag: 'Closed', reason } } });
  } else if (input._tag === 'Reply') {
    ctx.out.push({ _tag: 'Emit', event: { _tag: 'ReplyFailed', cmd: input.cmd, to: input.to, reason: 'Unreachable' } });
  }
};

const onTick = (ctx: Ctx): void => {
  expireConns(ctx);
  expireReplies(ctx);
  purgeSeen(ctx);
};

/** Apply one input; returns the (same, mutated) state and the effects to execute in order. */
export const step = (env: Env, state: NodeState, input: Input): readonly [NodeState, ReadonlyArray<Effect>] => {
  const ctx: Ctx = { env, st: state, at: input.at, out: [] };
  readClock(state, input.at);
  if (state.closed) {
    afterShutdown(ctx, input);
    return [state, ctx.out];
  }
  switch (input._tag) {
    case 'BytesReceived':
      onBytes(ctx, input.conn, input.bytes);
      break;
    case 'ConnectionAccepted': {
      const a = onAccepted(ctx, input.conn, input.remote);
      if (a._tag === 'Ignored') break;
      sendHandshake(ctx, a.c);
      if (a._tag === 'Refused') {
        // A full node still tells the newcomer whom it knows, so the newcomer joins through
        // our peers instead of staying alone; nothing of the connection is kept.
        sendPeers(ctx, a.c);
        refuse(ctx, a.c, a.reason);
      }
      break;
    }
    case 'DialSucceeded': {
      const c = onDialSucceeded(ctx, input.conn);
      if (c !== undefined) sendHandshake(ctx, c);
      break;
    }
    case 'DialFailed':
      onDialFailed(ctx, input.conn, input.error);
      break;
    case 'ConnectionClosed':
      onClosed(ctx, input.conn, input.reason);
      break;
    case 'Tick':
      onTick(ctx);
      break;
    case 'Connect':
      onConnect(ctx, input.cmd, input.address, input.expectedId);
      break;
    case 'Send':
      onSend(ctx, input.flag, input.type, input.packets);
      break;
    case 'Reply':
      reply(ctx, input.cmd, input.to, input.packets);
      break;
    case 'Disconnect':
      onDisconnect(ctx, input.peer);
      break;
    case 'RequestPeers':
      requestPeers(ctx);
      break;
    case 'Shutdown':
      onShutdown(ctx);
      break;
  }
  if (!state.closed && (state.heal.dirty || input._tag === 'Tick')) maintain(ctx);
  return [state, ctx.out];
};

/** The earlier of two optional times. */
const earlier = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined || a <= b ? a : b;

/** When the node next needs a Tick, ms (undefined: not until some other input). */
export const nextWakeup = (state: NodeState): number | undefined =>
  state.closed ? undefined : earlier(earlier(connWakeup(state), replyWakeup(state)), earlier(seenWakeup(state), healWakeup(state)));

/** The routing table: one row per routed peer. */
export const routingTable = (
  state: NodeState,
): ReadonlyArray<{ id: NodeId; conn: ConnId; address: Address; outgoing: boolean }> => {
  const rows: { id: NodeId; conn: ConnId; address: Address; outgoing: boolean }[] = [];
  for (const [id, connId] of state.routing) {
    const c = state.conns.get(connId);
    if (c === undefined) continue;
    rows.push({ id, conn: connId, address: c.peerAddr ?? c.remote ?? { host: '', port: 0 }, outgoing: c.outgoing });
  }
  return rows;
};

/** Inbound connections waiting for the peer's handshake: what `awaitingMax` bounds. */
export const inboundAwaiting = (state: NodeState): number => {
  let n = 0;
  for (const c of state.conns.values()) if (c.phase === 'awaiting' && !c.outgoing) n++;
  return n;
};

/** Connections not yet handshaken (dialling or waiting for the peer's handshake). */
export const awaitingConnections = (state: NodeState): ReadonlyArray<{ conn: ConnId; remote?: Address; outgoing: boolean }> => {
  const rows: { conn: ConnId; remote?: Address; outgoing: boolean }[] = [];
  for (const c of state.conns.values()) {
    if (c.phase === 'ready') continue;
    rows.push(c.remote === undefined ? { conn: c.conn, outgoing: c.outgoing } : { conn: c.conn, remote: c.remote, outgoing: c.outgoing });
  }
  return rows;
};

/** Sizes of every bounded structure, and the counters. */
export interface NodeStatus {
  readonly closed: boolean;
  readonly connections: number;
  readonly dialing: number;
  readonly awaiting: number;
  readonly routed: number;
  readonly outgoing: number;
  readonly seen: number;
  readonly pendingReplies: number;
  /** Addresses in the redial book (at most `knownAddressesMax`). */
  readonly known: number;
  readonly framesReceived: number;
  readonly broadcastsRelayed: number;
  readonly duplicatesDropped: number;
  readonly staleDropped: number;
  readonly futureDropped: number;
  /** Ids the `seenMax` bound forgot before their time (a late copy could then be taken as new). */
  readonly seenForgottenEarly: number;
  readonly badBroadcastsDropped: number;
  readonly delivered: number;
  readonly repliesSent: number;
  readonly repliesFailed: number;
  readonly closedByReason: Readonly<Record<string, number>>;
}

/** Sizes and counters, for the facade's status and the simulator's invariants. */
export const nodeStatus = (state: NodeState): NodeStatus => {
  let dialing = 0;
  let awaiting = 0;
  let outgoing = 0;
  for (const c of state.conns.values()) {
    if (c.phase === 'dialing') dialing++;
    if (c.phase === 'awaiting') awaiting++;
    if (c.outgoing) outgoing++;
  }
  return {
    closed: state.closed,
    connections: state.conns.size,
    dialing,
    awaiting,
    routed: state.routing.size,
    outgoing,
    seen: seenSize(state),
    pendingReplies: state.pendingCount,
    known: state.known.size,
    ...state.counters,
    closedByReason: { ...state.counters.closedByReason },
  };
};

/** The seeds' rule: a delivered message is queued for `recv` when its sub-flag is 0x00 or 0x02. */
export const isQueuedForUser = (m: DeliveredMessage): boolean =>
  m.packets[0] === subFlags.broadcast || m.packets[0] === subFlags.whisper;
