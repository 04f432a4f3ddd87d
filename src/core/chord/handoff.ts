/**
 * Handing stored items over to the peers that now own them: on migration (a peer started storing
 * and owns part of what we hold) and on unjoin (everything we hold goes to the ring).
 *
 * The items are not written all at once: a node holding more than a peer's send queue takes would
 * have the peer dropped as slow part way, and the items written after that would be lost with
 * their local copies. Instead each connection gets its items in batches of about
 * `handoffBatchBytes` (at most that, and one item more): a batch is written, then `AwaitDrain`;
 * when the shell answers `Drained` (the batch has left), the local copies of that batch are
 * removed and the next batch goes. Items are not listed up front: each peer's stretch of the ring
 * (`RingStretch`) is walked as batches go (migration: what the new peer owns; unjoin: each storing
 * peer what it owns). An
 * item is re-checked when its batch is made and when it has drained: it is sent only while it
 * still routes to that peer, and its local copy is removed only if it is still the value sent and
 * still routes there. A connection that closes first ends its hand-off with the local copies kept
 * (they are handed over again when an owner next appears).
 *
 * Inputs: stretches to hand over, `Drained`, peers leaving. Effects: `Write` (store messages),
 * `AwaitDrain`.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as O from 'fp-ts/lib/Option.js';
import type { ConnId, NodeId } from '../types.js';
import { chordStorePayload } from '../wire/messages.js';
import type { WireValue } from '../wire/value.js';
import { nodePosition, TABLES, type TableName } from './ring.js';
import { routeFrom, whisperConn } from './send.js';
import type { ChordCtx, ChordState } from './state.js';
import * as S from './store.js';
import { awaitDrain } from './writes.js';

/** Bytes of store messages written to one connection before waiting for them to leave, by default (`handoffBatchBytes`). */
export const HANDOFF_BATCH_BYTES = 1024 * 1024;

/** One item sent and not yet known to have left. */
interface Sent {
  readonly table: TableName;
  readonly key58: string;
  readonly value: WireValue;
}

/**
 * A stretch of the ring whose items go to the peer (what it owns: from its position clockwise up to
 * the next storing node), walked table by table in ring order as batches go: where the walk is (`table`, and
 * the last slot taken, `after`). It is not listed up front, so a peer that turns storing again and
 * again costs no walk over the tables each time.
 */
interface RingStretch {
  readonly from: bigint;
  readonly to: bigint;
  table: number;
  after: S.RingSlot | undefined;
}

/** The items going to one peer over one connection. */
export interface Handoff {
  readonly peer: NodeId;
  /** The stretch of the ring still to walk, if any. */
  stretch: RingStretch | undefined;
  /** The batch written and waiting for `Drained`, and the token of its `AwaitDrain`. */
  sent: Sent[];
  sentToken: number;
}

/** Whether (table, key58) routes to `peer` now. */
const routesTo = (ctx: ChordCtx, key58: string, peer: NodeId): boolean => {
  const p = nodePosition(key58);
  if (E.isLeft(p)) return false;
  const r = routeFrom(ctx, p.right);
  return r._tag === 'Forward' && r.peer.id === peer;
};

/** The hand-off to `peer` on its routed connection (made if new), or undefined when it is not routed. */
const handoffTo = (ctx: ChordCtx, peer: NodeId): Handoff | undefined => {
  const conn = ctx.st.mesh.routing.get(peer);
  if (conn === undefined) return undefined;
  let h = ctx.st.handoffs.get(conn);
  if (h === undefined || h.peer !== peer) {
    h = { peer, stretch: undefined, sent: [], sentToken: 0 };
    ctx.st.handoffs.set(conn, h);
  }
  return h;
};

/**
 * Hand `peer` what it owns of the ring from `from` clockwise up to `to` (the whole ring when they
 * are equal); sent by `pumpHandoffs`. A walk of the same stretch already under way goes on where
 * it is; another stretch (the ring changed) starts a new walk.
 */
export const handOverStretch = (ctx: ChordCtx, peer: NodeId, from: bigint, to: bigint): void => {
  const h = handoffTo(ctx, peer);
  if (h === undefined || (h.stretch !== undefined && h.stretch.from === from && h.stretch.to === to)) return;
  h.stretch = { from, to, table: 0, after: undefined };
};

/** Write the next batch on every connection with items and none in flight. */
export const pumpHandoffs = (ctx: ChordCtx): void => {
  for (const conn of ctx.st.handoffs.keys()) pump(ctx, conn);
};

/** Write the next batch to `conn` unless one is in flight; forget the hand-off once all is sent. */
const pump = (ctx: ChordCtx, conn: ConnId): void => {
  const h = ctx.st.handoffs.get(conn);
  if (h === undefined || h.sent.length > 0) return;
  if (!ctx.st.mesh.conns.has(conn)) {
    // The connection is gone: what is left stays here.
    ctx.st.handoffs.delete(conn);
    return;
  }
  // A peer that stopped storing owns nothing now: its stretch is dropped unwalked.
  if (ctx.st.peers.get(h.peer)?.storing !== true) h.stretch = undefined;
  const budget = ctx.env.chord.handoffBatchBytes;
  let bytes = 0;
  /** Send one item if it still routes to the peer; whether the batch has room for more. */
  const send = (table: TableName, key58: string): boolean => {
    if (!routesTo(ctx, key58, h.peer)) return true;
    const value = S.retrieve(ctx.st.store, table, key58);
    if (O.isNone(value)) return true;
    const written = whisperConn(ctx, conn, chordStorePayload(table, key58, value.value));
    if (written === 0) return true;
    bytes += written;
    h.sent.push({ table, key58, value: value.value });
    return bytes < budget;
  };
  for (let s = h.stretch; s !== undefined && bytes < budget; s = h.stretch) {
    const table = TABLES[s.table]!;
    const last = S.walkRing(ctx.st.store, table, s.from, s.to, s.after, (key58) => send(table, key58));
    if (last !== undefined) s.after = last;
    else if (++s.table < TABLES.length) s.after = undefined;
    else h.stretch = undefined;
  }
  if (h.sent.length > 0) h.sentToken = awaitDrain(ctx, conn);
  else if (h.stretch === undefined) ctx.st.handoffs.delete(conn);
};

/** A batch has left: drop the local copies it carried that are unchanged and still routed there, then send the next. */
export const onDrained = (ctx: ChordCtx, conn: ConnId, token: number): void => {
  const h = ctx.st.handoffs.get(conn);
  if (h === undefined || h.sent.length === 0 || token < h.sentToken) return;
  for (const s of h.sent) {
    const now = S.retrieve(ctx.st.store, s.table, s.key58);
    if (O.isNone(now) || now.value !== s.value || !routesTo(ctx, s.key58, h.peer)) continue;
    S.store(ctx.st.store, s.table, s.key58, null);
    ctx.st.counters.migrated++;
  }
  h.sent = [];
  pump(ctx, conn);
};

/** How many peers a hand-over is still going to. */
export const handingOver = (st: ChordState): number => st.handoffs.size;

/** A connection left: its hand-off ends, the items not known to have left stay here. */
export const endHandoff = (ctx: ChordCtx, conn: ConnId): void => {
  ctx.st.handoffs.delete(conn);
};
