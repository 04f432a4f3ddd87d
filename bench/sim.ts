/**
 * bench:sim — how fast the simulator runs real mesh cores.
 *
 * 1. A 100-node mesh (joined through one bootstrap node) carrying 10 broadcasts a second for one
 *    simulated hour: wall time, speed-up over real time, events per second, memory per node, and
 *    the broadcast figures (writes per broadcast, delivery latency quantiles, deliveries lost).
 * 2. A 1,000-node network that joins through one bootstrap node and then delivers 100 broadcasts:
 *    wall time for the whole run.
 *
 * The hour runs with compression off (so the figure is the simulator and the core's protocol
 * work, not zlib); ten simulated seconds with a MeshSocket's zlib/gzip follow for comparison. The
 * 1,000-node join runs twice: with default limits (the bootstrap node fills up at 256 and hands
 * newcomers its peers), and with the bootstrap node allowed 1,024 connections.
 * Options (environment): SIM_BENCH_HOURS (default 1), SIM_BENCH_SEED (default 1).
 * There is no js2p counterpart to compare with: js2p has no simulator, and the figure of merit is
 * the speed-up over real time. That figure moves with the machine's own speed (it is shared), so
 * the run also measures js2p's encode + decode rate for bench:codec's small message just before
 * and just after the hour, as a reading of how fast the machine ran meanwhile. `npm run bench:sim` passes --expose-gc so memory is measured
 * after a collection.
 */
import { performance } from 'node:perf_hooks';
import { Simulation, latency, meshKindWith, SIM_COMPRESSION } from '../src/sim.js';
import { Prng } from '../src/shell/sim/prng.js';
import { components } from '../src/shell/sim/checks.js';
import { machineRate } from './codec-cases.js';

