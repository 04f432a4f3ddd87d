/**
 * Chord requests: the store/retrieve/retrieved/delta/notify messages peers send us, and the user
 * commands get, set and apply-delta (§5, §5.1).
 *
 * Inputs: classified chord messages with the connection they came on; ChordGet/ChordSet/
 * ChordApplyDelta commands; the clock (expiring gets and forwarded retrieves).
 * Effects: `Write` (whispers hop by hop towards the owner, answers back along the path; notify
 * broadcasts), `Close` (a malformed table or key58 closes that connection with BadMessage),
 * `Emit` ChordResult / ChordFailed, `Dropped` for what is ignored.
 * Invariants:
 * - each hop re-runs `find` (routing.ts), so a request moves strictly closer to its owner;
 * - a forwarding hop answers its requester at most once, with the owner's answer (none when it
 *   does not come within `forwardTimeoutMs`: the requester's own deadline settles that), and
 *   echoes the table and key58 exactly as it received them (no premature nil answer: a ts2p or
 *   seed requester treats the real answer alike, and one answer per request keeps the vote honest);
 * - a get ends exactly once: with the value ≥ `voteQuorum` tables agree on, NotFound (≥
 *   `voteQuorum` tables answered nil), NoQuorum (neither can happen any more), or Timeout at its
 *   deadline; every command gets exactly one event. With the default majority quorum the outcome
 *   does not depend on the order the answers arrive in (`decideGet`);
 * - an answer (retrieved) counts only when it comes on a connection a retrieve of its (table,
 *   key58) went out on: a peer that was not asked cannot fill the tables of a get (seeds and ts2p
 *   hops answer on the connection they were asked on);
 * - a delta (a peer's or the user's) never grows a stored map past what one retrieved answer can
 *   carry: such a merge is refused (`TooLarge`), so an entry stays bounded and answerable;
 * - the key set holds at most `notifyKeysMax` keys of `notifyKeyBytesMax` bytes together: a key
 *   past either is not remembered, and a deleted key frees its room.
 * Deliberately not: meta, joining, leaving, whom to connect (membership.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import { msgTypes } from '../flags.js';
import { keyText, utf8Bytes } from '../ids.js';
import { sendToAll } from '../mesh/waterfall.js';
import type { CommandId, ConnId, NodeId } from '../types.js';
import { VALUE_OVERHEAD_BYTES } from '../wire/footprint.js';
import type { WireMessageOf } from '../wire/messages.js';
import {
  chordDeltaPayload,
  chordNotifyPayload,
  chordRetrievePayload,
  chordStorePayload,
} from '../wire/messages.js';
import { nonWireValue } from '../wire/msgpack.js';
import { copyValue, type WireValue } from '../wire/value.js';
import { isTableName, keyPositionsOf, key58Of, parseKey58, TABLES, type TableName } from './ring.js';
import { answerConn, chordMessage, closeForBadInput, encodable, fail, retrievedFits, routeFrom, storingPeers, succeed, wakeAt, whisperPeer } from './send.js';
import { slotKey, type ChordCtx, type PendingGet, type Target, type UserKey, type WaitSlot, type Waiter } from './state.js';
import * as S from './store.js';
import { expireWrites, writeSent } from './writes.js';
import { answered, awaiting, decideGet } from './vote.js';

/** A chord message naming a table and a key58. */
type Addressed = WireMessageOf<'ChordStore' | 'ChordRetrieve' | 'ChordRetrieved' | 'ChordDelta'>;



/** The table and key58 of a peer's message, or the connection is closed and undefined returned. */
const targetOf = (ctx: ChordCtx, conn: ConnId, m: Addressed): Target | undefined => {
  if (!isTableName(m.table)) {
    closeForBadInput(ctx, conn, { _tag: 'BadMessage', detail: `${m._tag}: unknown table ${JSON.stringify(m.table.slice(0, 16))}` });
    return undefined;
  }
  const p = parseKey58(m.key);
  if (E.isLeft(p)) {
    closeForBadInput(ctx, conn, { _tag: 'BadMessage', detail: `${m._tag}: bad key58 (${p.left._tag})` });
    return undefined;
  }
  return { table: m.table, key58: p.right.key58, position: p.right.position };
};

