// `step` never throws, whatever arrives: arbitrary bytes, well-framed messages of any shape,
// mutated frames, and any order of transport facts and user commands; its invariants hold after
// every step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latin1Bytes } from '../../src/core/ids.js';
import { initNode, nextWakeup, nodeStatus, step, type NodeState } from '../../src/core/node.js';
import { ConnId, NodeId, type Input } from '../../src/core/types.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { addr, frameFrom, handshakeFrom, mkEnv, T0, zlib } from '../unit/mesh-env.js';
import { propRuns } from './runs.js';

const me = mkEnv(1, { compression: [zlib], connectionsMax: 4, awaitingMax: 3, seenMax: 2, pendingRequestsMax: 1, outgoingMax: 2 });
const others = [2, 3, 4, 5].map((i) => mkEnv(i));
const ids = [...others.map((e) => e.config.id), me.config.id, NodeId('1'), NodeId('*')];
const conns = ['a1', 'a2', 'a3', 'd1', 'd2', 'd3'].map(ConnId);

const wire: fc.Arbitrary<WireValue> = fc.letrec<{ v: WireValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }),
    fc.constantFrom<WireValue>(...ids, latin1Bytes(ids[0]!), '*', latin1Bytes('*'), ['10.0.0.2', 4444]),
    fc.array(tie('v'), { maxLength: 4 }),
  ),
})).v;

// User packets may also hold bigints beyond 64 bits, which msgpack cannot carry: a Send or Reply
// of one must fail cleanly.
const userWire: fc.Arbitrary<WireValue> = fc.oneof(wire, fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }));

const payload = fc.tuple(fc.nat({ max: 0x12 }), fc.array(wire, { maxLength: 5 })).map(([sub, rest]) => [sub, ...rest]);

// Frames are built at the moment they are fed, so their stamps are near the node's clock.
type Build = (at: number) => Uint8Array;

const frames: fc.Arbitrary<Build> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b): Build => () => b),
  fc.constantFrom(...others).map((e): Build => (at) => handshakeFrom(e, [zlib], e.config.protocol.id, at)),
  fc.constantFrom(...others).map((e): Build => (at) => handshakeFrom(e, [], 'WRONG', at)),
  fc.tuple(fc.constantFrom<string | Uint8Array>(...ids, latin1Bytes(ids[1]!)), fc.nat({ max: 3 }), payload, fc.integer({ min: -120, max: 120 }), fc.boolean()).map(
    ([sender, type, p, dt, z]): Build => (at) => frameFrom(sender, type, p, at + dt * 1000, z ? zlib : undefined),
  ),
  fc.constantFrom(...others).map((e): Build => (at) =>
    frameFrom(e.config.id, 2, [7, [[['10.0.0.3', 4444], others[1]!.config.id], [['10.0.0.9', 1], 'X']]], at)),
  fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...others)).map(([target, e]): Build => (at) =>
    frameFrom(e.config.id, 0, [10, 'RID', [['10.0.0.4', 4444], target]], at)),
);

// A frame, possibly cut short or with one byte flipped.
const bytes = fc.tuple(frames, fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 3 })).map(([build, i, b, how]): Build => (at) => {
  const f = build(at);
  if (how <= 1 || f.length === 0) return f;
  if (how === 2) return f.subarray(0, i % f.length);
  const g = f.slice();
  g[i % g.length] = b;
  return g;
});