const hours = Number(process.env['SIM_BENCH_HOURS'] ?? 1);
const seed = Number(process.env['SIM_BENCH_SEED'] ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;

const heapMb = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const fmt = (x: number, digits = 1): string => x.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Builds `size` nodes that join through n0, one every `gapMs`, and runs until the joins settle. */
const join = (
  size: number,
  gapMs: number,
  compression: ReadonlyArray<number>,
  bootstrapLimits: Readonly<Record<string, number>> = {},
): { sim: Simulation; joinWallMs: number } => {
  const kind = meshKindWith(compression);
  const sim = new Simulation({ seed, kind, latency: latency.exponential(5, 20, 500), trace: 'off', record: false, inboxMax: 0 });
  const started = performance.now();
  for (let i = 0; i < size; i++) sim.addNode(i === 0 ? { limits: bootstrapLimits } : {});
  for (let i = 1; i < size; i++) sim.command({ _tag: 'Connect', node: `n${i}`, address: sim.node('n0').address }, i * gapMs);
  sim.runUntilIdle({ maxMs: 3_600_000 });
  return { sim, joinWallMs: performance.now() - started };
};

const report = (label: string, sim: Simulation): void => {
  const s = sim.stats();
  console.log(
    `  ${label}: ${fmt(s.broadcasts, 0)} broadcasts, ${fmt(s.writesPerBroadcast)} writes per broadcast, ` +
      `${fmt(s.lost, 0)} of ${fmt(s.expectedDeliveries, 0)} deliveries lost, latency ms p50 ${fmt(s.latencyMs.p50)} ` +
      `p90 ${fmt(s.latencyMs.p90)} p99 ${fmt(s.latencyMs.p99)} max ${fmt(s.latencyMs.max)}`,
  );
};

const steadyMesh = (hours: number, compression: ReadonlyArray<number>): void => {
  const size = 100;
  const base = heapMb();
  const { sim, joinWallMs } = join(size, 50, compression);
  const perNodeKb = ((heapMb() - base) * 1024) / size;
  const degrees = sim.names().map((n) => sim.peersOf(n).length);
  console.log(
    `100-node mesh: joined in ${fmt(sim.now / 1000)} s simulated, ${fmt(joinWallMs, 0)} ms wall; ` +
      `${components(sim).length} component(s), peers per node ${Math.min(...degrees)}–${Math.max(...degrees)}; ` +
      `compression ${compression.length === 0 ? 'none' : compression.map((c) => `0x${c.toString(16)}`).join(',')}`,
  );
  sim.resetStats();
  const rng = Prng.derive(seed, 'bench-senders');
  const durationMs = hours * 3_600_000;
  const start = sim.now;
  const events0 = sim.eventsProcessed;
  const wall0 = performance.now();
  // Schedule a minute at a time so the queue holds only what is near.
  for (let t = 0; t < durationMs; t += 60_000) {
    const chunkMs = Math.min(60_000, durationMs - t);
    for (let k = 0; k * 100 < chunkMs; k++) {
      sim.command({ _tag: 'Broadcast', node: `n${rng.int(size)}`, packets: ['bench', t / 100 + k] }, start + t + k * 100);
    }
    sim.runUntil(start + t + chunkMs);
  }
  sim.runUntilIdle();
  const wallMs = performance.now() - wall0;
  const events = sim.eventsProcessed - events0;
  const simulatedMs = sim.now - start;
  console.log(
    `  ${simulatedMs >= 360_000 ? `${fmt(simulatedMs / 3_600_000, 2)} h` : `${fmt(simulatedMs / 1000, 1)} s`} simulated (10 broadcasts/s) in ${fmt(wallMs / 1000, 2)} s wall: ` +
      `speed-up ${fmt(simulatedMs / wallMs)}× real time${compression.length === 0 ? ' (target ≥ 100×)' : ' (for comparison: zlib/gzip work included)'}, ${fmt(events / (wallMs / 1000), 0)} events/s, ` +
      `${fmt(events, 0)} events; memory ≈ ${fmt(perNodeKb)} KiB per node after joining (heap ${fmt(heapMb())} MiB now)`,
  );
  report('broadcasts', sim);
};

const bigJoin = (bootstrapLimits: Readonly<Record<string, number>>, label: string): void => {
  const size = 1000;
  const wall0 = performance.now();
  const { sim, joinWallMs } = join(size, 20, [], bootstrapLimits);
  const comps = components(sim);
  console.log(
    `1,000-node network (${label}): joined through n0 in ${fmt(sim.now / 1000)} s simulated, ${fmt(joinWallMs / 1000, 2)} s wall; ` +
      `${comps.length} component(s) (largest ${Math.max(...comps.map((c) => c.length))})`,
  );
  sim.resetStats();
  const rng = Prng.derive(seed, 'bench-big');
  for (let k = 0; k < 100; k++) sim.command({ _tag: 'Broadcast', node: `n${rng.int(size)}`, packets: ['big', k] }, sim.now + k * 100);
  sim.runUntilIdle();
  const wallMs = performance.now() - wall0;
  report('100 broadcasts', sim);
  console.log(`  whole run ${fmt(wallMs / 1000, 2)} s wall (target < 60 s), ${fmt(sim.eventsProcessed, 0)} events`);
};

console.log(`bench:sim — seed ${seed}, Node ${process.version}${gc === undefined ? ' (no --expose-gc: memory figures are rough)' : ''}`);
const machineBefore = machineRate();
steadyMesh(hours, []);
const machineAfter = machineRate();
console.log(
  `  machine check: js2p encodes + decodes bench:codec's small message ${fmt(machineBefore, 0)} times a second before the timed run ` +
    `and ${fmt(machineAfter, 0)} after (the lower, the busier the machine was)`,
);
// Ten simulated seconds: enough for a per-event figure with compression on.
steadyMesh(Math.min(hours, 10 / 3600), SIM_COMPRESSION);
bigJoin({}, 'default limits');
bigJoin({ connectionsMax: 1024, awaitingMax: 1024 }, 'bootstrap connectionsMax 1024');