/** Write into the local tables, reporting a refusal as a drop. */
const storeLocal = (ctx: ChordCtx, t: Target, value: WireValue): boolean => {
  const r = S.store(ctx.st.store, t.table, t.key58, value);
  if (E.isLeft(r)) {
    ctx.out.push({ _tag: 'Emit', event: { _tag: 'Dropped', why: `chord store refused: ${r.left._tag}` } });
    return false;
  }
  ctx.st.counters.storesHandled++;
  return true;
};

/** A store arrived: keep it if we own the key (or nobody stores), else pass it one hop on. */
export const onStore = (ctx: ChordCtx, conn: ConnId, m: WireMessageOf<'ChordStore'>): void => {
  const t = targetOf(ctx, conn, m);
  if (t === undefined) return;
  const r = routeFrom(ctx, t.position);
  if (r._tag === 'Forward') {
    ctx.st.counters.storesForwarded++;
    whisperPeer(ctx, r.peer.id, chordStorePayload(t.table, t.key58, m.value));
  } else storeLocal(ctx, t, m.value);
};

/** Whether a retrieve of `t` could be answered with a merged map of these measures in one frame (a merged map may outgrow it). */
const answerable =
  (ctx: ChordCtx, t: Target) =>
  (merged: S.MapMeasure): boolean =>
    retrievedFits(ctx, t.table, t.key58, merged);

/** A delta arrived: merge it if we own the key, else pass it on. */
export const onDelta = (ctx: ChordCtx, conn: ConnId, m: WireMessageOf<'ChordDelta'>): void => {
  const t = targetOf(ctx, conn, m);
  if (t === undefined) return;
  const r = routeFrom(ctx, t.position);
  if (r._tag === 'Forward') {
    whisperPeer(ctx, r.peer.id, chordDeltaPayload(t.table, t.key58, m.delta));
    return;
  }
  const merged = S.applyDelta(ctx.st.store, t.table, t.key58, m.delta, answerable(ctx, t));
  if (E.isLeft(merged)) ctx.out.push({ _tag: 'Emit', event: { _tag: 'Dropped', conn, why: `chord delta refused: ${merged.left._tag}` } });
};

const localValue = (ctx: ChordCtx, t: Target): WireValue => O.getOrElse((): WireValue => null)(S.retrieve(ctx.st.store, t.table, t.key58));

/** Register a waiter for (table, key58); true when the slot is new (nobody asked yet). */
const addWaiter = (ctx: ChordCtx, t: Target, w: Waiter): boolean => {
  const key = slotKey(t.table, t.key58);
  const slot = ctx.st.waiting.get(key);
  const deadlineAt = ctx.at + ctx.env.chord.forwardTimeoutMs;
  if (w._tag === 'Relay') ctx.st.relays++;
  wakeAt(ctx, deadlineAt);
  if (slot !== undefined) {
    slot.waiters.push(w);
    slot.deadlineAt = Math.max(slot.deadlineAt, deadlineAt);
    return false;
  }
  ctx.st.waiting.set(key, { target: t, waiters: [w], deadlineAt, asked: [] });
  return true;
};

/** Send `peer` a retrieve of `t`, whose slot then takes an answer on that connection. */
const ask = (ctx: ChordCtx, t: Target, peer: NodeId): void => {
  const connId = whisperPeer(ctx, peer, chordRetrievePayload(t.table, t.key58));
  if (connId === undefined) return;
  const slot = ctx.st.waiting.get(slotKey(t.table, t.key58));
  if (slot !== undefined && !slot.asked.includes(connId)) slot.asked.push(connId);
};

/** A retrieve arrived: answer it if we own the key, else forward it and answer when the owner does. */
export const onRetrieve = (ctx: ChordCtx, conn: ConnId, m: WireMessageOf<'ChordRetrieve'>): void => {
  const t = targetOf(ctx, conn, m);
  if (t === undefined) return;
  const r = routeFrom(ctx, t.position);
  if (r._tag === 'Forward' && ctx.st.relays < ctx.env.chord.forwardsMax) {
    ctx.st.counters.retrievesForwarded++;
    if (addWaiter(ctx, t, { _tag: 'Relay', conn, table: m.tableRaw, key58: m.keyRaw })) ask(ctx, t, r.peer.id);
    return;
  }
  ctx.st.counters.retrievesAnswered++;
  answerConn(ctx, conn, m.tableRaw, m.keyRaw, r._tag === 'Forward' ? null : localValue(ctx, t));
};

