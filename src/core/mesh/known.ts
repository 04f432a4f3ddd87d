/**
 * The address book: addresses a node has learnt, remembered for redialling with back-off.
 *
 * Inputs: addresses from peers lists, handshakes and dials; the fate of our outgoing connections
 * (reached, failed, closed and why). Effects: none (heal.ts dials from the book).
 * Invariants:
 * - at most `knownAddressesMax` entries; never our own address or id; a full book drops an
 *   entry for a newcomer only if one is idle and out of its back-off (banned ones go last), and
 *   otherwise does not take the newcomer;
 * - an address that failed `n` times in a row is not due before `redialBaseMs · 2^(n-1)` (capped
 *   at `redialMaxMs`, jittered ±50 % from the node's seeded PRNG) after its last failure;
 * - an address that answered with a wrong subnet or with ourselves is banned: never dialled again
 *   while remembered, and evicted last;
 * - a connection the user (or a layer above) closed on purpose forgets its address;
 * - an outgoing connection that lasted `redialStableMs` and dropped marks its address lost
 *   (heal.ts keeps a slot for it for `lostPeerRetryMs`) until a connection to it is ready again.
 * Deliberately not: dialling, nor checking that an id lives at an address (the handshake's
 * expected-id check does that).
 */
import { nextBelow } from '../rng.js';
import type { Address, CloseReason, NodeId } from '../types.js';
import type { Conn, Ctx, KnownAddress } from './state.js';

/** The book's key for an address. */
export const addressKey = (a: Address): string => `${a.port}@${a.host}`;

/** The back-off before the next attempt after `failures` failures in a row, jittered. */
export const redialDelay = (ctx: Ctx, failures: number): number => {
  const { redialBaseMs, redialMaxMs } = ctx.env.config;
  const exp = Math.min(30, Math.max(0, failures - 1));
  const delay = Math.min(redialMaxMs, redialBaseMs * 2 ** exp);
  return jitter(ctx, delay);
};

/** `ms` spread uniformly over [ms/2, 3ms/2), drawn from the node's PRNG. */
export const jitter = (ctx: Ctx, ms: number): number => {
  const [u, rng] = nextBelow(ctx.st.rng, 1024);
  ctx.st.rng = rng;
  return Math.floor((ms * (512 + u)) / 1024);
};

const ours = (ctx: Ctx, address: Address, id: NodeId | undefined): boolean => {
  const own = ctx.env.config.outAddr;
  return id === ctx.env.config.id || (address.host === own.host && address.port === own.port);
};

/**
 * The entry to drop for a newcomer, or undefined when none may go. Never an address we are
 * dialling or connected to (its outcome must find its entry) nor one still in its back-off
 * (forgetting it would make it due at once when listed again); of the rest, banned ones last,
 * then the most failed, then the oldest.
 */
const victim = (ctx: Ctx, dialled: ReadonlySet<string>): string | undefined => {
  let worst: [string, KnownAddress] | undefined;
  for (const e of ctx.st.known) {
    const [key, k] = e;
    if (dialled.has(key) || (!k.banned && k.retryAt > ctx.at)) continue;
    if (worst === undefined) {
      worst = e;
      continue;
    }
    const w = worst[1];
    if (w.banned !== k.banned) {
      if (w.banned) worst = e;
      continue;
    }
    if (k.failures > w.failures || (k.failures === w.failures && k.seenAt < w.seenAt)) worst = e;
  }
  return worst?.[0];
};

/** The book keys of the addresses our outgoing connections dialled (any phase). */
export const dialledAddresses = (ctx: Ctx): Set<string> => {
  const dialled = new Set<string>();
  for (const c of ctx.st.conns.values()) if (c.outgoing && c.remote !== undefined) dialled.add(addressKey(c.remote));
  return dialled;
};

