/**
 * bench:soak — a simulated day (virtual time) of a 50-node mesh with churn, partitions, link
 * resets and a steady broadcast load, to show that memory does not creep and every bounded
 * structure stays within its bound.
 *
 * Each simulated hour: one broadcast a second from a random live node; a crash every 10 minutes
 * (the node restarts 2 minutes later and rejoins through a random peer); a link reset every 5
 * minutes (the application reconnects it 30 s later); a 5-minute partition into two halves every 2 hours (with resets; on heal, the first half's nodes reconnect across). After
 * every step of every node its sizes are checked against its limits, and after each hour the
 * heap is measured (after a forced collection when run with --expose-gc, which the npm script
 * does). The test suite runs a shorter soak with bounds tight enough to be reached and bursts of
 * replies to nodes out of reach (options `limits` and `replyBursts`). The heap growth per
 * simulated day is the slope of a least-squares line through the hourly heap figures after the
 * first two hours (warm-up), times 24. Losses are reported apart for the hours with a partition
 * (a split cannot deliver across) and the others (crashes and resets, which the mesh heals).
 * Options (environment): SOAK_HOURS (default 24), SOAK_NODES (default 50), SOAK_SEED (default 1).
 * There is no js2p counterpart: js2p has no simulator.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { defaultLimits } from '../src/core/config.js';
import { inboundAwaiting, type NodeState } from '../src/core/node.js';
import { latency, meshKindWith, Prng, Simulation } from '../src/sim.js';

/** What a soak reports. */
export interface SoakResult {
  readonly hours: number;
  readonly nodes: number;
  readonly broadcasts: number;
  readonly lost: number;
  /** Of `lost`, those in the hours with a partition (a 5-minute split into halves). */
  readonly lostInPartitionHours: number;
  readonly expectedDeliveries: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly heapMbByHour: ReadonlyArray<number>;
  readonly heapGrowthMbPerDay: number;
  /** Largest size of each bounded structure, over every step of every node. */
  readonly worst: Sizes;
  /** Limit breaches seen (empty when every bound held). */
  readonly breaches: ReadonlyArray<string>;
  readonly wallMs: number;
}

const HOUR_MS = 3_600_000;

/** The sizes held against the bounds a soak checks. */
export interface Sizes {
  connections: number;
  /** Inbound connections waiting for a handshake (what `awaitingMax` bounds). */
  awaiting: number;
  seen: number;
  pendingReplies: number;
  known: number;
}

/** The bound of each size, by its config name. */
const BOUND_OF: Readonly<Record<keyof Sizes, keyof typeof defaultLimits>> = {
  connections: 'connectionsMax',
  awaiting: 'awaitingMax',
  seen: 'seenMax',
  pendingReplies: 'pendingRequestsMax',
  known: 'knownAddressesMax',
};

/** A node's sizes, read straight from its state: this runs after every step of every node. */
const sizesOf = (state: NodeState): Sizes => ({
  connections: state.conns.size,
  awaiting: inboundAwaiting(state),
  seen: state.seen.latest.size,
  pendingReplies: state.pendingCount,
  known: state.known.size,
});

const heapMb = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

/** Least-squares slope of ys over xs = 0, 1, 2, … */
const slope = (ys: ReadonlyArray<number>): number => {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
};

/** What a soak runs: its size, and the options the test suite uses. */
export interface SoakOptions {
  readonly hours: number;
  readonly nodes: number;
  readonly seed: number;
  /** Bounds every node runs with, over the defaults (by config name, as a socket's `limits`). */
  readonly limits?: Readonly<Partial<Record<keyof typeof defaultLimits, number>>>;
  /** Every 2 minutes, a random node whispers three replies at once to a node it is not connected to. */
  readonly replyBursts?: boolean;
  /** Sees each hour's figures as they come. */
  readonly onHour?: (h: number, heapMb: number, lost: number) => void;
}

/** Breaches kept for the report (the first ones: one bug breaks a bound at every step). */
const BREACHES_KEPT = 20;

