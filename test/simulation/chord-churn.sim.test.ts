/**
 * A 256-node simulated chord ring losing and gaining nodes: CHORD_SIM_KEYS keys (default 10,000)
 * written from random nodes; ten nodes unjoin() and then disappear, and every key is still read
 * back with its latest value; then churn (five rounds of a node joining and another unjoining and
 * leaving while keys are rewritten), and once it stops every key reads back a value it was set to,
 * its latest one but for the rare rewrite that lost to an older value handed to a new owner (see
 * README, ChordSocket). Keys are not announced, for the reason given in chord-large.sim.test.ts.
 * CHORD_SIM_SEED draws another ring and other choices.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim.js';
import { addMember, buildRing, inBatches, live, readAll, SETTLE_MS, valueOf, writeKeys, type Ring } from './chord-ring.js';

const NODES = Number(process.env['CHORD_SIM_NODES'] ?? 256);
const KEYS = Number(process.env['CHORD_SIM_KEYS'] ?? 10_000);
const LIMITS = { announceKeys: 0 };
/** Keys rewritten in each round of churn. */
const CHURN_WRITES = 200;

/** A rewrite may lose to an older value handed to a new owner for at most this share of rewrites. */
const STALE_SHARE_MAX = 0.01;

/**
 * Reads every key from a random one of `nodes`, against the values each key was set to, oldest
 * first (`new-i` for a key churn never rewrote): `lost` lists keys that read back anything else
 * (nothing, a failure, another key's value), `stale` keys that read back an earlier value of theirs.
 */
const readBack = (ring: Ring, rng: Prng, nodes: ReadonlyArray<string>, written: ReadonlyMap<number, ReadonlyArray<string>>): { lost: string[]; stale: string[] } => {
  const gets = inBatches(ring, KEYS, (i) => ring.chord.get(nodes[rng.int(nodes.length)] ?? 'n0', `key-${i}`));
  const lost: string[] = [];
  const stale: string[] = [];
  gets.forEach((h, i) => {
    const values = written.get(i) ?? [`new-${i}`];
    const got = valueOf(h);
    const want = values[values.length - 1];
    if (got === want) return;
    (typeof got === 'string' && values.includes(got) ? stale : lost).push(`key-${i}: ${String(got)}, want ${want}`);
  });
  return { lost, stale };
};

const SEED = process.env['CHORD_SIM_SEED'];

describe(`a simulated chord ring of ${NODES} nodes with ${KEYS} keys`, () => {
  it('loses no key when nodes unjoin and leave, nor through churn while keys are written', () => {
    const ring = buildRing(SEED === undefined ? 257 : Number(SEED), NODES, LIMITS);
    const rng = new Prng(SEED === undefined ? 7 : Number(SEED));
    writeKeys(ring, rng, ring.names, KEYS);
    // Ten nodes unjoin, then disappear.
    const leavers = Array.from({ length: 10 }, (_, i) => ring.names[(i * 23 + 5) % ring.names.length] ?? 'n1');
    const handedOver = leavers.map((n) => ring.chord.unjoin(n));
    ring.sim.runFor(5000);
    expect(handedOver.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
    for (const n of leavers) ring.sim.fault({ _tag: 'Crash', node: n });
    ring.sim.runFor(SETTLE_MS);
    const down = new Set(leavers);
    expect(readAll(ring, rng, live(ring, down), KEYS)).toEqual([]);
    // Churn: nodes join and others unjoin-and-leave while keys are rewritten. Each round writes
    // values of its own, so a churn write that is lost leaves an older value and the final read
    // sees it: no key may read back anything but a value it was set to, and at most
    // STALE_SHARE_MAX of the rewrites an earlier one. Every write must be acknowledged, so none is
    // left that may or may not have landed. `written` holds each key's values, oldest first.
    const written = new Map<number, string[]>();
    let rewrites = 0;
    for (let round = 0; round < 5; round++) {
      const nodes = live(ring, down);
      addMember(ring, nodes[rng.int(nodes.length)] ?? 'n0', LIMITS);
      const leaver = nodes[rng.int(nodes.length)] ?? 'n0';
      ring.chord.unjoin(leaver);
      ring.sim.at(ring.sim.now + 3000, () => ring.sim.fault({ _tag: 'Crash', node: leaver }));
      down.add(leaver);
      const writers = live(ring, down);
      const key = (i: number): number => (i * 5 + round) % KEYS;
      const value = (i: number): string => `round-${round}-${key(i)}`;
      const writes = inBatches(ring, Math.min(KEYS, CHURN_WRITES), (i) => ring.chord.set(writers[rng.int(writers.length)] ?? 'n0', `key-${key(i)}`, value(i)));
      expect(writes.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
      writes.forEach((_, i) => {
        const k = key(i);
        written.set(k, [...(written.get(k) ?? [`new-${k}`]), value(i)]);
        rewrites++;
      });
    }
    ring.sim.runFor(SETTLE_MS);
    const { lost, stale } = readBack(ring, rng, live(ring, down), written);
    console.info(`chord churn: ${rewrites} rewrites, ${stale.length} read back an earlier value${stale.length > 0 ? ` (${stale.join('; ')})` : ''}`);
    expect(lost).toEqual([]);
    expect(stale.length, stale.join('; ')).toBeLessThanOrEqual(Math.floor(rewrites * STALE_SHARE_MAX));
  }, 600_000);
});
