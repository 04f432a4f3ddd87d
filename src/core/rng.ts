/**
 * Seeded pseudo-random numbers as data.
 *
 * Owns: a 32-bit PRNG state (mulberry32) and pure draws from it.
 * Inputs: a seed (from `NodeConfig.seed`). Effects: none.
 * Invariant: the same seed gives the same sequence on every host.
 * Deliberately not: cryptographic. It only spreads choices (which peers to dial first).
 */

/** The PRNG state: one unsigned 32-bit integer. */
export type Rng = number;

/** A PRNG seeded from any number (its low 32 bits). */
export const seedRng = (seed: number): Rng => seed >>> 0;

/** One draw in [0, 2^32) and the next state. */
export const nextU32 = (rng: Rng): readonly [number, Rng] => {
  const next = (rng + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [(t ^ (t >>> 14)) >>> 0, next];
};

/** A draw in [0, n) for n ≥ 1 and the next state. */
export const nextBelow = (rng: Rng, n: number): readonly [number, Rng] => {
  const [u, next] = nextU32(rng);
  return [u % Math.max(1, n), next];
};

/** A shuffled copy of `items` (Fisher–Yates) and the next state. */
export const shuffle = <A>(rng: Rng, items: ReadonlyArray<A>): readonly [ReadonlyArray<A>, Rng] => {
  const out = items.slice();
  let r = rng;
  for (let i = out.length - 1; i > 0; i--) {
    const [j, next] = nextBelow(r, i + 1);
    r = next;
    const a = out[i] as A;
    out[i] = out[j] as A;
    out[j] = a;
  }
  return [out, r];
};