/** Runs the soak. */
export const soak = (opts: SoakOptions): SoakResult => {
  const { hours, nodes, seed } = opts;
  const bounds = { ...defaultLimits, ...opts.limits };
  const wall0 = performance.now();
  const sim = new Simulation({ seed, kind: meshKindWith([]), latency: latency.exponential(5, 20, 500), trace: 'off', record: false, inboxMax: 0 });
  for (let i = 0; i < nodes; i++) sim.addNode(opts.limits === undefined ? {} : { limits: opts.limits });
  const names = sim.names();
  const worst: Sizes = { connections: 0, awaiting: 0, seen: 0, pendingReplies: 0, known: 0 };
  const breaches: string[] = [];
  sim.observe((o) => {
    if (o._tag !== 'Step') return;
    const now = sizesOf(sim.node(o.node).state as NodeState);
    for (const k of Object.keys(worst) as Array<keyof Sizes>) {
      worst[k] = Math.max(worst[k], now[k]);
      if (now[k] > bounds[BOUND_OF[k]] && breaches.length < BREACHES_KEPT) breaches.push(`${o.node} at ${o.at} ms: ${k} ${now[k]} > ${bounds[BOUND_OF[k]]}`);
    }
  });
  for (let i = 1; i < nodes; i++) sim.command({ _tag: 'Connect', node: `n${i}`, address: sim.node(`n${Math.floor(i / 2)}`).address }, i * 100);
  sim.runFor(60_000);
  const rng = Prng.derive(seed, 'soak');
  const heapMbByHour: number[] = [];
  let broadcasts = 0;
  let lost = 0;
  let lostInPartitionHours = 0;
  let expectedDeliveries = 0;
  let crashes = 0;
  let partitions = 0;
  /** The nodes up now. */
  const live = (): string[] => names.filter((n) => sim.node(n).alive);
  const pickOther = (a: string): string => {
    const others = names.filter((n) => n !== a);
    return others[rng.int(others.length)]!;
  };
  for (let h = 0; h < hours; h++) {
    const start = sim.now;
    // The sender is drawn when the broadcast goes out, among the nodes up then: a command
    // scheduled for a node runs on the incarnation it was scheduled for, so one drawn at the start
    // of the hour would be dropped if its node crashed first. Half a second past each second, so
    // no crash scheduled on the same instant comes between the draw and the send.
    for (let s = 0; s < 3600; s++) {
      sim.at(start + s * 1000 + 500, () => {
        const up = live();
        sim.broadcast(up[rng.int(up.length)]!, ['soak', h, s]);
      });
    }
    for (let m = 0; m < 60; m += 10) {
      const node = names[1 + rng.int(nodes - 1)]!;
      const rejoin = names.filter((n) => n !== node);
      sim.fault({ _tag: 'Crash', node }, start + m * 60_000 + 30_000);
      sim.fault({ _tag: 'Restart', node, rejoin: [rejoin[rng.int(rejoin.length)]!] }, start + m * 60_000 + 150_000);
      crashes++;
    }
    for (let m = 0; m < 60; m += 5) {
      const a = names[rng.int(nodes)]!;
      sim.fault({ _tag: 'Reset', a }, start + m * 60_000 + 10_000);
      // The application reconnects the reset node (the mesh also redials on its own now; the
      // workload is kept as it was so figures compare across versions).
      sim.command({ _tag: 'Connect', node: a, address: sim.node(pickOther(a)).address }, start + m * 60_000 + 40_000);
    }
    if (opts.replyBursts === true) {
      // Three replies at once to a node that is not a peer wait for a route together (with a
      // small `pendingRequestsMax`, the last finds it full). The pair is drawn when the burst
      // runs, from the routing tables of that moment.
      for (let m = 0; m < 60; m += 2) {
        sim.at(start + m * 60_000 + 45_000, () => {
          const up = live();
          const from = up[rng.int(up.length)]!;
          const peers = new Set(sim.peersOf(from));
          const far = up.filter((n) => n !== from && !peers.has(n));
          if (far.length === 0) return;
          const to = sim.node(far[rng.int(far.length)]!).id;
          for (let k = 0; k < 3; k++) sim.command({ _tag: 'Whisper', node: from, to, packets: ['soak-whisper', h, m, k] });
        });
      }
    }
    if (h % 2 === 1) {
      const half = names.slice(0, nodes / 2);
      sim.fault({ _tag: 'Partition', groups: [half], reset: true }, start + 20 * 60_000);
      sim.fault({ _tag: 'Heal' }, start + 25 * 60_000);
      for (const n of half) sim.command({ _tag: 'Connect', node: n, address: sim.node(names[nodes / 2 + rng.int(nodes / 2)]!).address }, start + 25 * 60_000 + 1_000);
      partitions++;
    }
    sim.runUntil(start + HOUR_MS);
    const s = sim.stats();
    broadcasts += s.broadcasts;
    lost += s.lost;
    if (h % 2 === 1) lostInPartitionHours += s.lost;
    expectedDeliveries += s.expectedDeliveries;
    // Statistics are per window: reset so the soak measures the nodes, not the bookkeeping.
    sim.resetStats();
    const heap = heapMb();
    heapMbByHour.push(heap);
    opts.onHour?.(h, heap, s.lost);
  }
  const steady = heapMbByHour.slice(Math.min(2, Math.max(0, heapMbByHour.length - 2)));
  return {
    hours,
    nodes,
    broadcasts,
    lost,
    lostInPartitionHours,
    expectedDeliveries,
    crashes,
    partitions,
    heapMbByHour,
    heapGrowthMbPerDay: slope(steady) * 24,
    worst,
    breaches,
    wallMs: performance.now() - wall0,
  };
};

