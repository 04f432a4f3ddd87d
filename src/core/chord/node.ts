/**
 * The chord node's root reducer: `chordStep(env, state, input) → [state, effects]`, a mesh node
 * composed with the chord concerns (§5).
 *
 * Composition, not inheritance: every transport fact and mesh command goes to the mesh `step` on
 * `state.mesh`; of what the mesh emits, `Deliver`s that carry chord messages (meta, notify,
 * store, retrieve, retrieved, delta) are claimed and handled here, so the user never sees them,
 * and `PeerJoined` / `PeerLeft` / rejections also update chord's view of the ring (they still
 * reach the user). Chord commands (ChordGet/Set/ApplyDelta/Join/Unjoin) never reach the mesh.
 * Inputs: every `Input`. Effects: every `Effect`, mesh effects first in their order, chord's
 * reactions right after the effect that caused them.
 * Invariants: `chordStep` never throws on any input; each chord command gets exactly one
 * ChordResult or ChordFailed (after Shutdown: ChordFailed Shutdown); a bad chord message closes
 * only its own connection.
 * Linear state, like the mesh: `chordStep` mutates the state it is given and returns it.
 * Deliberately not: user handlers, promises (the ChordSocket facade), hashing (capabilities).
 */
import * as E from 'fp-ts/lib/Either.js';
import { msgTypes } from '../flags.js';
import { initNode, nextWakeup, nodeStatus, step, type NodeStatus } from '../node.js';
import type { ConnId, DeliveredMessage, Effect, Input, NodeId } from '../types.js';
import { classifyPayload } from '../wire/messages.js';
import { copyValue, type WireValue } from '../wire/value.js';
import type { ChordConfig } from './config.js';
import { endHandoff, handingOver, onDrained } from './handoff.js';
import { abandonWrites, writesDrained, writesGone } from './writes.js';
import { learn, onAccepted, onJoin, onMembershipTick, onMeta, onPeerJoined, onPeerLeft, onRejected, onUnjoin } from './membership.js';
import {
  abandonRequests,
  expireRequests,
  onApplyDelta,
  onConnsGone,
  onDelta,
  onGet,
  onNotify,
  onRetrieve,
  onRetrieved,
  onSet,
  onStore,
} from './requests.js';
import { nodePosition, type TableName } from './ring.js';
import { bytesHeld, emptyStore, items, size } from './store.js';
import { readClock } from '../mesh/state.js';
import { fail } from './send.js';
import type { ChordCtx, ChordEnv, ChordState } from './state.js';
import { TABLES } from './ring.js';

export type { ChordEnv, ChordState } from './state.js';

/** A fresh chord node: leeching, no peers, empty tables. */
export const initChord = (env: ChordEnv, at: number): ChordState => {
  const mesh = initNode(env, at);
  mesh.peersHeard = [];
  return {
    mesh,
    position: E.getOrElse(() => 0n)(nodePosition(env.config.id)),
    joined: false,
    peers: new Map(),
    ringView: undefined,
    store: emptyStore(env.chord.storeEntriesMax, env.chord.storeBytesMax),
    keys: new Map(),
    keyBytes: 0,
    gets: new Map(),
    waiting: new Map(),
    relays: 0,
    checkAt: undefined,
    directory: new Map(),
    handoffs: new Map(),
    drainTokens: 0,
    writes: new Map(),
    writesByConn: new Map(),
    repickAt: undefined,
    refreshAt: at + env.chord.refreshMs,
    counters: { storesHandled: 0, storesForwarded: 0, retrievesAnswered: 0, retrievesForwarded: 0, migrated: 0, badRequests: 0 },
  };
};

