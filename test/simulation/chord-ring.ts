/**
 * Helpers for simulated chord rings: build a ring of joined nodes, run until every command is
 * answered, read outcomes.
 */
import { expect } from 'vitest';
import { Simulation, latency, type Prng } from '../../src/sim.js';
import { ChordDriver, chordKindWith, type ChordHandle } from '../../src/shell/sim/chord.js';
import { defaultChordLimits } from '../../src/core/chord/config.js';
import type { ChordState, ChordStatus } from '../../src/core/chord/node.js';
import { keyPositionsOf, key58Of, TABLES } from '../../src/core/chord/ring.js';
import { nodeCapabilities } from '../../src/shell/caps.js';
import type { WireValue } from '../../src/core/wire/value.js';

/** A ring: the simulation, its driver, and the node names. */
export interface Ring {
  readonly sim: Simulation;
  readonly chord: ChordDriver;
  readonly names: string[];
}

/** Simulated chord nodes without compression (it only costs time here). */
const chordKind = chordKindWith([]);

/** Virtual time given to a ring to settle after it changes, ms. */
export const SETTLE_MS = 40_000;

/** Adds one chord node that joins and connects to `via`. */
export const addMember = (ring: Ring, via: string, limits: Record<string, number> = {}): string => {
  const name = ring.sim.addNode({ subnet: 'chord', kind: chordKind, limits });
  ring.chord.join(name);
  ring.sim.connect(name, via);
  ring.names.push(name);
  return name;
};

/** `size` joined chord nodes, each connected to a random earlier one, settled. */
export const buildRing = (seed: number, size: number, limits: Record<string, number> = {}): Ring => {
  const sim = new Simulation({ seed, kind: chordKind, record: false, trace: 'off', latency: latency.uniform(2, 20) });
  const ring: Ring = { sim, chord: new ChordDriver(sim), names: [] };
  const first = sim.addNode({ subnet: 'chord', limits });
  ring.chord.join(first);
  ring.names.push(first);
  for (let i = 1; i < size; i++) {
    addMember(ring, ring.names[(i * 7919 + seed) % ring.names.length] ?? first, limits);
    sim.runFor(200);
  }
  sim.runFor(SETTLE_MS);
  return ring;
};

/** Runs the ring until every handle is answered (bounded by `maxMs` of virtual time). */
export const settle = (ring: Ring, handles: ReadonlyArray<ChordHandle>, maxMs = 60_000): void => {
  const stepMs = 500;
  for (let t = 0; t < maxMs && handles.some((h) => h.outcome._tag === 'Pending'); t += stepMs) ring.sim.runFor(stepMs);
  expect(handles.filter((h) => h.outcome._tag === 'Pending')).toHaveLength(0);
};

/** The value a get returned, or a description of its failure. */
export const valueOf = (h: ChordHandle): WireValue | string => {
  const o = h.outcome;
  if (o._tag === 'Ok') return o.value ?? null;
  return o._tag === 'Failed' ? `failed: ${o.error._tag}` : 'pending';
};

/** A node's chord status. */
export const statusOf = (ring: Ring, name: string): ChordStatus => ring.sim.status(name) as ChordStatus;

/** Commands issued per batch by `inBatches` (the ring answers a batch before the next is issued). */
export const BATCH = 500;

/** The nodes of `ring` not in `down`. */
export const live = (ring: Ring, down: ReadonlySet<string>): string[] => ring.names.filter((n) => !down.has(n));

/** Issue `count` commands in batches of `BATCH`, each batch answered before the next. */
export const inBatches = (ring: Ring, count: number, issue: (i: number) => ChordHandle): ChordHandle[] => {
  const all: ChordHandle[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const batch: ChordHandle[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) batch.push(issue(i));
    settle(ring, batch);
    all.push(...batch);
  }
  return all;
};

/** A draw of one of `nodes` from `rng`. */
const pickFrom = (rng: Prng, nodes: ReadonlyArray<string>): string => nodes[rng.int(nodes.length)] ?? 'n0';

/** Sets `key-0` … `key-(keys−1)` from random nodes, each twice (`old-i`, then `new-i`, which must win). */
export const writeKeys = (ring: Ring, rng: Prng, nodes: ReadonlyArray<string>, keys: number): void => {
  const first = inBatches(ring, keys, (i) => ring.chord.set(pickFrom(rng, nodes), `key-${i}`, `old-${i}`));
  expect(first.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
  ring.sim.runFor(2000);
  const second = inBatches(ring, keys, (i) => ring.chord.set(pickFrom(rng, nodes), `key-${i}`, `new-${i}`));
  expect(second.filter((h) => h.outcome._tag !== 'Ok')).toHaveLength(0);
  ring.sim.runFor(2000);
};

/** Reads every key from a random one of `nodes`; returns the keys that did not read back `new-i`. */
export const readAll = (ring: Ring, rng: Prng, nodes: ReadonlyArray<string>, keys: number): string[] => {
  const gets = inBatches(ring, keys, (i) => ring.chord.get(pickFrom(rng, nodes), `key-${i}`));
  return gets.flatMap((h, i) => (valueOf(h) === `new-${i}` ? [] : [`key-${i}: ${String(valueOf(h))}`]));
};

/**
 * Reads after a loss of tables (crashes; nothing re-replicates them): each key `key(i)` must read
 * back `want(i)`, except that one of whose five tables `holders` hold fewer than the vote quorum
 * may fail (never read back a wrong value). Returns what broke that, and how many keys were below
 * the quorum (read off the holders' stores).
 */
export const readsAfterLoss = (
  ring: Ring,
  gets: ReadonlyArray<ChordHandle>,
  key: (i: number) => string,
  want: (i: number) => WireValue,
  holders: ReadonlyArray<string>,
): { readonly wrong: string[]; readonly belowQuorum: number } => {
  const stores = holders.flatMap((n) => {
    const st = ring.sim.node(n).state as ChordState | undefined;
    return st === undefined ? [] : [st.store];
  });
  const below = (k: string): boolean => {
    const positions = keyPositionsOf(nodeCapabilities, k);
    const held = TABLES.filter((table) => stores.some((st) => st.tables.get(table)?.has(key58Of(positions[table])) === true)).length;
    return held < defaultChordLimits.voteQuorum;
  };
  const wrong: string[] = [];
  let belowQuorum = 0;
  gets.forEach((h, i) => {
    const isBelow = below(key(i));
    if (isBelow) belowQuorum++;
    const got = valueOf(h);
    const failed = typeof got === 'string' && got.startsWith('failed: ');
    if (got !== want(i) && !(isBelow && failed)) wrong.push(`${key(i)}: ${String(got)}${isBelow ? ' (below quorum)' : ''}`);
  });
  return { wrong, belowQuorum };
};
