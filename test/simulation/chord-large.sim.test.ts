/**
 * A 256-node simulated chord ring under load and faults: keys set from random nodes read back
 * from random nodes with their latest value; two crashes without warning; nodes that unjoin and
 * leave; churn while keys are written.
 *
 * CI size: 256 nodes and CHORD_SIM_KEYS keys (default 1,000). Keys are not announced (notify
 * off: it floods every link per key and `keys()` is not under test here). The full run of 10,000 keys:
 * `CHORD_SIM_KEYS=10000 npx vitest run test/simulation/chord-large.sim.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim.js';
import { addMember, buildRing, settle, SETTLE_MS, statusOf, valueOf, type Ring } from './chord-ring.js';
import type { ChordHandle } from '../../src/shell/sim/chord.js';

const NODES = Number(process.env['CHORD_SIM_NODES'] ?? 256);
const KEYS = Number(process.env['CHORD_SIM_KEYS'] ?? 1000);
/** Notify broadcasts flood every link once per new key; off here (keys() is not under test). */
const LIMITS = { announceKeys: 0 };
/** Commands issued per batch (the ring answers a batch before the next is issued). */
const BATCH = 500;

const live = (ring: Ring, down: ReadonlySet<string>): string[] => ring.names.filter((n) => !down.has(n));

/** Issue `count` commands in batches, each answered before the next batch. */
const inBatches = (ring: Ring, count: number, issue: (i: number) => ChordHandle): ChordHandle[] => {
  const all: ChordHandle[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const batch: ChordHandle[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) batch.push(issue(i));
    settle(ring, batch);
    all.push(...batch);
  }
  return all;
};

/** Sets KEYS keys (each twice, the second value wins) from random nodes. */
const writeKeys = (ring: Ring, rng: Prng, nodes: ReadonlyArray<string>): void => {
  const at = (): string => nodes[rng.int(nodes.length)] ?? 'n0';
  const first = inBatches(ring, KEYS, (i) => ring.chord.set(at(), `key-${i}`, `old-${i}`));
  expect(first.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
  ring.sim.runFor(2000);
  const second = inBatches(ring, KEYS, (i) => ring.chord.set(at(), `key-${i}`, `new-${i}`));
  expect(second.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
  ring.sim.runFor(2000);
};

/** Reads every key from a random live node; returns the keys that did not read back right. */
const readAll = (ring: Ring, rng: Prng, nodes: ReadonlyArray<string>): string[] => {
  const gets = inBatches(ring, KEYS, (i) => ring.chord.get(nodes[rng.int(nodes.length)] ?? 'n0', `key-${i}`));
  return gets.flatMap((h, i) => (valueOf(h) === `new-${i}` ? [] : [`key-${i}: ${String(valueOf(h))}`]));
};

describe(`a simulated chord ring of ${NODES} nodes`, () => {
  it(`reads back ${KEYS} keys, set from random nodes, from random nodes with the latest value; two crashes lose nothing`, () => {
    const ring = buildRing(256, NODES, LIMITS);
    const rng = new Prng(99);
    for (const n of ring.names) expect(statusOf(ring, n).storingPeers).toBeGreaterThan(2);
    writeKeys(ring, rng, ring.names);
    expect(readAll(ring, rng, ring.names)).toEqual([]);
    // Two nodes crash without warning.
    const down = new Set(['n17', 'n101'].filter((n) => ring.names.includes(n)));
    for (const n of down) ring.sim.fault({ _tag: 'Crash', node: n });
    ring.sim.runFor(SETTLE_MS);
    expect(readAll(ring, rng, live(ring, down))).toEqual([]);
  }, 600_000);

  it('loses no key when nodes unjoin and leave, nor through churn while keys are written', () => {
    const ring = buildRing(257, NODES, LIMITS);
    const rng = new Prng(7);
    writeKeys(ring, rng, ring.names);
    // Ten nodes unjoin, then disappear.
    const leavers = Array.from({ length: 10 }, (_, i) => ring.names[(i * 23 + 5) % ring.names.length] ?? 'n1');
    settle(ring, leavers.map((n) => ring.chord.unjoin(n)));
    ring.sim.runFor(5000);
    for (const n of leavers) ring.sim.fault({ _tag: 'Crash', node: n });
    ring.sim.runFor(SETTLE_MS);
    const down = new Set(leavers);
    expect(readAll(ring, rng, live(ring, down))).toEqual([]);
    // Churn: nodes join and others unjoin-and-leave while keys are rewritten.
    for (let round = 0; round < 5; round++) {
      const nodes = live(ring, down);
      addMember(ring, nodes[rng.int(nodes.length)] ?? 'n0', LIMITS);
      const leaver = nodes[rng.int(nodes.length)] ?? 'n0';
      ring.chord.unjoin(leaver);
      ring.sim.at(ring.sim.now + 3000, () => ring.sim.fault({ _tag: 'Crash', node: leaver }));
      down.add(leaver);
      const writers = live(ring, down);
      inBatches(ring, Math.min(KEYS, 200), (i) => ring.chord.set(writers[rng.int(writers.length)] ?? 'n0', `key-${(i * 5 + round) % KEYS}`, `new-${(i * 5 + round) % KEYS}`));
    }
    ring.sim.runFor(SETTLE_MS);
    expect(readAll(ring, rng, live(ring, down))).toEqual([]);
  }, 600_000);
});