/** A chord message the mesh delivered: handled here (true) or left for the user (false). */
const claim = (ctx: ChordCtx, m: DeliveredMessage): boolean => {
  const w = classifyPayload(m.msgType, m.packets);
  if (E.isLeft(w)) return false;
  const msg = w.right;
  const whisper = m.msgType === msgTypes.whisper;
  switch (msg._tag) {
    case 'ChordNotify':
      onNotify(ctx, msg);
      return true;
    case 'ChordMeta':
    case 'ChordStore':
    case 'ChordRetrieve':
    case 'ChordRetrieved':
    case 'ChordDelta':
      if (!whisper) {
        ctx.out.push({ _tag: 'Emit', event: { _tag: 'Dropped', conn: m.conn, why: `${msg._tag} broadcast: chord messages are whispers` } });
        return true;
      }
      if (msg._tag === 'ChordMeta') onMeta(ctx, m.conn, msg.leeching);
      else if (msg._tag === 'ChordStore') onStore(ctx, m.conn, msg);
      else if (msg._tag === 'ChordRetrieve') onRetrieve(ctx, m.conn, msg);
      else if (msg._tag === 'ChordRetrieved') onRetrieved(ctx, m.conn, msg);
      else onDelta(ctx, m.conn, msg);
      return true;
    default:
      return false;
  }
};

/** Pass the mesh's effects on, handling the ones chord claims or reacts to; the connections that closed. */
const absorb = (ctx: ChordCtx, effects: ReadonlyArray<Effect>): ConnId[] => {
  const gone: ConnId[] = [];
  for (const e of effects) {
    if (e._tag === 'Deliver') {
      if (!claim(ctx, e.message)) ctx.out.push(e);
      continue;
    }
    ctx.out.push(e);
    if (e._tag === 'Close') gone.push(e.conn);
    if (e._tag !== 'Emit') continue;
    const ev = e.event;
    if (ev._tag === 'PeerJoined') onPeerJoined(ctx, ev.peer, ev.conn, ev.address, ev.outgoing);
    else if (ev._tag === 'PeerLeft') {
      gone.push(ev.conn);
      onPeerLeft(ctx, ev.peer);
    }
  }
  return gone;
};

/** Connections that closed: their hand-offs end, and what was asked on them is asked again. */
const connsGone = (ctx: ChordCtx, gone: ReadonlyArray<ConnId>): void => {
  if (gone.length === 0) return;
  for (const conn of gone) endHandoff(ctx, conn);
  writesGone(ctx, gone);
  onConnsGone(ctx, gone);
};

/** The mesh's peers lists of this step, into the directory. */
const drainHeard = (ctx: ChordCtx): void => {
  const heard = ctx.st.mesh.peersHeard;
  if (heard === undefined || heard.length === 0) return;
  ctx.st.mesh.peersHeard = [];
  for (const entry of heard) learn(ctx, entry.id, entry.address);
};

const chordCommand = (ctx: ChordCtx, input: Input): boolean => {
  const closed = ctx.st.mesh.closed;
  switch (input._tag) {
    case 'ChordGet':
      if (closed) fail(ctx, input.cmd, { _tag: 'Shutdown' });
      else onGet(ctx, input.cmd, input.key, input.timeoutMs);
      return true;
    case 'ChordSet':
      if (closed) fail(ctx, input.cmd, { _tag: 'Shutdown' });
      else onSet(ctx, input.cmd, input.key, input.value);
      return true;
    case 'ChordApplyDelta':
      if (closed) fail(ctx, input.cmd, { _tag: 'Shutdown' });
      else onApplyDelta(ctx, input.cmd, input.key, input.delta);
      return true;
    case 'ChordJoin':
      if (closed) fail(ctx, input.cmd, { _tag: 'Shutdown' });
      else onJoin(ctx, input.cmd);
      return true;
    case 'ChordUnjoin':
      if (closed) fail(ctx, input.cmd, { _tag: 'Shutdown' });
      else onUnjoin(ctx, input.cmd);
      return true;
    default:
      return false;
  }
};

