// Chord work per message (part of `npm run bench:chord`): what one small message from a peer costs
// a node's chord core (no network), against how much the node holds. The work should follow the
// message, not what is held.
// 1. Deltas: a stored map grown by deltas to N entries, then one-entry deltas to it, each a frame
//    (frame decode, routing, merge and the check that a retrieve of the merged map can still be
//    answered).
// 2. Meta flips: a peer turning storing and leeching in turn while the node holds N entries in
//    each of its five tables; each turn to storing hands the peer what it now owns. The peer here
//    never reads (no Drained comes), as a peer flipping to make work would: the hand-over's first
//    batch waits to leave, and each later turn finds its walk of the ring already under way.
import { performance } from 'node:perf_hooks';
import { defaultChordLimits } from '../src/core/chord/config.js';
import { chordItems, chordStatus, chordStep, initChord, type ChordEnv, type ChordState } from '../src/core/chord/node.js';
import { key58Of, RING_SIZE, TABLES } from '../src/core/chord/ring.js';
import { defaultLimits } from '../src/core/config.js';
import { msgTypes } from '../src/core/flags.js';
import { latin1Bytes, nodeId, protocolId } from '../src/core/ids.js';
import { ConnId } from '../src/core/types.js';
import { chordDeltaPayload, chordMetaPayload, chordStorePayload } from '../src/core/wire/messages.js';
import { packValue } from '../src/core/wire/msgpack.js';
import { encodeFrame, makeMessage } from '../src/core/wire/packets.js';
import type { WireValue } from '../src/core/wire/value.js';
import { nodeCapabilities as caps } from '../src/shell/caps.js';

const T0 = 1_500_000_000_000;
const proto = protocolId(caps, 'chord', 'Plaintext');
const outAddr = (i: number) => ({ host: `10.0.0.${i}`, port: 4444 });
const envOf = (i: number): ChordEnv => ({
  caps,
  config: { id: nodeId(caps, outAddr(i), proto, `s${i}`), protocol: { subnet: 'chord', encryption: 'Plaintext', id: proto }, outAddr: outAddr(i), compression: [], seed: i, ...defaultLimits },
  chord: defaultChordLimits,
});

/** A joined node with one peer handshaken in on a1, and a way to feed it that peer's whispers. */
const nodeWithPeer = (): { st: ChordState; send: (payload: ReadonlyArray<WireValue>) => void } => {
  const me = envOf(1);
  const peer = envOf(2);
  const st = initChord(me, T0);
  const conn = ConnId('a1');
  const frame = (msgType: number, payload: ReadonlyArray<WireValue>): Uint8Array =>
    encodeFrame(caps, makeMessage(caps, msgType, peer.config.id, payload, T0 / 1000), undefined);
  chordStep(me, st, { _tag: 'ConnectionAccepted', at: T0, conn, remote: peer.config.outAddr });
  chordStep(me, st, { _tag: 'BytesReceived', at: T0, conn, bytes: frame(msgTypes.whisper, [5, peer.config.id, latin1Bytes(proto), [peer.config.outAddr.host, 4444], []]) });
  chordStep(me, st, { _tag: 'ChordJoin', at: T0, cmd: 1 });
  return { st, send: (payload) => chordStep(me, st, { _tag: 'BytesReceived', at: T0, conn, bytes: frame(msgTypes.whisper, payload) }) };
};

const deltaCost = (entries: number): { perDelta: number; bytes: number } => {
  const { st, send } = nodeWithPeer();
  const value = 'v'.repeat(400);
  for (let i = 0; i < entries; i += 1000) {
    send(chordDeltaPayload('sha256', 'z', new Map(Array.from({ length: Math.min(1000, entries - i) }, (_, j) => [`key-${i + j}`, value]))));
  }
  const bytes = packValue(chordItems(st).find((it) => it.table === 'sha256')?.value ?? null).length;
  const n = 200;
  const t = performance.now();
  for (let i = 0; i < n; i++) send(chordDeltaPayload('sha256', 'z', new Map([[`key-${i * 7}`, `new-${i}`]])));
  return { perDelta: (performance.now() - t) / n, bytes };
};

const flipCost = (perTable: number): { perFlip: number; held: number } => {
  const { st, send } = nodeWithPeer();
  // Keys spread over the ring; the peer is storing from the start, so its first turn migrates
  // nothing more than what it already owns.
  const step = RING_SIZE / BigInt(perTable);
  for (const table of TABLES) for (let i = 0; i < perTable; i++) send(chordStorePayload(table, key58Of(BigInt(i) * step + 11n), i));
  const held = chordItems(st).length;
  send(chordMetaPayload(false));
  if (chordStatus(st).storingPeers !== 1) throw new Error('the peer was dropped');
  const n = 100;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    send(chordMetaPayload(true));
    send(chordMetaPayload(false));
  }
  const perFlip = (performance.now() - t) / n;
  if (chordStatus(st).storingPeers !== 1) throw new Error('the peer was dropped');
  return { perFlip, held };
};

console.log('');
console.log('chord work per delta: one-entry deltas from a peer to a stored map of N entries (400-byte values)');
console.log('entries   map bytes  ms per delta');
for (const entries of [1_000, 8_000, 32_000]) {
  const r = deltaCost(entries);
  console.log(`${String(entries).padStart(7)}  ${String(r.bytes).padStart(10)}  ${r.perDelta.toFixed(3).padStart(12)}`);
}
console.log('');
console.log('chord work per meta flip: a peer turning leeching then storing again, the node holding N entries per table');
console.log('entries held  ms per flip');
for (const perTable of [1_000, 10_000, 60_000]) {
  const r = flipCost(perTable);
  console.log(`${String(r.held).padStart(12)}  ${r.perFlip.toFixed(3).padStart(11)}`);
}
