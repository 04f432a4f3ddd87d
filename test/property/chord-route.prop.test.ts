// The chord node's fast routing (a sorted view of its peers, searched by bisection) decides as
// `route` does over the storing, routed peers, through any sequence of peer changes; and the
// cheap ring arithmetic under it (distance, canonical key58) agrees with its definition.
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect } from 'vitest';
import { distance, key58Of, parseKey58, positionOf, RING_SIZE } from '../../src/core/chord/ring.js';
import { route } from '../../src/core/chord/routing.js';
import { peersChanged, routeFrom, storingPeers } from '../../src/core/chord/send.js';
import type { ChordCtx, ChordPeer } from '../../src/core/chord/state.js';
import type { ConnId, NodeId } from '../../src/core/types.js';
import { propRuns } from './runs.js';

// Few distinct positions, so ties happen: the same ring point from a raw position past 2^384, and
// the same raw position under two ids (base58 ids with and without leading '1's decode alike).
const position = fc.oneof(
  fc.constantFrom(0n, 5n, 1000n, RING_SIZE - 1n, RING_SIZE + 5n, RING_SIZE + 1000n, 2n * RING_SIZE + 5n),
  fc.bigInt({ min: 0n, max: RING_SIZE - 1n }),
);
const ID_COUNT = 6;
const id = fc.integer({ min: 0, max: ID_COUNT - 1 });

type Op =
  | { readonly op: 'route'; readonly key: bigint }
  | { readonly op: 'add'; readonly id: number; readonly position: bigint; readonly storing: boolean }
  | { readonly op: 'remove'; readonly id: number }
  | { readonly op: 'storing'; readonly id: number; readonly storing: boolean }
  // The mesh drops a routed peer and chord has not heard yet: no peersChanged.
  | { readonly op: 'unroute'; readonly id: number }
  | { readonly op: 'reroute'; readonly id: number }
  | { readonly op: 'join'; readonly joined: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('route' as const), key: fc.oneof(position, fc.bigInt({ min: 0n, max: (1n << 512n) - 1n })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('add' as const), id, position, storing: fc.boolean() }) },
  fc.record({ op: fc.constant('remove' as const), id }),
  fc.record({ op: fc.constant('storing' as const), id, storing: fc.boolean() }),
  fc.record({ op: fc.constant('unroute' as const), id }),
  fc.record({ op: fc.constant('reroute' as const), id }),
  fc.record({ op: fc.constant('join' as const), joined: fc.boolean() }),
);

/** Just what routing reads of a chord node: its position, joined flag, peers, and the mesh's routing table. */
const fakeCtx = (self: bigint, joined: boolean): ChordCtx => {
  const st = { position: self, joined, peers: new Map<NodeId, ChordPeer>(), ringView: undefined, mesh: { routing: new Map<NodeId, ConnId>() } };
  return { st } as unknown as ChordCtx;
};

describe('chord routing from a node', () => {
  test.prop([position, fc.boolean(), fc.array(opArb, { maxLength: 80, size: 'max' })], { numRuns: propRuns(500) })(
    'routeFrom decides as route over the storing, routed peers, after any peer changes',
    (self, joined, ops) => {
      const ctx = fakeCtx(self, joined);
      const st = ctx.st as unknown as { joined: boolean; peers: Map<NodeId, ChordPeer>; mesh: { routing: Map<NodeId, ConnId> } };
      const name = (i: number) => `peer-${i}` as NodeId;
      for (const o of ops) {
        switch (o.op) {
          case 'route':
            expect(routeFrom(ctx, o.key)).toEqual(route(self, st.joined, storingPeers(ctx), o.key));
            break;
          case 'add':
            st.peers.set(name(o.id), { position: o.position, storing: o.storing, outgoing: false });
            st.mesh.routing.set(name(o.id), `c${o.id}` as ConnId);
            peersChanged(ctx);
            break;
          case 'remove':
            st.peers.delete(name(o.id));
            st.mesh.routing.delete(name(o.id));
            peersChanged(ctx);
            break;
          case 'storing': {
            const rec = st.peers.get(name(o.id));
            if (rec !== undefined) rec.storing = o.storing;
            peersChanged(ctx);
            break;
          }
          case 'unroute':
            st.mesh.routing.delete(name(o.id));
            break;
          case 'reroute':
            // Back in the routing table only with a fresh record, as onPeerJoined makes.
            if (st.peers.has(name(o.id))) {
              st.peers.set(name(o.id), { position: st.peers.get(name(o.id))?.position ?? 0n, storing: false, outgoing: false });
              st.mesh.routing.set(name(o.id), `c${o.id}` as ConnId);
              peersChanged(ctx);
            }
            break;
          case 'join':
            st.joined = o.joined;
            break;
        }
      }
    },
  );

  test.prop([fc.bigInt({ min: -(1n << 600n), max: 1n << 600n }), fc.bigInt({ min: -(1n << 600n), max: 1n << 600n })], { numRuns: propRuns(1000) })(
    'distance is (b − a) mod 2^384',
    (a, b) => {
      const m = (b - a) % RING_SIZE;
      expect(distance(a, b)).toBe(m < 0n ? m + RING_SIZE : m);
    },
  );

  test.prop([fc.oneof(fc.bigInt({ min: 0n, max: (1n << 512n) - 1n }), fc.bigInt({ min: 0n, max: 70n })), fc.nat({ max: 4 })], { numRuns: propRuns(1000) })(
    'parseKey58 is key58Of(positionOf(text)), however many leading 1s, and refuses what positionOf refuses',
    (p, pad) => {
      const text = '1'.repeat(pad) + key58Of(p);
      const position = positionOf(text);
      const parsed = parseKey58(text);
      if (E.isLeft(position)) expect(parsed).toEqual(position);
      else expect(parsed).toEqual(E.right({ key58: key58Of(position.right), position: p }));
    },
  );
});
