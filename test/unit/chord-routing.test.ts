// Chord routing on small hand-built rings: ownership, the seeds' next/prev, route, peer choice.
import * as O from 'fp-ts/lib/Option.js';
import { describe, expect, it } from 'vitest';
import { RING_SIZE } from '../../src/core/chord/ring.js';
import {
  CHORD_NEIGHBOURS_PER_SIDE,
  choosePeers,
  find,
  findPrev,
  lookupPath,
  next,
  prev,
  route,
} from '../../src/core/chord/routing.js';

const at = (position: bigint) => ({ position });
const ring = [10n, 20n, 30n, RING_SIZE - 5n].map(at);
const pos = (o: O.Option<{ readonly position: bigint }>) => (O.isSome(o) ? o.value.position : undefined);

describe('find and findPrev', () => {
  it('gives a key to the nearest node at or below it', () => {
    expect(pos(find(20n, ring))).toBe(20n);
    expect(pos(find(25n, ring))).toBe(20n);
    expect(pos(find(29n, ring))).toBe(20n);
    expect(pos(find(RING_SIZE - 1n, ring))).toBe(RING_SIZE - 5n);
    // below the lowest node, ownership wraps to the highest
    expect(pos(find(3n, ring))).toBe(RING_SIZE - 5n);
  });

  it('findPrev picks the nearest node at or above', () => {
    expect(pos(findPrev(20n, ring))).toBe(20n);
    expect(pos(findPrev(21n, ring))).toBe(30n);
    expect(pos(findPrev(RING_SIZE - 1n, ring))).toBe(10n);
  });

  it('answers none with no candidates', () => {
    expect(find(1n, [])).toEqual(O.none);
    expect(findPrev(1n, [])).toEqual(O.none);
  });

  it('breaks a tie between congruent positions towards the smaller raw position', () => {
    expect(pos(find(50n, [at(RING_SIZE + 40n), at(40n)]))).toBe(40n);
  });
});

describe("the seeds' next and prev", () => {
  it('next is the nearest peer below self, prev the nearest above (names reversed from the usual)', () => {
    expect(pos(next(20n, ring))).toBe(10n);
    expect(pos(prev(20n, ring))).toBe(30n);
    expect(pos(next(10n, ring))).toBe(RING_SIZE - 5n);
    expect(pos(prev(RING_SIZE - 5n, ring))).toBe(10n);
  });

  it('never answers self, and answers none when self is alone', () => {
    expect(next(20n, [at(20n)])).toEqual(O.none);
    expect(prev(20n, [])).toEqual(O.none);
  });
});

describe('route', () => {
  const peers = [at(100n), at(300n)];
  it('keeps keys that self owns, forwards the rest to the owner among its peers', () => {
    expect(route(200n, true, peers, 250n)).toEqual({ _tag: 'Local' });
    expect(route(200n, true, peers, 200n)).toEqual({ _tag: 'Local' });
    expect(route(200n, true, peers, 300n)).toEqual({ _tag: 'Forward', peer: at(300n) });
    expect(route(200n, true, peers, 150n)).toEqual({ _tag: 'Forward', peer: at(100n) });
  });

  it('a leeching node never keeps a key, and with no storing peer has no route', () => {
    expect(route(200n, false, peers, 250n)).toEqual({ _tag: 'Forward', peer: at(100n) });
    expect(route(200n, false, [], 250n)).toEqual({ _tag: 'NoRoute' });
    expect(route(200n, true, [], 1n)).toEqual({ _tag: 'Local' });
  });
});

describe('choosePeers', () => {
  // 64 evenly spaced nodes; self at 0.
  const step = RING_SIZE / 64n;
  const nodes = Array.from({ length: 63 }, (_, i) => at(step * BigInt(i + 1)));

  it('takes neighbours on both sides first, clockwise first', () => {
    expect(choosePeers(0n, nodes, 1).map((p) => p.position)).toEqual([step]);
    expect(choosePeers(0n, nodes, 2 * CHORD_NEIGHBOURS_PER_SIDE).map((p) => p.position)).toEqual([
      step,
      step * 63n,
      step * 2n,
      step * 62n,
    ]);
  });

  it('then fingers at half, quarter, … of the ring, stopping at the neighbour', () => {
    const chosen = choosePeers(0n, nodes, 100).map((p) => p.position / step);
    expect(chosen).toEqual([1n, 63n, 2n, 62n, 32n, 16n, 8n, 4n]);
  });

  it('respects the budget, ignores self and repeated points', () => {
    expect(choosePeers(0n, nodes, 6)).toHaveLength(6);
    expect(choosePeers(0n, nodes, 0)).toEqual([]);
    expect(choosePeers(5n, [at(5n), at(5n + RING_SIZE), at(9n), at(9n)], 10)).toEqual([at(9n)]);
  });
});

describe('lookupPath', () => {
  it('follows find hop by hop to the owner', () => {
    // a ring where each node only knows its clockwise neighbour
    const n = [0n, 10n, 20n, 30n, 40n];
    const succ = (x: bigint) => [n[(n.indexOf(x) + 1) % n.length] ?? 0n];
    expect(lookupPath(0n, 35n, succ)).toEqual({ _tag: 'Found', path: [0n, 10n, 20n, 30n] });
    expect(lookupPath(30n, 5n, succ)).toEqual({ _tag: 'Found', path: [30n, 40n, 0n] });
    expect(lookupPath(30n, 35n, succ)).toEqual({ _tag: 'Found', path: [30n] });
  });

  it('stops at the hop limit', () => {
    const n = [0n, 10n, 20n, 30n, 40n];
    const succ = (x: bigint) => [n[(n.indexOf(x) + 1) % n.length] ?? 0n];
    expect(lookupPath(0n, 45n, succ, 2)).toEqual({ _tag: 'HopLimit', path: [0n, 10n, 20n] });
  });
});
