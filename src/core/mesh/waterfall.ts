/**
 * The waterfall (PROTOCOL.md §4.5): flooding broadcasts exactly once per node.
 *
 * Inputs: a decoded broadcast (msg_type 0x00) from a connection; our own outgoing messages.
 * Effects: `Write` of the original msgpack bytes (re-framed per link compression, one frame per
 * method) to every routed peer except the originator and the connection it came on.
 * Invariants:
 * - a message id is admitted at most once while remembered; the id is the SHA-256 of the
 *   msgpack bytes, which include the time, so it stands for the seeds' (id, time) pair;
 * - broadcasts older than `broadcastExpiryMs` (by their own stamp) are dropped unrelayed;
 * - an admitted id is remembered until its own stamp is stale by our clock, and at least
 *   `seenTtlMs` after arrival, so a late copy (held in flight, or from a sender whose clock runs
 *   ahead) is never delivered twice;
 * - staleness and forgetting go by the latest clock reading (`clockMax`): a clock set back
 *   never makes a forgotten id's copy fresh again, so it is never delivered twice;
 * - broadcasts stamped more than `futureToleranceMs` ahead of our clock are dropped, so no
 *   stamp can make an id stay longer than that plus the expiry; the set also holds at most
 *   `seenMax` ids (the oldest arrival goes first);
 * - everything we send as a broadcast is remembered, so we never relay our own traffic back.
 * Deliberately not: delivering (node.ts dispatches after the relay) or checking shapes.
 */
import { msgTypes } from '../flags.js';
import type { ConnId, NodeId } from '../types.js';
import type { InternalMessage } from '../wire/packets.js';
import type { WireValue } from '../wire/value.js';
import { fanOut, ownMessage } from './send.js';
import type { Ctx, MeshState, SeenSet } from './state.js';

/** What the waterfall makes of an arriving broadcast. */
export type Admission = 'fresh' | 'stale' | 'future' | 'duplicate';

/** What the seen-set needs of a message: its id and its stamp. */
export type Stamped = Pick<InternalMessage, 'idKey' | 'time'>;

/** An empty seen-set. */
export const emptySeen = (): SeenSet => ({ latest: new Map(), queueKeys: [], queueUntil: [], head: 0, base: 0 });

/** The number of ids remembered. */
export const seenSize = (st: MeshState): number => st.seen.latest.size;

/**
 * Past this many entries cut from the queue, positions are counted from 0 again (every id in the
 * map is moved down, once per so many entries), so they stay integers V8 keeps unboxed.
 */
export const SEEN_REBASE_AT = 2 ** 30;

/** Drops the queue's head, and its id unless remembered again later; true when the id went. */
const dropHead = (seen: SeenSet): boolean => {
  const key = seen.queueKeys[seen.head]!;
  // A key remembered again later has a later entry: only its latest entry removes it.
  const last = seen.latest.get(key) === seen.base + seen.head;
  if (last) seen.latest.delete(key);
  seen.head++;
  return last;
};

/** Forget seen ids whose time is up, then the oldest beyond `seenMax` (counted: they went early). */
export const purgeSeen = (ctx: Ctx): void => {
  const { seen } = ctx.st;
  const max = ctx.env.config.seenMax;
  while (seen.head < seen.queueKeys.length) {
    // An id whose time is up goes; one still in its time goes only while the set is over its bound.
    const early = seen.queueUntil[seen.head]! > ctx.st.clockMax;
    if (early && seen.latest.size <= max) break;
    if (dropHead(seen) && early) ctx.st.counters.seenForgottenEarly++;
  }
  // Compact the queue once its dead head is as long as its live tail.
  if (seen.head > 1024 && seen.head * 2 > seen.queueKeys.length) {
    seen.queueKeys = seen.queueKeys.slice(seen.head);
    seen.queueUntil = seen.queueUntil.slice(seen.head);
    seen.base += seen.head;
    seen.head = 0;
    if (seen.base >= SEEN_REBASE_AT) {
      for (const [key, position] of seen.latest) seen.latest.set(key, position - seen.base);
      seen.base = 0;
    }
  }
};

