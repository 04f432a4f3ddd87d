// `npm run bench:chord`: chord figures in one run.
//
// 1. Lookup hops on rings of 64 … 4,096 nodes connected by `choosePeers` (bench/chord-hops.ts).
// 2. Lookup hops measured on the simulator with the real chord core: every node dialled its own
//    neighbours and fingers from peers lists; each get's five retrieves are counted hop by hop.
// 3. Work per delta on a stored map of 1,000 to 32,000 entries (the chord core, no network).
// 4. get/set per second on loopback rings of ChordSockets, ts2p and js2p 0.7.870 in the same run.
//    js2p works for 2–4 fully connected nodes only (a js2p node with 4 outgoing connections throws
//    `distance is not defined`, PROTOCOL.md §11), so js2p runs four nodes; ts2p runs five and four.
import net from 'node:net';
import { createRequire } from 'node:module';
import { Simulation, latency, chordKindWith, ChordDriver, type ChordHandle } from '../src/sim.js';
import { ChordSocket } from '../src/shell/api/chord.js';
import { unpack } from 'msgpackr';
import { subFlags } from '../src/core/flags.js';

await import('./chord-hops.js');

// ---------------------------------------------------------------------------------------------
// 2. hops on the simulator

const SIM_SIZES = (process.env['BENCH_CHORD_SIM_SIZES'] ?? '64,256').split(',').map(Number).filter((n) => n > 1);
const SIM_GETS = 500;

const simHops = (size: number): { mean: number; p99: number; ok: number } => {
  const sim = new Simulation({ seed: size, kind: chordKindWith([]), record: false, trace: 'off', latency: latency.uniform(2, 20) });
  const chord = new ChordDriver(sim);
  const names: string[] = [];
  const limits = { announceKeys: 0 };
  for (let i = 0; i < size; i++) {
    const n = sim.addNode({ subnet: 'chord', limits });
    chord.join(n);
    if (i > 0) sim.connect(n, names[(i * 7919) % names.length] ?? 'n0');
    names.push(n);
    sim.runFor(200);
  }
  sim.runFor(60_000);
  const runAll = (hs: ChordHandle[]): void => {
    for (let t = 0; t < 120 && hs.some((h) => h.outcome._tag === 'Pending'); t++) sim.runFor(500);
  };
  runAll(Array.from({ length: SIM_GETS }, (_, i) => chord.set(names[(i * 31) % size] ?? 'n0', `k${i}`, i)));
  sim.runFor(2000);
  // Count retrieve messages sent per get: every hop of a lookup sends one retrieve.
  let retrieves = 0;
  sim.observe((o) => {
    if (o._tag !== 'Step') return;
    for (const e of o.effects) if (e._tag === 'Write' && e.bytes.length > 4) retrieves += isRetrieve(e.bytes) ? 1 : 0;
  });
  const perGet: number[] = [];
  let ok = 0;
  for (let i = 0; i < SIM_GETS; i++) {
    const before = retrieves;
    const h = chord.get(names[(i * 17 + 3) % size] ?? 'n0', `k${i}`);
    runAll([h]);
    if (h.outcome._tag === 'Ok' && h.outcome.value === i) ok++;
    perGet.push((retrieves - before) / 5);
  }
  perGet.sort((a, b) => a - b);
  return { mean: perGet.reduce((a, b) => a + b, 0) / perGet.length, p99: perGet[Math.ceil(0.99 * perGet.length) - 1] ?? 0, ok };
};

/** True when an uncompressed frame carries a chord retrieve (sub-flag 0x0C at payload[0]). */
const isRetrieve = (bytes: Uint8Array): boolean => {
  // Frame: 4-byte length, 32-byte checksum, then a msgpack array [msgType, sender, time, subFlag, ...]. The sub-flag
  // follows the time; find it by decoding lazily.
  const body = decodeBody(bytes.subarray(4 + 32));
  return Array.isArray(body) && body[3] === subFlags.retrieve;
};

const decodeBody = (b: Uint8Array): unknown => {
  try {
    return unpack(b);
  } catch {
    return undefined;
  }
};

