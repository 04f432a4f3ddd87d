// Hop-by-hop chord routing over the chosen connections reaches the true owner from any start.
import { fc, test } from '@fast-check/vitest';
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect } from 'vitest';
import { distance, onRing, RING_SIZE } from '../../src/core/chord/ring.js';
import { choosePeers, find, lookupPath, prev } from '../../src/core/chord/routing.js';
import { propRuns } from './runs.js';

// Positions anywhere on the ring, or crowded near 0 (so neighbours are close and wrap-around
// matters), or just past the ring's end (congruent to small positions is avoided by uniqueness).
const position = fc.oneof(
  fc.bigInt({ min: 0n, max: RING_SIZE - 1n }),
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.bigInt({ min: RING_SIZE - 1000n, max: RING_SIZE - 1n }),
);
const ringOf = (min: number, max: number) => fc.uniqueArray(position, { minLength: min, maxLength: max, selector: onRing });

/** Who each node is connected to: what it chose, plus (if symmetric) who chose it. */
const connections = (nodes: ReadonlyArray<bigint>, budget: number, symmetric: boolean): Map<bigint, Set<bigint>> => {
  const links = new Map(nodes.map((n) => [n, new Set<bigint>()] as const));
  for (const n of nodes) {
    const others = nodes.filter((m) => m !== n).map((position) => ({ position }));
    for (const p of choosePeers(n, others, budget)) {
      links.get(n)?.add(p.position);
      if (symmetric) links.get(p.position)?.add(n);
    }
  }
  return links;
};

describe('chord routing', () => {
  test.prop(
    [ringOf(1, 48), fc.bigInt({ min: 0n, max: (1n << 512n) - 1n }), fc.nat(), fc.integer({ min: 1, max: 40 }), fc.boolean()],
    { numRuns: propRuns(300) },
  )('from any start node, hop-by-hop find ends at the global owner', (nodes, key, startPick, budget, symmetric) => {
    const links = connections(nodes, budget, symmetric);
    const start = nodes[startPick % nodes.length] ?? 0n;
    const result = lookupPath(start, key, (n) => [...(links.get(n) ?? [])]);
    const owner = find(key, nodes.map((position) => ({ position })));
    expect(result._tag).toBe('Found');
    expect(result.path[result.path.length - 1]).toBe(O.isSome(owner) ? owner.value.position : undefined);
    // every hop is strictly closer to the key, so no path can loop
    for (let i = 1; i < result.path.length; i++) {
      expect(distance(result.path[i] ?? 0n, key) < distance(result.path[i - 1] ?? 0n, key)).toBe(true);
    }
  });

  test.prop([ringOf(2, 40), fc.integer({ min: 0, max: 60 })])(
    'the choice respects the budget, never picks self, and always keeps the clockwise neighbour',
    (nodes, budget) => {
      const [self, ...others] = nodes as [bigint, ...bigint[]];
      const cands = others.map((position) => ({ position }));
      const chosen = choosePeers(self, cands, budget);
      expect(chosen.length).toBeLessThanOrEqual(Math.min(budget, others.length));
      // neighbours first: as many as the budget allows, up to two on each side
      expect(chosen.length).toBeGreaterThanOrEqual(Math.min(budget, others.length, 4));
      expect(new Set(chosen.map((p) => p.position)).size).toBe(chosen.length);
      expect(chosen.some((p) => p.position === self)).toBe(false);
      if (budget > 0) expect(chosen[0]).toEqual(O.toUndefined(prev(self, cands)));
    },
  );
});