/**
 * Remember an address (and the id seen there). Returns true when the book gained an entry.
 * Addresses with an empty host or a port outside 1..65535 are not remembered. `dialled` gives
 * `dialledAddresses` when a full book needs it (a caller learning many addresses in one go,
 * with no dial in between, passes one that computes it once).
 */
export const learn = (ctx: Ctx, address: Address, id: NodeId | undefined, dialled: () => ReadonlySet<string> = () => dialledAddresses(ctx)): boolean => {
  const { known } = ctx.st;
  const max = ctx.env.config.knownAddressesMax;
  if (max <= 0 || address.host === '' || !(address.port >= 1 && address.port <= 65535) || ours(ctx, address, id)) return false;
  const key = addressKey(address);
  const entry = known.get(key);
  if (entry !== undefined) {
    if (id !== undefined) entry.id = id;
    entry.seenAt = ctx.at;
    return false;
  }
  if (known.size >= max) {
    const drop = victim(ctx, dialled());
    if (drop === undefined) return false;
    known.delete(drop);
  }
  known.set(key, { address: { host: address.host, port: address.port }, id, failures: 0, retryAt: ctx.at, seenAt: ctx.at, banned: false, lostAt: undefined });
  return true;
};

/** Count a failed attempt at an address: it is not due again before its back-off. */
export const noteFailure = (ctx: Ctx, address: Address | undefined): void => {
  const entry = address === undefined ? undefined : ctx.st.known.get(addressKey(address));
  if (entry === undefined) return;
  entry.failures++;
  entry.retryAt = ctx.at + redialDelay(ctx, entry.failures);
};

/** Never dial an address again while it is remembered. */
export const ban = (ctx: Ctx, address: Address | undefined): void => {
  const entry = address === undefined ? undefined : ctx.st.known.get(addressKey(address));
  if (entry !== undefined) entry.banned = true;
};

/** A connection reached the handshake: remember whom we reached and where they listen. */
export const noteReady = (ctx: Ctx, c: Conn): void => {
  c.readyAt = ctx.at;
  for (const address of [c.peerAddr, c.outgoing ? c.remote : undefined]) {
    if (address === undefined) continue;
    learn(ctx, address, c.peer);
    const entry = ctx.st.known.get(addressKey(address));
    if (entry !== undefined) entry.lostAt = undefined;
  }
};

/** Closes that say nothing against the address: we or the user chose them. */
const deliberate = (reason: CloseReason): boolean =>
  reason._tag === 'DuplicateConnection' || reason._tag === 'UserDisconnect' || reason._tag === 'Shutdown';

/**
 * One of our connections closed. Wrong subnet or ourselves bans the address; a close the user
 * chose forgets it; any other close counts as a failure of the address (the one we dialled, or
 * the one an inbound peer advertised), so nothing is redialled at once; a connection that lasted
 * `redialStableMs` first clears the count, so a long-lived peer is retried within a second or so.
 */
export const noteClosed = (ctx: Ctx, c: Conn, reason: CloseReason): void => {
  const address = c.outgoing ? c.remote : c.peerAddr;
  if (address === undefined) return;
  if (reason._tag === 'WrongSubnet' || reason._tag === 'SelfConnection') {
    ban(ctx, c.remote);
    ban(ctx, c.peerAddr);
    return;
  }
  if (reason._tag === 'UserDisconnect') {
    ctx.st.known.delete(addressKey(address));
    return;
  }
  if (deliberate(reason)) return;
  if (reason._tag === 'UnexpectedPeer') {
    const entry = ctx.st.known.get(addressKey(address));
    if (entry !== undefined) entry.id = reason.got;
  }
  const entry = ctx.st.known.get(addressKey(address));
  if (entry !== undefined && c.readyAt !== undefined && ctx.at - c.readyAt >= ctx.env.config.redialStableMs) {
    entry.failures = 0;
    if (c.outgoing) entry.lostAt = ctx.at;
  }
  noteFailure(ctx, address);
};
