/**
 * A 256-node simulated chord ring losing and gaining nodes: CHORD_SIM_KEYS keys (default 10,000)
 * written from random nodes; ten nodes unjoin() and then disappear, and every key is still read
 * back with its latest value; then churn (five rounds of a node joining and another unjoining and
 * leaving while keys are rewritten), and once it stops every key reads back. Keys are not
 * announced, for the reason given in chord-large.sim.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim.js';
import { addMember, buildRing, inBatches, live, readAll, SETTLE_MS, valueOf, writeKeys, type Ring } from './chord-ring.js';

const NODES = Number(process.env['CHORD_SIM_NODES'] ?? 256);
const KEYS = Number(process.env['CHORD_SIM_KEYS'] ?? 10_000);
const LIMITS = { announceKeys: 0 };
/** Keys rewritten in each round of churn. */
const CHURN_WRITES = 200;

/**
 * Reads every key from a random one of `nodes`; returns the keys that did not read back their
 * latest acknowledged value (`latest`, or `new-i` for a key churn never rewrote).
 */
const readLatest = (ring: Ring, rng: Prng, nodes: ReadonlyArray<string>, latest: ReadonlyMap<number, string>): string[] => {
  const gets = inBatches(ring, KEYS, (i) => ring.chord.get(nodes[rng.int(nodes.length)] ?? 'n0', `key-${i}`));
  return gets.flatMap((h, i) => {
    const want = latest.get(i) ?? `new-${i}`;
    return valueOf(h) === want ? [] : [`key-${i}: ${String(valueOf(h))}, want ${want}`];
  });
};

describe(`a simulated chord ring of ${NODES} nodes with ${KEYS} keys`, () => {
  it('loses no key when nodes unjoin and leave, nor through churn while keys are written', () => {
    const ring = buildRing(257, NODES, LIMITS);
    const rng = new Prng(7);
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
    // sees it. Each key must read back its last acknowledged write; every write must be
    // acknowledged, so none is left that may or may not have landed.
    const latest = new Map<number, string>();
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
      writes.forEach((h, i) => {
        if (h.outcome._tag === 'Ok') latest.set(key(i), value(i));
      });
    }
    ring.sim.runFor(SETTLE_MS);
    expect(readLatest(ring, rng, live(ring, down), latest)).toEqual([]);
  }, 600_000);
});
