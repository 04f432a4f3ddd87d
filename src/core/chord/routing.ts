/**
 * Chord routing: who owns a ring position, which way a request goes next, and which peers a
 * node keeps connected so that lookups take O(log N) hops.
 *
 * Ownership (§5): among the candidates (self if joined, plus every storing peer), the owner of
 * key k is the n minimising `distance(n, k)`: the nearest node at-or-below k going clockwise,
 * i.e. a key belongs to its *predecessor*. Every hop re-runs `find` over its own peers, so a
 * request moves strictly closer (clockwise distance to k shrinks) at each hop and stops at the
 * node that finds itself. That node is the true owner as long as every node is connected to its
 * clockwise neighbour; `choosePeers` always keeps that neighbour first.
 *
 * Naming quirk kept from the seeds: `next` is the nearest storing peer *below* self
 * (counter-clockwise, the usual "predecessor"), and `prev` is the nearest *above* (clockwise, the
 * usual "successor"). The functions keep the seeds' names so the code reads against §5.
 *
 * Inputs: positions (bigint) and candidate lists. Effects: none; all pure and deterministic.
 * Ties (two candidates at the same ring point) go to the smaller raw position, then to the
 * earlier candidate; in `route` a tie with self goes to self.
 * Deliberately not here: connections, messages, the store.
 */
import * as O from 'fp-ts/lib/Option.js';
import { distance, onRing, RING_BITS } from './ring.js';

/** Anything with a ring position: a peer record, a node in a simulation. */
export interface Positioned {
  readonly position: bigint;
}

/**
 * Default connection budget for chord peers: 2 neighbours on each side (so losing one neighbour
 * never cuts the ring) plus up to 28 fingers, enough for O(log N) lookups up to ~2^28 nodes. A
 * ring of N nodes only has about log2 N distinct fingers, so small rings use far fewer.
 */
export const CHORD_PEERS_MAX = 32;
/** Storing neighbours kept on each side of self before any finger. */
export const CHORD_NEIGHBOURS_PER_SIDE = 2;
/** Upper bound on hops `lookupPath` will follow before giving up. */
export const LOOKUP_HOPS_MAX = 1024;

/** Picks the candidate minimising `score`, with the module's tie rule. */
const minimiseBy = <P extends Positioned>(candidates: ReadonlyArray<P>, score: (p: P) => bigint): O.Option<P> => {
  let best: P | undefined;
  let bestScore = 0n;
  for (const c of candidates) {
    const s = score(c);
    if (best === undefined || s < bestScore || (s === bestScore && c.position < best.position)) {
      best = c;
      bestScore = s;
    }
  }
  return best === undefined ? O.none : O.some(best);
};

/** The owner of `key` among `candidates`: the one minimising `distance(n, key)` (§5 `find`). */
export const find = <P extends Positioned>(key: bigint, candidates: ReadonlyArray<P>): O.Option<P> =>
  minimiseBy(candidates, (n) => distance(n.position, key));

/** The candidate minimising `distance(key, n)`: the nearest at-or-above `key` (§5 `find_prev`). */
export const findPrev = <P extends Positioned>(key: bigint, candidates: ReadonlyArray<P>): O.Option<P> =>
  minimiseBy(candidates, (n) => distance(key, n.position));

/**
 * The seeds' `next`: `find(self − 1)` over the storing peers, the nearest peer strictly *below*
 * self. (The seeds include self as a candidate, which only matters with no peers: then they
 * answer self, and this answers none.)
 */
export const next = <P extends Positioned>(self: bigint, peers: ReadonlyArray<P>): O.Option<P> =>
  find(self - 1n, withoutPosition(self, peers));

/** The seeds' `prev`: `find_prev(self + 1)` over the storing peers, the nearest strictly *above*. */
export const prev = <P extends Positioned>(self: bigint, peers: ReadonlyArray<P>): O.Option<P> =>
  findPrev(self + 1n, withoutPosition(self, peers));

/** Where a request for `key` goes from a node: handled here, forwarded to a peer, or nowhere. */
export type Route<P> =
  | { readonly _tag: 'Local' }
  | { readonly _tag: 'Forward'; readonly peer: P }
  | { readonly _tag: 'NoRoute' };

/**
 * One routing decision (§5): `find(key)` over self (only if `joined`) and the storing peers.
 * A leeching node with no storing peer gets `NoRoute` (py2p stores locally, js2p crashes; the
 * caller reports a typed error instead).
 */
