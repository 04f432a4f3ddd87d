// Two nodes that dial each other (once or twice each, crossing or not) end with one connection,
// the same one at both ends, under every interleaving of the connections' traffic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeStatus, routingTable } from '../../src/core/node.js';
import { createPump, inject, run } from '../../src/core/pump.js';
import { addr, mkEnv, T0 } from '../unit/mesh-env.js';
import { propRuns } from './runs.js';

describe('duplicate connections', () => {
  it('both ends keep the same single connection', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.nat({ max: 2 }),
        fc.nat({ max: 2 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        (salt, fromA, fromB, picks) => {
          fc.pre(fromA + fromB > 0);
          const p = createPump([mkEnv(1, { seed: salt }), mkEnv(2, { seed: salt + 1, id: mkEnv(100 + salt).config.id })], T0);
          for (let k = 0; k < fromA; k++) inject(p, 0, { _tag: 'Connect', at: T0, cmd: k, address: addr(2) });
          for (let k = 0; k < fromB; k++) inject(p, 1, { _tag: 'Connect', at: T0, cmd: k, address: addr(1) });
          let i = 0;
          run(p, 10_000, (n) => (picks.length === 0 ? 0 : picks[i++ % picks.length]! % n));
          const [ra, rb] = [routingTable(p.nodes[0]!.state), routingTable(p.nodes[1]!.state)];
          expect(ra.length).toBe(1);
          expect(rb.length).toBe(1);
          // The two routed connections are the two ends of one link.
          expect(p.links.get(`0|${ra[0]!.conn}`)).toEqual({ node: 1, conn: rb[0]!.conn });
          expect(nodeStatus(p.nodes[0]!.state).connections).toBe(1);
          expect(nodeStatus(p.nodes[1]!.state).connections).toBe(1);
          // Every Connect was answered exactly once.
          const answered = (n: number) =>
            p.nodes[n]!.events.filter((e) => e._tag === 'ConnectSucceeded' || e._tag === 'ConnectFailed').map((e) => ('cmd' in e ? e.cmd : -1)).sort();
          expect(answered(0)).toEqual([...Array(fromA).keys()]);
          expect(answered(1)).toEqual([...Array(fromB).keys()]);
        },
      ),
      { numRuns: propRuns(300) },
    );
  });
});