/** An answer arrived: hand it to every local get and every peer waiting for it, if it came from a peer asked. */
export const onRetrieved = (ctx: ChordCtx, conn: ConnId, m: WireMessageOf<'ChordRetrieved'>): void => {
  const t = targetOf(ctx, conn, m);
  if (t === undefined) return;
  const key = slotKey(t.table, t.key58);
  const slot = ctx.st.waiting.get(key);
  if (slot === undefined) return;
  // Any peer can send a retrieved; one that was not asked must not fill the answers of those
  // asked (it could fill all five tables of a get and decide its vote).
  if (!slot.asked.includes(conn)) {
    ctx.out.push({ _tag: 'Emit', event: { _tag: 'Dropped', conn, why: 'chord retrieved on a connection that was not asked' } });
    return;
  }
  settleSlot(ctx, key, slot, m.value);
};

/** Hand an answer to every local get and every peer waiting in a slot, and forget the slot. */
const settleSlot = (ctx: ChordCtx, key: string, slot: WaitSlot, value: WireValue): void => {
  ctx.st.waiting.delete(key);
  for (const w of slot.waiters) {
    if (w._tag === 'Relay') {
      ctx.st.relays--;
      answerConn(ctx, w.conn, w.table, w.key58, value);
    } else {
      const g = ctx.st.gets.get(w.cmd);
      if (g === undefined) continue;
      g.answers[w.index] = answered(value);
      settleGet(ctx, g, false);
    }
  }
};

/**
 * Connections that closed: a retrieve asked on one of them can no longer be answered there. A
 * wait slot left with no connection asked is asked again where the key routes now (answered
 * from here when we own it now), instead of waiting out its deadline for an answer that cannot
 * come.
 */
export const onConnsGone = (ctx: ChordCtx, gone: ReadonlyArray<ConnId>): void => {
  const orphans: string[] = [];
  for (const [key, slot] of ctx.st.waiting) {
    const before = slot.asked.length;
    for (let i = slot.asked.length - 1; i >= 0; i--) if (gone.includes(slot.asked[i]!)) slot.asked.splice(i, 1);
    if (before > 0 && slot.asked.length === 0) orphans.push(key);
  }
  for (const key of orphans) {
    const slot = ctx.st.waiting.get(key);
    if (slot === undefined) continue;
    const t = slot.target;
    const r = routeFrom(ctx, t.position);
    if (r._tag === 'Forward') ask(ctx, t, r.peer.id);
    else if (r._tag === 'Local') settleSlot(ctx, key, slot, localValue(ctx, t));
  }
};

/** A notify arrived: the key set learns of a key, or forgets it. */
export const onNotify = (ctx: ChordCtx, m: WireMessageOf<'ChordNotify'>): void => {
  if (m.deleted) forgetKey(ctx, m.key);
  else rememberKey(ctx, m.key, m.keyRaw);
};

/** Decide a get if its answers allow; at its deadline (`final`), decide with what arrived. */
export const settleGet = (ctx: ChordCtx, g: PendingGet, final: boolean): void => {
  const quorum = ctx.env.chord.voteQuorum;
  const answers = final ? g.answers.map((a) => (a._tag === 'Awaiting' ? answered(null) : a)) : g.answers;
  const d = decideGet(answers, quorum);
  if (d._tag === 'Pending') return;
  ctx.st.gets.delete(g.cmd);
  if (d._tag === 'Value') return succeed(ctx, g.cmd, d.value);
  if (final && g.answers.some((a) => a._tag === 'Awaiting')) {
    return fail(ctx, g.cmd, { _tag: 'Timeout', afterMs: ctx.at - g.startedAt, bestVotes: d.bestVotes });
  }
  fail(ctx, g.cmd, d._tag === 'NotFound' ? { _tag: 'NotFound' } : { _tag: 'NoQuorum', bestVotes: d.bestVotes, quorum });
};

