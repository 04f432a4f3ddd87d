/**
 * Key announcements (notify) in a 256-node simulated chord ring: every key set from a random
 * node reaches every node's `keys()`, and a deletion leaves every node's set. A notify is a
 * broadcast, and a broadcast floods every link of the ring once, so this ring takes CHORD_NOTIFY_KEYS
 * keys (default 50), not the 10,000 of chord-large.sim.test.ts (whose header gives the cost).
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim.js';
import { buildRing, inBatches, statusOf } from './chord-ring.js';

const NODES = Number(process.env['CHORD_SIM_NODES'] ?? 256);
const KEYS = Number(process.env['CHORD_NOTIFY_KEYS'] ?? 50);

describe(`key announcements in a simulated chord ring of ${NODES} nodes`, () => {
  it(`tell every node of each of ${KEYS} keys set from random nodes, and of a deletion`, () => {
    const ring = buildRing(258, NODES, { announceKeys: 1 });
    const rng = new Prng(3);
    const sets = inBatches(ring, KEYS, (i) => ring.chord.set(ring.names[rng.int(ring.names.length)] ?? 'n0', `key-${i}`, i));
    expect(sets.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
    ring.sim.runFor(5000);
    expect(ring.names.filter((n) => statusOf(ring, n).keys !== KEYS)).toEqual([]);
    const gone = inBatches(ring, 1, () => ring.chord.set(ring.names[rng.int(ring.names.length)] ?? 'n0', 'key-0', null));
    expect(gone.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
    ring.sim.runFor(5000);
    expect(ring.names.filter((n) => statusOf(ring, n).keys !== KEYS - 1)).toEqual([]);
  }, 600_000);
});