const main = (): void => {
  const hours = Number(process.env['SOAK_HOURS'] ?? 24);
  const nodes = Number(process.env['SOAK_NODES'] ?? 50);
  const seed = Number(process.env['SOAK_SEED'] ?? 1);
  if ((globalThis as { gc?: () => void }).gc === undefined) console.log('(run with node --expose-gc for steady heap figures)');
  console.log(`soak: ${nodes} nodes, ${hours} simulated hours, seed ${seed}`);
  const r = soak({
    hours,
    nodes,
    seed,
    onHour: (h, heap, lostHour) => console.log(`  hour ${String(h + 1).padStart(2)}: heap ${heap.toFixed(2)} MB, deliveries lost this hour ${lostHour}`),
  });
  const pct = (x: number): string => `${((100 * x) / Math.max(1, r.expectedDeliveries)).toFixed(2)} %`;
  console.log(
    `broadcasts ${r.broadcasts}, deliveries ${r.expectedDeliveries - r.lost} of ${r.expectedDeliveries} ` +
      `(lost ${r.lost}, ${pct(r.lost)}), crashes ${r.crashes}, partitions ${r.partitions}`,
  );
  console.log(
    `lost in the ${r.partitions} hours with a partition: ${r.lostInPartitionHours} (${pct(r.lostInPartitionHours)}; a 5-minute split cannot deliver across); ` +
      `in the other hours (crashes and resets only): ${r.lost - r.lostInPartitionHours} (${pct(r.lost - r.lostInPartitionHours)})`,
  );
  console.log(`heap growth: ${r.heapGrowthMbPerDay.toFixed(3)} MB per simulated day (target < 1 MB/day)`);
  console.log(
    `worst sizes: connections ${r.worst.connections}/${defaultLimits.connectionsMax}, awaiting ${r.worst.awaiting}/${defaultLimits.awaitingMax}, ` +
      `seen ${r.worst.seen}/${defaultLimits.seenMax}, pending replies ${r.worst.pendingReplies}/${defaultLimits.pendingRequestsMax}, ` +
      `known addresses ${r.worst.known}/${defaultLimits.knownAddressesMax}; ` +
      `${r.breaches.length === 0 ? 'every bound held' : `BREACHES: ${r.breaches.slice(0, 5).join('; ')}`}`,
  );
  console.log(`wall time ${(r.wallMs / 1000).toFixed(1)} s`);
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
