/**
 * The simulator's source of randomness: sfc32 (Chris Doty-Humphrey's Small Fast Counting
 * generator, 128 bits of state), seeded through splitmix32. Every random choice a simulation
 * makes — latencies, chunk splits, fault schedules, node seeds — comes from a stream forked from
 * the run seed by a label, so that one purpose drawing more numbers never shifts another's.
 */

/** Mixes a 32-bit value (splitmix32's finaliser). */
const mix32 = (x: number): number => {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
};

/** FNV-1a over a label's UTF-16 code units, for deriving streams by name. */
const labelHash = (label: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

/** A seeded pseudo-random stream. Not for cryptography. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream from a 32-bit seed (other numbers are reduced to 32 bits). */
  constructor(seed: number) {
    const s = seed >>> 0;
    this.a = mix32(s);
    this.b = mix32(s ^ 0x6a09e667);
    this.c = mix32(s ^ 0xbb67ae85);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in [0, n) for n ≥ 1. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** An exponentially distributed draw with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** One element of a non-empty array. */
  pick<T>(xs: ReadonlyArray<T>): T {
    const x = xs[this.int(xs.length)];
    if (x === undefined) throw new RangeError('pick from an empty array');
    return x;
  }

  /** An independent stream derived from this stream's seed and a label (does not advance this one). */
  static derive(seed: number, label: string): Prng {
    return new Prng(mix32((seed >>> 0) ^ labelHash(label)) ^ labelHash(`${label}/${seed >>> 0}`));
  }
}

/** A 32-bit seed derived from a run seed and a label (for node PRNGs and sub-runs). */
export const deriveSeed = (seed: number, label: string): number => Prng.derive(seed, label).nextU32();