console.log('');
console.log('chord lookup hops on the simulator (real chord core, connections it dialled itself)');
console.log('nodes  mean hops  p99  target(½·log2 N + 1)  gets read back   (hops of a get: mean over its five lookups)');
for (const n of SIM_SIZES) {
  const f = simHops(n);
  console.log(`${String(n).padStart(5)}  ${f.mean.toFixed(2).padStart(9)}  ${String(f.p99).padStart(3)}  ${(0.5 * Math.log2(n) + 1).toFixed(2).padStart(20)}  ${f.ok}/${SIM_GETS}`);
}

// ---------------------------------------------------------------------------------------------
// 3. work per message (bench/chord-work.ts)

await import('./chord-work.js');

// ---------------------------------------------------------------------------------------------
// 4. loopback throughput

interface JsChord {
  readonly routing_table: Map<unknown, unknown>;
  connect(host: string, port: number): boolean;
  join(): void;
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): void;
  close(): void;
}
const js2p = createRequire(import.meta.url)('js2p') as { chord: { ChordSocket: new (addr: string, port: number) => JsChord } };

const OPS = Number(process.env['BENCH_CHORD_OPS'] ?? 2000);
const IN_FLIGHT = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const freePort = async (): Promise<number> => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
};

/** Runs `n` operations with at most IN_FLIGHT at once; ops per second. */
const rate = async (n: number, op: (i: number) => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await op(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return (n / (performance.now() - t0)) * 1000;
};

const tsRing = async (size: number): Promise<{ set: number; get: number; wrong: number }> => {
  const nodes = Array.from({ length: size }, () => new ChordSocket({ host: '127.0.0.1', debugLevel: 'silent' }));
  await Promise.all(nodes.map((n) => n.ready));
  await Promise.all(nodes.map((n) => n.join()));
  // A node may already have dialled a peer it heard of: AlreadyConnected is fine here.
  for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) await nodes[i]?.connect('127.0.0.1', nodes[j]?.port ?? 0).catch(() => undefined);
  await sleep(500);
  const set = await rate(OPS, (i) => nodes[i % size]?.set(`key-${i}`, `value-${i}`) ?? Promise.resolve());
  await sleep(500);
  let wrong = 0;
  const get = await rate(OPS, async (i) => {
    if ((await nodes[(i + 1) % size]?.get(`key-${i}`, null)) !== `value-${i}`) wrong++;
  });
  await Promise.all(nodes.map((n) => n.close()));
  return { set, get, wrong };
};

const jsRing = async (size: number): Promise<{ set: number; get: number; wrong: number }> => {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const nodes = ports.map((p) => new js2p.chord.ChordSocket('127.0.0.1', p));
  for (const n of nodes) n.join();
  // js2p connects only before it has a peer (§11), so node i dials every j > i at once, before
  // the first of those handshakes lands.
  for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) nodes[i]?.connect('127.0.0.1', ports[j] ?? 0);
  for (let t = 0; t < 100 && nodes.some((n) => n.routing_table.size < size - 1); t++) await sleep(50);
  await sleep(500);
  const set = await rate(OPS, async (i) => nodes[i % size]?.set(`key-${i}`, `value-${i}`));
  await sleep(500);
  let wrong = 0;
  const get = await rate(OPS, async (i) => {
    const v = await (nodes[(i + 1) % size]?.get(`key-${i}`) ?? Promise.resolve(undefined)).catch(() => undefined);
    if (v !== `value-${i}`) wrong++;
  });
  for (const n of nodes) n.close();
  return { set, get, wrong };
};

console.log('');
console.log(`chord get/set on loopback: ${OPS} sets then ${OPS} gets, ${IN_FLIGHT} in flight, keys spread over the nodes`);
console.log('impl   nodes    set/s    get/s  wrong gets');
for (const [name, size, run] of [
  ['ts2p', 5, tsRing],
  ['ts2p', 4, tsRing],
  ['js2p', 4, jsRing],
] as const) {
  const r = await run(size);
  console.log(`${name}  ${String(size).padStart(6)}  ${r.set.toFixed(0).padStart(7)}  ${r.get.toFixed(0).padStart(7)}  ${String(r.wrong).padStart(10)}`);
}
process.exit(0);
