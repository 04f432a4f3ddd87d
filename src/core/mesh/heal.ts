/**
 * Self-healing: a node below its outgoing target finds and dials peers again on its own.
 *
 * Inputs: the end of any step that may have changed the outgoing count (`heal.dirty`) and Tick.
 * Effects: `Dial` (addresses from the book that are due), the `'*'` peers request to up to
 * `peersRequestFanout` random peers (a whisper both seeds answer with their peers list,
 * PROTOCOL.md §4.7, `'*'` as bin, §10).
 * Invariants:
 * - the target is `outgoingMax`: dials from here never take the outgoing count above it, nor the
 *   connection count to `connectionsMax`;
 * - an address is dialled only when due (known.ts back-off), never while a connection to it or
 *   to its id exists, never when banned (ourselves, wrong subnet);
 * - peers requests go out only while under target and while someone is routed, first
 *   `peersRequestBaseMs` after falling short, then at doubling intervals up to
 *   `peersRequestMaxMs`; at target every heal timer is off, so a healthy node wakes for nothing.
 * - for `lostPeerRetryMs` after a lasting outgoing connection dropped, one slot is kept for
 *   redialling the peers lost so (with `outgoingMax` ≥ 2), so the halves of a healed partition
 *   meet again even when each half could fill every target by itself.
 * Deliberately not: renegotiate (js2p drops the link), or dialling beyond the target to look for
 * a better peer (a partition longer than `lostPeerRetryMs` between halves that both filled their
 * targets stays split until someone falls short again or the user connects them).
 */
import { shuffle } from '../rng.js';
import { connectionsFull, dial } from './connections.js';
import { addressKey, jitter } from './known.js';
import { requestPeersOf } from './peers.js';
import { outgoingCount, type Ctx, type KnownAddress, type MeshState } from './state.js';

/** A fresh heal schedule (nothing due). */
export const emptyHeal = (baseMs: number): MeshState['heal'] => ({ dirty: false, dialAt: undefined, requestAt: undefined, requestDelayMs: baseMs });

/**
 * Ids we are connected or connecting to (any phase, either direction), and the addresses we are
 * dialling or dialled. A peer's advertised address is covered by its id (the book records it).
 */
const inUse = (st: MeshState): { readonly ids: Set<string>; readonly addresses: Set<string> } => {
  const ids = new Set<string>(st.routing.keys());
  const addresses = new Set<string>();
  for (const c of st.conns.values()) {
    if (c.peer !== undefined) ids.add(c.peer);
    if (c.expectedId !== undefined) ids.add(c.expectedId);
    if (c.outgoing && c.remote !== undefined) addresses.add(addressKey(c.remote));
  }
  return { ids, addresses };
};

/** Lost within `lostPeerRetryMs` (see known.ts): such an address keeps a slot for itself. */
const lostRecently = (ctx: Ctx, k: KnownAddress): boolean => k.lostAt !== undefined && ctx.at - k.lostAt < ctx.env.config.lostPeerRetryMs;

/**
 * Dial due addresses until the target is met; returns when the next one falls due (undefined
 * when none waits). Recently lost peers go first; while one of them is still unreached, other
 * addresses fill at most `outgoingMax - 1` slots (with `outgoingMax` ≥ 2), so the last slot keeps
 * retrying them: after a partition, that is how two halves that each filled their targets meet.
 */
const refill = (ctx: Ctx, outgoing: number): number | undefined => {
  const { st } = ctx;
  const { config } = ctx.env;
  if (st.known.size === 0) return undefined;
  const used = inUse(st);
  const lost: KnownAddress[] = [];
  const other: KnownAddress[] = [];
  let lostWaiting = 0;
  let next: number | undefined;
  for (const [key, k] of st.known) {
    if (k.banned || used.addresses.has(key) || (k.id !== undefined && used.ids.has(k.id))) continue;
    const isLost = lostRecently(ctx, k);
    if (isLost) lostWaiting++;
    if (k.retryAt <= ctx.at) (isLost ? lost : other).push(k);
    else if (next === undefined || k.retryAt < next) next = k.retryAt;
  }
  let n = outgoing;
  const dialFrom = (due: ReadonlyArray<KnownAddress>, isLost: boolean): void => {
    if (due.length === 0) return;
    const [order, rng] = shuffle(st.rng, due);
    st.rng = rng;
    for (const k of order) {
      const limit = isLost || lostWaiting === 0 || config.outgoingMax < 2 ? config.outgoingMax : config.outgoingMax - 1;
      // What stays due waits for a slot: a close or a failed dial marks the state dirty.
      if (n >= limit || connectionsFull(ctx)) return;
      // A second entry naming an id we are already dialling waits for that dial's outcome.
      if (k.id !== undefined && used.ids.has(k.id)) continue;
      if (k.id !== undefined) used.ids.add(k.id);
      dial(ctx, k.address, k.id, undefined);
      if (isLost) lostWaiting--;
      n++;
    }
  };
  dialFrom(lost, true);
  dialFrom(other, false);
  return next;
};

/** Ask peers for their peers when the request interval is up; schedule the next one. */
const maybeRequest = (ctx: Ctx): void => {
  const { st } = ctx;
  const { peersRequestBaseMs, peersRequestMaxMs } = ctx.env.config;
  if (st.routing.size === 0) {
    st.heal.requestAt = undefined;
    return;
  }
  if (st.heal.requestAt === undefined) {
    st.heal.requestAt = ctx.at + jitter(ctx, st.heal.requestDelayMs);
    return;
  }
  if (st.heal.requestAt > ctx.at) return;
  requestPeersOf(ctx, ctx.env.config.peersRequestFanout);
  st.heal.requestDelayMs = Math.min(peersRequestMaxMs, Math.max(peersRequestBaseMs, st.heal.requestDelayMs * 2));
  st.heal.requestAt = ctx.at + jitter(ctx, st.heal.requestDelayMs);
};

/**
 * Re-check the outgoing target: at target, switch the heal timers off; below it, dial what is
 * due and keep the peers-request timer running.
 */
export const maintain = (ctx: Ctx): void => {
  const { st } = ctx;
  const { config } = ctx.env;
  st.heal.dirty = false;
  if (st.closed) return;
  const outgoing = outgoingCount(st);
  if (outgoing >= config.outgoingMax) {
    st.heal.dialAt = undefined;
    st.heal.requestAt = undefined;
    st.heal.requestDelayMs = config.peersRequestBaseMs;
    return;
  }
  st.heal.dialAt = refill(ctx, outgoing);
  if (outgoingCount(st) >= config.outgoingMax) {
    st.heal.dialAt = undefined;
    st.heal.requestAt = undefined;
    st.heal.requestDelayMs = config.peersRequestBaseMs;
    return;
  }
  maybeRequest(ctx);
};

/** The earliest heal timer, ms. */
export const healWakeup = (st: MeshState): number | undefined => {
  const { dialAt, requestAt } = st.heal;
  if (dialAt === undefined) return requestAt;
  return requestAt === undefined || dialAt < requestAt ? dialAt : requestAt;
};