export const route = <P extends Positioned>(
  self: bigint,
  joined: boolean,
  storingPeers: ReadonlyArray<P>,
  key: bigint,
): Route<P> => {
  const best = find(key, storingPeers);
  if (joined && (O.isNone(best) || distance(self, key) <= distance(best.value.position, key))) {
    return { _tag: 'Local' };
  }
  return O.isSome(best) ? { _tag: 'Forward', peer: best.value } : { _tag: 'NoRoute' };
};

/** Candidates other than those sitting on `self`'s ring point. */
const withoutPosition = <P extends Positioned>(self: bigint, peers: ReadonlyArray<P>): ReadonlyArray<P> => {
  const s = onRing(self);
  return peers.filter((p) => onRing(p.position) !== s);
};

/** The first index in `sorted` (ascending) whose value is ≥ `target`, or `sorted.length`. */
const lowerBound = (sorted: ReadonlyArray<bigint>, target: bigint): number => {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0n) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/**
 * Which candidates a node at `self` keeps connected, at most `budget` of them, best first:
 *
 * 1. its storing neighbours, alternating clockwise (the seeds' `prev`, which routing correctness
 *    rests on) and counter-clockwise (`next`), `CHORD_NEIGHBOURS_PER_SIDE` on each side;
 * 2. then fingers, largest gap first: for i = 1, 2, … the first candidate at-or-clockwise-after
 *    `self + 2^(384−i)`, skipping repeats, until the fingers reach the clockwise neighbour.
 *
 * With the fingers in place, each greedy hop at least halves the remaining clockwise distance to
 * the key, which is the Chord paper's O(log N) bound. A budget below 4 + log2 N drops the
 * smallest fingers first: lookups stay correct (the clockwise neighbour is always kept) but the
 * last stretch then moves by neighbours only. Candidates on self's ring point are
 * ignored, and so are repeats of one ring point (the first one listed is kept).
 */
export const choosePeers = <P extends Positioned>(
  self: bigint,
  candidates: ReadonlyArray<P>,
  budget: number = CHORD_PEERS_MAX,
): ReadonlyArray<P> => {
  const byPoint = new Map<bigint, P>();
  for (const c of candidates) {
    const d = distance(self, c.position);
    if (d !== 0n && !byPoint.has(d)) byPoint.set(d, c);
  }
  const dists = [...byPoint.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const limit = Math.max(0, Math.min(Math.floor(budget), dists.length));
  const chosen: bigint[] = [];
  const seen = new Set<bigint>();
  const take = (d: bigint | undefined): void => {
    if (d !== undefined && chosen.length < limit && !seen.has(d)) {
      seen.add(d);
      chosen.push(d);
    }
  };
  for (let j = 0; j < CHORD_NEIGHBOURS_PER_SIDE; j++) {
    take(dists[j]);
    take(dists[dists.length - 1 - j]);
  }
  for (let i = 1n; i <= RING_BITS && chosen.length < limit; i++) {
    const at = lowerBound(dists, 1n << (RING_BITS - i));
    if (at === 0) break; // every smaller finger is the clockwise neighbour again
    take(dists[at]);
  }
  return chosen.flatMap((d) => {
    const p = byPoint.get(d);
    return p === undefined ? [] : [p];
  });
};

/** How a hop-by-hop lookup ended: at the node that found itself, or at the hop limit. */
export type LookupResult =
  | { readonly _tag: 'Found'; readonly path: ReadonlyArray<bigint> }
  | { readonly _tag: 'HopLimit'; readonly path: ReadonlyArray<bigint> };

/**
 * The path a request for `key` takes from `start` when each node re-runs `find` over itself and
 * `peersOf(itself)` (all storing). The path starts with `start` and ends with the node that
 * handles the key; hops = `path.length − 1`. For tests and benchmarks.
 */
export const lookupPath = (
  start: bigint,
  key: bigint,
  peersOf: (node: bigint) => ReadonlyArray<bigint>,
  hopsMax: number = LOOKUP_HOPS_MAX,
): LookupResult => {
  const path: bigint[] = [start];
  let here = start;
  for (let hop = 0; hop < hopsMax; hop++) {
    const peers = peersOf(here).map((position) => ({ position }));
    const r = route(here, true, peers, key);
    if (r._tag !== 'Forward') return { _tag: 'Found', path };
    here = r.peer.position;
    path.push(here);
  }
  return { _tag: 'HopLimit', path };
};
