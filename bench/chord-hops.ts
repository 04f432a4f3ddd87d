// Lookup hops on chord rings of 64 … 4,096 storing nodes, each connected by `choosePeers`.
//
// Node positions are SHA-384 ids (as real node ids are), keys are the five table positions of
// "key-i". Connections are two-way: a node's peers are those it chose plus those that chose it
// (a second row uses only the peers a node chose itself, the worst case).
// Each lookup starts at a node drawn with a seeded PRNG and is forwarded hop by hop, every hop
// re-running `find` over its own peers (§5). Checks that each lookup ends at the true owner.
//
// For comparison: the same rings where each node keeps only its 2 + 2 nearest neighbours, which
// is what a four-connection policy without fingers amounts to. js2p has no figure here: its chord
// works for 2–4 fully connected nodes and never forwards a lookup (PROTOCOL.md §11).
import { createHash } from 'node:crypto';
import { nodeCapabilities } from '../src/shell/caps.js';
import { keyPositionsOf, TABLES } from '../src/core/chord/ring.js';
import { CHORD_NEIGHBOURS_PER_SIDE, CHORD_PEERS_MAX, choosePeers, find, lookupPath } from '../src/core/chord/routing.js';
import { nextBelow, seedRng, type Rng } from '../src/core/rng.js';

const caps = nodeCapabilities;

const SIZES = [64, 256, 1024, 4096];
const LOOKUPS = 5000;
const SEED = 0x5eed;

const nodeAt = (i: number): bigint => BigInt('0x' + createHash('sha384').update(`node-${SEED}-${i}`).digest('hex'));

/** Connection sets after every node ran the policy with `budget` (two-way: as TCP links are). */
const connect = (nodes: ReadonlyArray<bigint>, budget: number, twoWay: boolean): Map<bigint, bigint[]> => {
  const links = new Map(nodes.map((n) => [n, new Set<bigint>()] as const));
  const all = nodes.map((position) => ({ position }));
  for (const n of nodes) {
    for (const p of choosePeers(n, all, budget)) {
      links.get(n)?.add(p.position);
      if (twoWay) links.get(p.position)?.add(n);
    }
  }
  return new Map([...links].map(([n, s]) => [n, [...s]] as const));
};

interface Figures {
  readonly mean: number;
  readonly p99: number;
  readonly max: number;
  readonly degree: number;
}

const measure = (nodes: ReadonlyArray<bigint>, links: Map<bigint, bigint[]>): Figures => {
  const all = nodes.map((position) => ({ position }));
  const hops: number[] = [];
  let rng: Rng = seedRng(SEED);
  for (let i = 0; i < LOOKUPS; i++) {
    const [pick, r1] = nextBelow(rng, nodes.length);
    const [table, r2] = nextBelow(r1, TABLES.length);
    rng = r2;
    const key = keyPositionsOf(caps, `key-${i}`)[TABLES[table] ?? 'sha384'];
    const result = lookupPath(nodes[pick] ?? 0n, key, (n) => links.get(n) ?? [], nodes.length);
    const owner = find(key, all);
    const last = result.path[result.path.length - 1];
    if (result._tag !== 'Found' || owner._tag !== 'Some' || last !== owner.value.position) {
      throw new Error(`lookup ${i} on ${nodes.length} nodes did not reach the owner`);
    }
    hops.push(result.path.length - 1);
  }
  hops.sort((a, b) => a - b);
  const degrees = [...links.values()].map((s) => s.length);
  return {
    mean: hops.reduce((a, b) => a + b, 0) / hops.length,
    p99: hops[Math.min(hops.length - 1, Math.ceil(0.99 * hops.length) - 1)] ?? 0,
    max: hops[hops.length - 1] ?? 0,
    degree: degrees.reduce((a, b) => a + b, 0) / degrees.length,
  };
};

console.log(`chord lookup hops: ${LOOKUPS} lookups per ring, seed ${SEED}, budget ${CHORD_PEERS_MAX}`);
console.log('nodes  policy            mean hops  p99  max  target(½·log2 N + 1)  mean peers');
for (const n of SIZES) {
  const nodes = Array.from({ length: n }, (_, i) => nodeAt(i));
  const target = 0.5 * Math.log2(n) + 1;
  const rows: ReadonlyArray<readonly [string, number, boolean]> = [
    ['choosePeers', CHORD_PEERS_MAX, true],
    ['  (one-way only)', CHORD_PEERS_MAX, false],
    ['neighbours only', 2 * CHORD_NEIGHBOURS_PER_SIDE, true],
  ];
  for (const [name, budget, twoWay] of rows) {
    const f = measure(nodes, connect(nodes, budget, twoWay));
    const verdict = name !== 'neighbours only' ? (f.mean <= target ? '  (within target)' : '  (ABOVE target)') : '';
    console.log(
      `${String(n).padStart(5)}  ${name.padEnd(16)}  ${f.mean.toFixed(2).padStart(9)}  ${String(f.p99).padStart(3)}  ${String(f.max).padStart(3)}  ${target.toFixed(2).padStart(20)}  ${f.degree.toFixed(1).padStart(10)}${verdict}`,
    );
  }
}