/** When a message stamped `timeSeconds` becomes stale by our clock, ms (see `outOfWindow`). */
const staleAt = (ctx: Ctx, timeSeconds: number): number => (Math.floor(timeSeconds) + 1) * 1000 + ctx.env.config.broadcastExpiryMs;

/**
 * Remember a message id as seen, until its stamp is stale and for at least `seenTtlMs`. The
 * queue stays in arrival order: an entry due earlier than the one before it is forgotten a
 * little late, never early, and `seenMax` bounds the whole.
 */
export const remember = (ctx: Ctx, msg: Stamped): void => {
  const { seen } = ctx.st;
  const until = Math.max(ctx.st.clockMax + ctx.env.config.seenTtlMs, staleAt(ctx, msg.time));
  seen.latest.set(msg.idKey, seen.base + seen.queueKeys.length);
  seen.queueKeys.push(msg.idKey);
  seen.queueUntil.push(until);
  if (seen.latest.size > ctx.env.config.seenMax || seen.queueUntil[seen.head]! <= ctx.st.clockMax) purgeSeen(ctx);
};

/** 'stale' or 'future' (counted) for a stamp outside the window we accept, else undefined. */
const outOfWindow = (ctx: Ctx, time: number): 'stale' | 'future' | undefined => {
  // Stale by the latest clock ever read: one set back since must not revive what was forgotten.
  const oldestSeconds = Math.floor((ctx.st.clockMax - ctx.env.config.broadcastExpiryMs) / 1000);
  if (time < oldestSeconds) {
    ctx.st.counters.staleDropped++;
    return 'stale';
  }
  if (time * 1000 > ctx.at + ctx.env.config.futureToleranceMs) {
    ctx.st.counters.futureDropped++;
    return 'future';
  }
  return undefined;
};

/**
 * An arriving broadcast's fate is decided by one of the two below, as the caller found its id
 * (`isRemembered`). This one, for a remembered id: its stamp's fate, else a duplicate.
 */
export const admitRemembered = (ctx: Ctx, time: number): Exclude<Admission, 'fresh'> => {
  const out = outOfWindow(ctx, time);
  if (out !== undefined) return out;
  ctx.st.counters.duplicatesDropped++;
  return 'duplicate';
};

/** For an id not remembered: fresh (and now remembered) unless its stamp is out of the window. */
export const admitUnremembered = (ctx: Ctx, msg: Stamped): Admission => {
  const out = outOfWindow(ctx, msg.time);
  if (out !== undefined) return out;
  remember(ctx, msg);
  return 'fresh';
};

/** Whether a message id (its key) is remembered. */
export const isRemembered = (st: MeshState, idKey: string): boolean => st.seen.latest.has(idKey);

/** Relay a fresh broadcast to every peer but its originator and the connection it came on. */
export const relay = (ctx: Ctx, msg: InternalMessage, from: ConnId): void => {
  ctx.st.counters.broadcastsRelayed += fanOut(ctx, msg, msg.senderId as NodeId, from);
};

/** Send a message of ours to every peer: stamped once, remembered when a broadcast, then sent. */
export const sendToAll = (ctx: Ctx, msg: InternalMessage): void => {
  if (msg.msgType === msgTypes.broadcast) remember(ctx, msg);
  fanOut(ctx, msg, undefined, undefined);
};

/** Broadcast a protocol message of ours (request, response) to every peer. */
export const broadcastOwn = (ctx: Ctx, payload: ReadonlyArray<WireValue>): void =>
  sendToAll(ctx, ownMessage(ctx, msgTypes.broadcast, payload));

/** When the oldest seen id is due to be forgotten, ms. */
export const seenWakeup = (st: MeshState): number | undefined => st.seen.queueUntil[st.seen.head];