/** The get command: ask the owner of each of the five positions, then vote. */
export const onGet = (ctx: ChordCtx, cmd: CommandId, key: UserKey, timeoutMs: number | undefined): void => {
  if (ctx.st.gets.size >= ctx.env.chord.getsMax) return fail(ctx, cmd, { _tag: 'Busy', limit: ctx.env.chord.getsMax });
  if (!ctx.st.joined && storingPeers(ctx).length === 0) return fail(ctx, cmd, { _tag: 'NotJoined' });
  const positions = keyPositionsOf(ctx.env.caps, key);
  const keys58 = TABLES.map((t) => key58Of(positions[t]));
  const g: PendingGet = {
    cmd,
    keys58,
    answers: TABLES.map(() => awaiting),
    startedAt: ctx.at,
    deadlineAt: ctx.at + (timeoutMs ?? ctx.env.chord.getTimeoutMs),
  };
  ctx.st.gets.set(cmd, g);
  wakeAt(ctx, g.deadlineAt);
  TABLES.forEach((table, index) => {
    const key58 = keys58[index] ?? '';
    const position = positions[table];
    const t: Target = { table, key58, position };
    const r = routeFrom(ctx, position);
    if (r._tag !== 'Forward') {
      // The user may be handed this value: a copy, so that what they do with it stays theirs.
      g.answers[index] = answered(copyValue(localValue(ctx, t)));
      return;
    }
    addWaiter(ctx, t, { _tag: 'Get', cmd, index });
    ask(ctx, t, r.peer.id);
  });
  settleGet(ctx, g, false);
};

/**
 * Send one per-table payload to each table's owner, or apply it here: whether every local write
 * took, and the connections the payloads went out on (with their peers).
 */
const toOwners = (
  ctx: ChordCtx,
  key: UserKey,
  payload: (table: TableName, key58: string) => ReadonlyArray<WireValue>,
  local: (t: Target) => boolean,
): { readonly ok: boolean; readonly sent: Map<ConnId, NodeId> } => {
  const positions = keyPositionsOf(ctx.env.caps, key);
  let ok = true;
  const sent = new Map<ConnId, NodeId>();
  for (const table of TABLES) {
    const position = positions[table];
    const key58 = key58Of(position);
    const r = routeFrom(ctx, position);
    if (r._tag === 'Forward') {
      const conn = whisperPeer(ctx, r.peer.id, payload(table, key58));
      if (conn !== undefined) sent.set(conn, r.peer.id);
    } else ok = local({ table, key58, position }) && ok;
  }
  return { ok, sent };
};

/** What a key in the key set counts as: its bytes (the latin1 text's length) and the per-value overhead. */
const keyCost = (text: string): number => text.length + VALUE_OVERHEAD_BYTES;

/**
 * Add a key (canonical text, and as given) to the key set, unless that would pass `notifyKeysMax`
 * keys or `notifyKeyBytesMax` bytes (`keyCost`); a key already there is kept, as given this time.
 */
const rememberKey = (ctx: ChordCtx, text: string, key: UserKey): void => {
  const { keys } = ctx.st;
  if (!keys.has(text)) {
    const { notifyKeysMax, notifyKeyBytesMax } = ctx.env.chord;
    if (keys.size >= notifyKeysMax || ctx.st.keyBytes + keyCost(text) > notifyKeyBytesMax) return;
    ctx.st.keyBytes += keyCost(text);
  }
  keys.set(text, key);
};

/** Drop a key from the key set, freeing its bytes. */
const forgetKey = (ctx: ChordCtx, text: string): void => {
  if (ctx.st.keys.delete(text)) ctx.st.keyBytes -= keyCost(text);
};

/** Tell every node that a key appeared or went (notify broadcast, key bytes as bin). */
const notify = (ctx: ChordCtx, key: UserKey, deleted: boolean): void => {
  const bytes = typeof key === 'string' ? utf8Bytes(key) : key;
  const text = keyText(key);
  if (deleted) forgetKey(ctx, text);
  else rememberKey(ctx, text, key);
  if (ctx.env.chord.announceKeys === 0) return;
  sendToAll(ctx.mesh, chordMessage(ctx, msgTypes.broadcast, chordNotifyPayload(bytes, deleted)));
};

