// Fuzzing the pure core: hostile frames (random, valid, mutated, wrong-shaped, monstrous, bombs)
// arrive on a handshaken connection and on a fresh one, split at random points. After every
// input the core has not thrown, every bounded structure is within its bound, no decompression
// was allowed past the frame maximum, every close carries a typed reason, a length header above
// the maximum has closed its connection, and the honest peer's next broadcast is still delivered
// exactly once. `TS2P_FUZZ_RUNS` sets the number of cases (each feeds 1–4 frames, or up to `TS2P_FUZZ_FRAMES`).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { initNode, nodeStatus, step, type NodeState } from '../../src/core/node.js';
import { ConnId, type CloseReason, type Effect } from '../../src/core/types.js';
import { heldBytes, readLength } from '../../src/core/wire/framing.js';
import { frameFrom, handshakeFrom, mkEnv, T0, zlib, snappy, gzip } from '../unit/mesh-env.js';
import { attacker, fuzzRuns, honest, hostileFrame, mutate, watchedCaps } from './corpus.js';

const FRAME_MAX = 64 * 1024;
const limits = { frameBytesMax: FRAME_MAX, connectionsMax: 6, awaitingMax: 3, seenMax: 64, pendingRequestsMax: 4, outgoingMax: 2 };
const watched = watchedCaps();
const env = { ...mkEnv(1, { compression: [snappy, zlib, gzip], ...limits }), caps: watched.caps };

const closeTags: ReadonlySet<CloseReason['_tag']> = new Set([
  'WrongSubnet', 'SelfConnection', 'DuplicateConnection', 'UnexpectedPeer', 'BadFrame', 'BadMessage', 'IllegalMessage',
  'HandshakeTimeout', 'StalledFrame', 'TooManyConnections', 'SlowPeer', 'PeerClosed', 'UserDisconnect', 'Shutdown',
]);

const FUZZED = ConnId('a1');
const FRESH = ConnId('a9');
const HONEST = [ConnId('a2'), ConnId('a3')];

/** A node with the attacker on a1 and two honest peers on a2, a3, all handshaken. */
const setup = (at: number): NodeState => {
  const st = initNode(env, at);
  [attacker, ...honest].forEach((peer, i) => {
    const conn = [FUZZED, ...HONEST][i]!;
    step(env, st, { _tag: 'ConnectionAccepted', at, conn, remote: peer.config.outAddr });
    step(env, st, { _tag: 'BytesReceived', at, conn, bytes: handshakeFrom(peer, [zlib, snappy], peer.config.protocol.id, at) });
  });
  step(env, st, { _tag: 'ConnectionAccepted', at, conn: FRESH, remote: { host: '10.0.0.99', port: 1 } });
  return st;
};

let inputs = 0;
let closes = 0;

const checkBounds = (st: NodeState, effects: ReadonlyArray<Effect>): void => {
  const s = nodeStatus(st);
  expect(s.connections).toBeLessThanOrEqual(limits.connectionsMax);
  expect(s.awaiting).toBeLessThanOrEqual(limits.awaitingMax);
  expect(s.seen).toBeLessThanOrEqual(limits.seenMax);
  expect(s.pendingReplies).toBeLessThanOrEqual(limits.pendingRequestsMax);
  expect(s.outgoing).toBeLessThanOrEqual(limits.outgoingMax + 0);
  for (const c of st.conns.values()) expect(heldBytes(c.decoder)).toBeLessThanOrEqual(FRAME_MAX + 4);
  expect(watched.worst.limit).toBeLessThanOrEqual(FRAME_MAX);
  expect(watched.worst.output).toBeLessThanOrEqual(FRAME_MAX);
  for (const e of effects) {
    if (e._tag === 'Close') {
      closes++;
      expect(closeTags.has(e.reason._tag)).toBe(true);
    }
  }
};

/** A header above the maximum, once its 4 bytes have all arrived at a frame boundary, closes the connection. */
const oversizedHeader = (bytes: Uint8Array): boolean => bytes.length >= 4 && readLength(bytes, 0) > FRAME_MAX;

const step1 = (st: NodeState, conn: ConnId, bytes: Uint8Array, at: number): ReadonlyArray<Effect> => {
  inputs++;
  const [, effects] = step(env, st, { _tag: 'BytesReceived', at, conn, bytes });
  checkBounds(st, effects);
  return effects;
};

const feed = fc.record({
  frames: fc.array(hostileFrame(attacker, FRAME_MAX), { minLength: 1, maxLength: Number(process.env.TS2P_FUZZ_FRAMES ?? 4) }),
  fresh: fc.boolean(),
  split: fc.nat({ max: 64 }),
  dtMs: fc.nat({ max: 5_000 }),
});

describe('fuzz: the core under hostile frames', () => {
  afterAll(() => {
    console.info(`fuzz core: ${inputs} inputs fed, ${closes} typed closes, worst inflate limit ${watched.worst.limit} B, largest inflate ${watched.worst.output} B`);
  });

  it('never throws, stays bounded, closes on oversized headers and keeps honest peers', () => {
    const runs = fuzzRuns(15_000);
    let honestSeq = 0;
    fc.assert(
      fc.property(feed, ({ frames, fresh, split, dtMs }) => {
        let at = T0 + 1000;
        const st = setup(at);
        const conn = fresh ? FRESH : FUZZED;
        for (const { build, mutation } of frames) {
          at += dtMs;
          const bytes = mutate(build(at), mutation);
          // Split the frame in two chunks at a drawn point: the result must not depend on it.
          const cut = Math.min(split, bytes.length);
          const firstChunkAtBoundary = st.conns.get(conn)?.decoder.headerFill === 0 && st.conns.get(conn)?.decoder.bodyLength === undefined;
          const e1 = step1(st, conn, bytes.subarray(0, cut), at);
          const e2 = cut < bytes.length ? step1(st, conn, bytes.subarray(cut), at) : [];
          if (firstChunkAtBoundary && oversizedHeader(bytes)) {
            expect(st.conns.has(conn)).toBe(false);
            expect([...e1, ...e2].some((e) => e._tag === 'Close' && e.conn === conn && e.reason._tag === 'BadFrame')).toBe(true);
          }
          if (!st.conns.has(conn)) break;
        }
        // Whatever the attacker did, an honest peer's fresh broadcast is delivered exactly once.
        honestSeq++;
        const [, effects] = step(env, st, {
          _tag: 'BytesReceived',
          at,
          conn: HONEST[0]!,
          bytes: frameFrom(honest[0]!.config.id, 0, [0, 'honest', honestSeq], at),
        });
        const delivered = effects.filter((e) => e._tag === 'Deliver' && e.message.packets[1] === 'honest');
        expect(delivered).toHaveLength(1);
        expect(effects.some((e) => e._tag === 'Write' && e.conn === HONEST[1])).toBe(true);
        expect(nodeStatus(st).routed).toBeGreaterThanOrEqual(2);
      }),
      { numRuns: runs },
    );
  }, 3_600_000);
});
