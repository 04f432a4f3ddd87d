/**
 * Peer discovery (PROTOCOL.md §4.4): the peers list and the `'*'` peers request.
 *
 * Inputs: a handshake completing (send our list), a Peers message (dial from it), a
 * PeersRequest (answer with our list), the RequestPeers command. Effects: `Write` (whispers),
 * `Dial`.
 * Invariants: the list we send holds every routed peer with an address except the recipient;
 * from a list we dial, in a seeded random order, only peers we are not connected to or dialling
 * and never ourselves, while we hold fewer than `outgoingMax` outgoing connections and fewer
 * than `connectionsMax` in all.
 * Deliberately not: verifying that a listed id lives at the listed address (the handshake's
 * expected-id check does that when we dial it).
 */
import { msgTypes } from '../flags.js';
import { shuffle } from '../rng.js';
import { peersPayload, peersRequestPayload, type PeerEntry } from '../wire/messages.js';
import { connectionsFull, dial } from './connections.js';
import { fanOut, ownMessage, writeMessage } from './send.js';
import { outgoingCount, type Conn, type Ctx } from './state.js';

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

const addressKey = (a: { readonly host: string; readonly port: number }): string => `${a.port}@${a.host}`;

/**
 * A peers list arrived: dial what we lack, up to the outgoing bound. What we know is gathered
 * once, so a long list costs one pass, not one pass over our connections per entry.
 */
export const onPeers = (ctx: Ctx, list: ReadonlyArray<PeerEntry>): void => {
  const { config } = ctx.env;
  ctx.st.peersHeard?.push(...list);
  let outgoing = outgoingCount(ctx.st);
  if (outgoing >= config.outgoingMax || connectionsFull(ctx)) return;
  const knownIds = new Set<string>([config.id, ...ctx.st.routing.keys()]);
  const knownAddresses = new Set<string>([addressKey(config.outAddr)]);
  for (const c of ctx.st.conns.values()) {
    if (c.peer !== undefined) knownIds.add(c.peer);
    if (c.expectedId !== undefined) knownIds.add(c.expectedId);
    if (c.outgoing && c.remote !== undefined) knownAddresses.add(addressKey(c.remote));
  }
  const [order, rng] = shuffle(ctx.st.rng, list);
  ctx.st.rng = rng;
  for (const entry of order) {
    if (outgoing >= config.outgoingMax || connectionsFull(ctx)) return;
    const where = addressKey(entry.address);
    if (knownIds.has(entry.id) || knownAddresses.has(where)) continue;
    knownIds.add(entry.id);
    knownAddresses.add(where);
    dial(ctx, entry.address, entry.id, undefined);
    outgoing++;
  }
};

/** Ask every peer for its peers (`'*'` sent as bin, §10). */
export const requestPeers = (ctx: Ctx): void => {
  fanOut(ctx, ownMessage(ctx, msgTypes.whisper, peersRequestPayload()), undefined, undefined);
};