/** Apply one input; returns the (same, mutated) state and the effects to execute in order. */
export const chordStep = (env: ChordEnv, state: ChordState, input: Input): readonly [ChordState, ReadonlyArray<Effect>] => {
  const out: Effect[] = [];
  const ctx: ChordCtx = { env, st: state, at: input.at, out, mesh: { env, st: state.mesh, at: input.at, out }, answers: undefined };
  // A chord command never reaches the mesh step, which reads the clock for everything else.
  readClock(state.mesh, input.at);
  if (chordCommand(ctx, input)) return [state, out];
  const wasOpen = !state.mesh.closed;
  const before = 'conn' in input ? state.mesh.conns.get(input.conn) : undefined;
  const [, effects] = step(env, state.mesh, input);
  const gone = absorb(ctx, effects);
  if (state.mesh.closed) {
    if (wasOpen) {
      abandonRequests(ctx);
      abandonWrites(ctx);
    }
    return [state, out];
  }
  if (input._tag === 'ConnectionClosed') gone.push(input.conn);
  connsGone(ctx, gone);
  if (input._tag === 'ConnectionAccepted') onAccepted(ctx, input.conn);
  if (input._tag === 'Drained') {
    writesDrained(ctx, input.conn, input.token);
    onDrained(ctx, input.conn, input.token);
  }
  if (before !== undefined && before.phase !== 'ready' && before.outgoing && !state.mesh.conns.has(before.conn)) {
    onRejected(ctx, before.expectedId);
  }
  if (input._tag === 'Tick') {
    expireRequests(ctx);
    onMembershipTick(ctx);
  }
  drainHeard(ctx);
  return [state, out];
};

const earlier = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || (b !== undefined && b < a) ? b : a;

/** When the node next needs a Tick, ms. */
export const nextChordWakeup = (state: ChordState): number | undefined => {
  if (state.mesh.closed) return undefined;
  const t = earlier(earlier(nextWakeup(state.mesh), state.checkAt), state.repickAt);
  return t === undefined || state.refreshAt < t ? state.refreshAt : t;
};

/** Sizes and counters of a chord node: the mesh's, plus chord's own. */
export interface ChordStatus extends NodeStatus {
  readonly joined: boolean;
  readonly storingPeers: number;
  readonly entries: Readonly<Record<TableName, number>>;
  /** The bytes the values the five tables hold count as (their footprints; bounded by `storeBytesMax`). */
  readonly storeBytes: number;
  readonly keys: number;
  /** The bytes of the keys remembered from notify (bounded by `notifyKeyBytesMax`). */
  readonly keyBytes: number;
  readonly pendingGets: number;
  readonly forwardedRetrieves: number;
  readonly directory: number;
  /** Peers a hand-over of stored items is still going to (handoff.ts). */
  readonly handingOver: number;
  readonly chord: ChordState['counters'];
}

/** Sizes and counters, for the facade's status and the simulator. */
export const chordStatus = (state: ChordState): ChordStatus => {
  let storing = 0;
  for (const p of state.peers.values()) if (p.storing) storing++;
  const entries = Object.fromEntries(TABLES.map((t) => [t, size(state.store, t)])) as Record<TableName, number>;
  return {
    ...nodeStatus(state.mesh),
    joined: state.joined,
    storingPeers: storing,
    entries,
    storeBytes: bytesHeld(state.store),
    keys: state.keys.size,
    keyBytes: state.keyBytes,
    pendingGets: state.gets.size,
    forwardedRetrieves: state.relays,
    directory: state.directory.size,
    handingOver: handingOver(state),
    chord: { ...state.counters },
  };
};

/** The keys this node has heard of (notify), as their owners gave them. */
export const chordKeys = (state: ChordState): ReadonlyArray<Uint8Array | string> => [...state.keys.values()];

/** Every (table, key58, value) held locally (the seeds' `dump_data` of everything). */
export const chordItems = (state: ChordState): ReadonlyArray<{ table: TableName; key58: string; value: WireValue }> =>
  items(state.store).map((it) => ({ ...it, value: copyValue(it.value) }));

/** Whether this node stores data. */
export const isJoined = (state: ChordState): boolean => state.joined;

/** Peers that store, by id. */
export const storingPeerIds = (state: ChordState): ReadonlyArray<NodeId> =>
  [...state.peers].filter(([, p]) => p.storing).map(([id]) => id);

/** Build a chord environment from a mesh environment and chord bounds. */
export const chordEnv = (env: { readonly config: ChordEnv['config']; readonly caps: ChordEnv['caps'] }, chord: ChordConfig): ChordEnv => ({
  ...env,
  chord,
});
