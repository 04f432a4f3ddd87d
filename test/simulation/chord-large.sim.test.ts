/**
 * A 256-node simulated chord ring under load: CHORD_SIM_KEYS keys (default 10,000, the full size
 * of the issue) set from random nodes, each twice, read back from random nodes with their latest
 * value; then two nodes crash without warning and every key that still has 3 of its 5 tables is
 * read back (CHORD_SIM_SEED draws another ring and other choices). Leaving with
 * unjoin() and churn are in chord-churn.sim.test.ts (a file of its own, so the two run side by side).
 *
 * Keys are not announced here (`announceKeys: 0`). A notify is a broadcast, and a broadcast floods
 * every link of the ring once, which is the protocol: in this 256-node ring (about 37 links a
 * node), 200 sets with notify on cost 9,336 frames received per set against 17 with it off, and
 * took 28 s against 0.5 s; 10,000 keys would make some 93 million frames, about 24 minutes at
 * that rate. chord-notify.sim.test.ts checks notify at this size with a few keys instead.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim.js';
import { defaultChordLimits } from '../../src/core/chord/config.js';
import { buildRing, inBatches, live, readAll, readsAfterLoss, SETTLE_MS, statusOf, writeKeys } from './chord-ring.js';

const NODES = Number(process.env['CHORD_SIM_NODES'] ?? 256);
const KEYS = Number(process.env['CHORD_SIM_KEYS'] ?? 10_000);
/** Another ring and other draws (CHORD_SIM_SEED). */
const SEED = process.env['CHORD_SIM_SEED'];
/** Keys are not announced: see the header. */
const LIMITS = { announceKeys: 0 };

describe(`a simulated chord ring of ${NODES} nodes`, () => {
  it(`reads back ${KEYS} keys, set from random nodes, from random nodes with the latest value; two crashes lose only keys left below the quorum`, () => {
    const ring = buildRing(SEED === undefined ? 256 : Number(SEED), NODES, LIMITS);
    const rng = new Prng(SEED === undefined ? 99 : Number(SEED));
    for (const n of ring.names) expect(statusOf(ring, n).storingPeers).toBeGreaterThan(2);
    writeKeys(ring, rng, ring.names, KEYS);
    expect(readAll(ring, rng, ring.names, KEYS)).toEqual([]);
    // Two nodes crash without warning.
    const down = new Set(NODES > 101 ? ['n17', 'n101'] : ['n1', ring.names[NODES - 1] ?? 'n0']);
    expect(down.size).toBe(2);
    for (const n of down) ring.sim.fault({ _tag: 'Crash', node: n });
    ring.sim.runFor(SETTLE_MS);
    // Nothing re-replicates a crashed node's tables (README): a key whose surviving tables are
    // fewer than the quorum may fail to read, and must never read back a wrong value; every other
    // key reads back its latest value. (Two crashes in a small ring can take three tables of a key.)
    const survivors = live(ring, down);
    const gets = inBatches(ring, KEYS, (i) => ring.chord.get(survivors[rng.int(survivors.length)] ?? 'n0', `key-${i}`));
    const { wrong, belowQuorum } = readsAfterLoss(ring, gets, (i) => `key-${i}`, (i) => `new-${i}`, survivors);
    console.info(`chord large: ${belowQuorum} of ${KEYS} keys left with fewer than ${defaultChordLimits.voteQuorum} tables after the crashes`);
    expect(wrong).toEqual([]);
  }, 600_000);
});