/** The set command (a null value deletes): all five tables, then the notify. */
export const onSet = (ctx: ChordCtx, cmd: CommandId, key: UserKey, value: WireValue): void => {
  if (!ctx.st.joined && storingPeers(ctx).length === 0) return fail(ctx, cmd, { _tag: 'NotJoined' });
  const bad = encodable(ctx, chordStorePayload('sha1', '1', value));
  if (bad !== undefined) return fail(ctx, cmd, { _tag: 'BadValue', detail: nonWireValue(value, 'the value', 1) ?? bad });
  // What the local tables keep is a copy: the user's later changes to their value must not reach it.
  let kept: WireValue | undefined;
  const { ok, sent } = toOwners(ctx, key, (table, key58) => chordStorePayload(table, key58, value), (t) => storeLocal(ctx, t, (kept ??= copyValue(value))));
  const known = ctx.st.keys.has(keyText(key));
  if (value !== null && !known) notify(ctx, key, false);
  else if (value === null && known) notify(ctx, key, true);
  // Done once the stores have left (writes.ts).
  if (ok) writeSent(ctx, cmd, sent);
  else fail(ctx, cmd, { _tag: 'BadValue', detail: 'a local table refused the value (full)' });
};

/** The apply-delta command: merge `delta` into the map under `key` in all five tables. */
export const onApplyDelta = (ctx: ChordCtx, cmd: CommandId, key: UserKey, delta: ReadonlyMap<WireValue, WireValue>): void => {
  if (!ctx.st.joined && storingPeers(ctx).length === 0) return fail(ctx, cmd, { _tag: 'NotJoined' });
  const bad = encodable(ctx, chordDeltaPayload('sha1', '1', delta));
  if (bad !== undefined) return fail(ctx, cmd, { _tag: 'BadValue', detail: nonWireValue(delta, 'the delta', 1) ?? bad });
  // The local maps take the delta's keys and values: a copy, as for a set.
  let kept: ReadonlyMap<WireValue, WireValue> | undefined;
  let tooLarge = false;
  let full = false;
  const { ok, sent } = toOwners(
    ctx,
    key,
    (table, key58) => chordDeltaPayload(table, key58, delta),
    (t) => {
      const r = S.applyDelta(ctx.st.store, t.table, t.key58, (kept ??= copyValue(delta)), answerable(ctx, t));
      if (E.isLeft(r) && r.left._tag === 'TooLarge') tooLarge = true;
      if (E.isLeft(r) && (r.left._tag === 'TableFull' || r.left._tag === 'StoreFull')) full = true;
      return E.isRight(r);
    },
  );
  if (!ctx.st.keys.has(keyText(key))) notify(ctx, key, false);
  if (ok) writeSent(ctx, cmd, sent);
  else {
    const detail = tooLarge ? 'the merged map would not fit in one frame' : full ? 'a local table refused the value (full)' : 'the stored value is not a map';
    fail(ctx, cmd, { _tag: 'BadValue', detail });
  }
};


/** Gets past their deadline decide now; forwarded retrieves nobody answered are forgotten; writes not drained in time fail. */
export const expireRequests = (ctx: ChordCtx): void => {
  if (ctx.st.checkAt === undefined || ctx.at < ctx.st.checkAt) return;
  ctx.st.checkAt = undefined;
  for (const g of [...ctx.st.gets.values()]) if (g.deadlineAt <= ctx.at) settleGet(ctx, g, true);
  for (const [key, slot] of ctx.st.waiting) {
    if (slot.deadlineAt > ctx.at) continue;
    ctx.st.waiting.delete(key);
    for (const w of slot.waiters) if (w._tag === 'Relay') ctx.st.relays--;
  }
  for (const g of ctx.st.gets.values()) wakeAt(ctx, g.deadlineAt);
  for (const s of ctx.st.waiting.values()) wakeAt(ctx, s.deadlineAt);
  const write = expireWrites(ctx);
  if (write !== undefined) wakeAt(ctx, write);
};

/** Every command still waiting fails (the node is shutting down). */
export const abandonRequests = (ctx: ChordCtx): void => {
  for (const g of ctx.st.gets.values()) fail(ctx, g.cmd, { _tag: 'Shutdown' });
  ctx.st.gets.clear();
  ctx.st.waiting.clear();
  ctx.st.relays = 0;
};