type Make = (at: number) => Input;
const input: fc.Arbitrary<Make> = fc.oneof(
  { arbitrary: fc.record({ conn: fc.constantFrom(...conns), bytes }).map(({ conn, bytes }): Make => (at) => ({ _tag: 'BytesReceived', at, conn, bytes: bytes(at) })), weight: 12 },
  fc.record({ conn: fc.constantFrom(...conns), i: fc.nat({ max: 6 }) }).map(({ conn, i }): Make => (at) => ({ _tag: 'ConnectionAccepted', at, conn, remote: addr(i) })),
  fc.constantFrom(...conns).map((conn): Make => (at) => ({ _tag: 'DialSucceeded', at, conn })),
  fc.constantFrom(...conns).map((conn): Make => (at) => ({ _tag: 'DialFailed', at, conn, error: { _tag: 'ConnectionRefused', detail: 'no' } })),
  fc.constantFrom(...conns).map((conn): Make => (at) => ({ _tag: 'ConnectionClosed', at, conn, reason: { _tag: 'PeerClosed' } })),
  fc.constant((at: number): Input => ({ _tag: 'Tick', at })),
  fc.record({ i: fc.nat({ max: 6 }), id: fc.option(fc.constantFrom(...ids), { nil: undefined }) }).map(({ i, id }): Make => (at) =>
    id === undefined ? { _tag: 'Connect', at, cmd: i, address: addr(i) } : { _tag: 'Connect', at, cmd: i, address: addr(i), expectedId: id },
  ),
  fc.record({ packets: fc.array(userWire, { maxLength: 3 }), flag: fc.nat({ max: 4 }), type: fc.nat({ max: 0x12 }) }).map((r): Make => (at) => ({ _tag: 'Send', at, ...r })),
  fc.record({ to: fc.constantFrom(...ids), packets: fc.array(userWire, { maxLength: 2 }), cmd: fc.nat() }).map((r): Make => (at) => ({ _tag: 'Reply', at, ...r })),
  fc.constantFrom(...ids).map((peer): Make => (at) => ({ _tag: 'Disconnect', at, peer })),
  fc.constant((at: number): Input => ({ _tag: 'RequestPeers', at })),
);

// Mostly small steps of the clock, now and then a jump past every timeout.
const dtMs = fc.oneof({ arbitrary: fc.nat({ max: 3000 }), weight: 9 }, { arbitrary: fc.nat({ max: 90_000 }), weight: 1 });
const script = fc.record({ steps: fc.array(fc.tuple(dtMs, input), { maxLength: 80, size: 'max' }), shutdown: fc.boolean() });

// Three peers handshaken in first, so most frames land on live connections.
const opening = (st: NodeState): void => {
  others.slice(0, 3).forEach((e, i) => {
    step(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: conns[i]!, remote: e.config.outAddr });
    step(me, st, { _tag: 'BytesReceived', at: T0, conn: conns[i]!, bytes: handshakeFrom(e, [zlib]) });
  });
};

const checkInvariants = (st: NodeState): void => {
  for (const [peer, connId] of st.routing) {
    const c = st.conns.get(connId);
    expect(c?.phase).toBe('ready');
    expect(c?.peer).toBe(peer);
  }
  expect(st.conns.size).toBeLessThanOrEqual(me.config.connectionsMax);
  // The deadline scans walk `timed`: it must hold every connection with a deadline.
  for (const c of st.conns.values()) if (c.deadlineAt !== undefined || c.stallAt !== undefined) expect(st.timed.has(c)).toBe(true);
  expect(nodeStatus(st).seen).toBeLessThanOrEqual(me.config.seenMax);
  expect(st.seen.queueKeys.length - st.seen.head).toBeGreaterThanOrEqual(nodeStatus(st).seen);
  expect(st.pendingCount).toBe([...st.pending.values()].reduce((n, l) => n + l.length, 0));
  expect(st.pendingCount).toBeLessThanOrEqual(me.config.pendingRequestsMax);
};

describe('step', () => {
  it('never throws and keeps its invariants on arbitrary inputs', () => {
    fc.assert(
      fc.property(script, ({ steps, shutdown }) => {
        const st = initNode(me, T0);
        opening(st);
        let at = T0;
        for (const [dt, make] of steps) {
          at += dt;
          step(me, st, make(at));
          checkInvariants(st);
          const wake = nextWakeup(st);
          if (wake !== undefined) expect(Number.isFinite(wake)).toBe(true);
          // A due Tick leaves nothing due at its own time, so a shell never spins on the wake-up.
          if (wake !== undefined && wake <= at) {
            step(me, st, { _tag: 'Tick', at });
            expect(nextWakeup(st) ?? Infinity).toBeGreaterThan(at);
          }
        }
        if (shutdown) {
          step(me, st, { _tag: 'Shutdown', at });
          expect(st.conns.size).toBe(0);
        }
      }),
      { numRuns: propRuns(500) },
    );
  });
});
