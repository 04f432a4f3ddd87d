/**
 * Peer discovery (PROTOCOL.md §4.4): the peers list and the `'*'` peers request.
 *
 * Inputs: a handshake completing (send our list), a Peers message (dial from it), a
 * PeersRequest (answer with our list), the RequestPeers command. Effects: `Write` (whispers).
 * Invariants: the list we send holds every routed peer with an address except the recipient;
 * a list received goes into the address book (known.ts), and heal.ts dials from there, in a
 * seeded random order, only peers we are not connected to or dialling and never ourselves, while
 * we hold fewer than `outgoingMax` outgoing connections and fewer than `connectionsMax` in all.
 * Deliberately not: verifying that a listed id lives at the listed address (the handshake's
 * expected-id check does that when we dial it).
 */
import { msgTypes } from '../flags.js';
import { shuffle } from '../rng.js';
import { peersPayload, peersRequestPayload, type PeerEntry } from '../wire/messages.js';
import { dialledAddresses, learn } from './known.js';
import { fanOut, ownMessage, writeMessage } from './send.js';
import type { Conn, Ctx } from './state.js';

/** Whisper our peers list to `c`, leaving its own peer out. */
export const sendPeers = (ctx: Ctx, c: Conn): void => {
  const list: PeerEntry[] = [];
  for (const [id, connId] of ctx.st.routing) {
    if (id === c.peer) continue;
    const address = ctx.st.conns.get(connId)?.peerAddr;
    if (address !== undefined) list.push({ address, id });
  }
  writeMessage(ctx, c, ownMessage(ctx, msgTypes.whisper, peersPayload(list)));
};

/**
 * A peers list arrived: remember its addresses (at most `knownAddressesMax` of a list, picked
 * in a seeded random order) and mark the heal schedule dirty, so the end of the step dials what
 * we lack up to the outgoing target (heal.ts). Dialling from the book instead of from the list
 * keeps the back-off of addresses that failed, and lets a list read while the connection that
 * brought it is being refused still be dialled once that connection is gone.
 */
export const onPeers = (ctx: Ctx, list: ReadonlyArray<PeerEntry>): void => {
  const { config } = ctx.env;
  ctx.st.peersHeard?.push(...list);
  if (list.length === 0 || config.knownAddressesMax <= 0) return;
  const [order, rng] = list.length > config.knownAddressesMax ? shuffle(ctx.st.rng, list) : [list, ctx.st.rng];
  ctx.st.rng = rng;
  const n = Math.min(order.length, config.knownAddressesMax);
  // Nothing is dialled while the list is read: what we dial is worked out once, if at all.
  let dialled: ReadonlySet<string> | undefined;
  const dialledOnce = (): ReadonlySet<string> => (dialled ??= dialledAddresses(ctx));
  for (let i = 0; i < n; i++) {
    const entry = order[i] as PeerEntry;
    learn(ctx, entry.address, entry.id, dialledOnce);
  }
  ctx.st.heal.dirty = true;
};

/** Ask up to `count` routed peers, picked with the node's PRNG, for their peers (`'*'` as bin). */
export const requestPeersOf = (ctx: Ctx, count: number): void => {
  const { st } = ctx;
  const ready: Conn[] = [];
  for (const connId of st.routing.values()) {
    const c = st.conns.get(connId);
    if (c !== undefined) ready.push(c);
  }
  if (ready.length === 0 || count <= 0) return;
  const [order, rng] = ready.length > count ? shuffle(st.rng, ready) : [ready, st.rng];
  st.rng = rng;
  const msg = ownMessage(ctx, msgTypes.whisper, peersRequestPayload());
  for (const c of order.slice(0, count)) writeMessage(ctx, c, msg);
};

/** Ask every peer for its peers (`'*'` sent as bin, §10). */
export const requestPeers = (ctx: Ctx): void => {
  fanOut(ctx, ownMessage(ctx, msgTypes.whisper, peersRequestPayload()), undefined, undefined);
};
