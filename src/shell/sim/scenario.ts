/**
 * Scenarios as plain data: nodes, a starting topology, timed user commands and timed faults.
 * Being data, a scenario can be generated, printed, stored and shrunk by a property-testing
 * library; `runScenario` plays one on a fresh simulation, then (optionally) ends every fault,
 * reconnects any component cut off from the first node, and lets the network settle.
 */
import type { Fault } from './faults.js';
import type { Latency } from './latency.js';
import type { AnyNodeKind } from './kind.js';
import { BroadcastReach, SafetyMonitor, components } from './checks.js';
import { Simulation } from './simulation.js';
import { meshKind } from './mesh.js';
import type { TraceMode } from './trace.js';

/** One node of a scenario (named `n<index>`). */
export interface ScenarioNode {
  readonly subnet?: string;
  readonly skewMs?: number;
  readonly limits?: Readonly<Record<string, number>>;
}

/** A timed action of a scenario. Nodes are indexes; payloads are made unique by the step's index. */
export type ScenarioStep =
  | { readonly _tag: 'Broadcast'; readonly atMs: number; readonly node: number }
  | { readonly _tag: 'Whisper'; readonly atMs: number; readonly node: number; readonly to: number }
  | { readonly _tag: 'Connect'; readonly atMs: number; readonly node: number; readonly to: number }
  | { readonly _tag: 'Disconnect'; readonly atMs: number; readonly node: number; readonly to: number }
  | { readonly _tag: 'Fault'; readonly atMs: number; readonly fault: Fault };

/** A whole scenario. */
export interface Scenario {
  readonly seed: number;
  readonly nodes: ReadonlyArray<ScenarioNode>;
  /** Dials made at time 0: `[a, b]` has node a connect to node b. */
  readonly links: ReadonlyArray<readonly [number, number]>;
  readonly steps: ReadonlyArray<ScenarioStep>;
  readonly latency?: Latency;
  readonly chunksMax?: number;
}

/** How to play a scenario. */
export interface PlayOptions {
  /** The node kind (default the mesh). */
  readonly kind?: AnyNodeKind;
  /** Throw at the first safety violation (default true). */
  readonly failFast?: boolean;
  /** After the steps: end all faults, reconnect stray components to n0 and settle (default true). */
  readonly heal?: boolean;
  /** Time given to a broadcast to spread, for the liveness check (default 10 s). */
  readonly spreadMs?: number;
  readonly trace?: TraceMode;
}

/** What playing a scenario leaves behind for inspection. */
export interface Played {
  readonly sim: Simulation;
  readonly safety: SafetyMonitor;
  readonly reach: BroadcastReach;
}

/** The name of scenario node `i`. */
export const nodeName = (i: number): string => `n${i}`;

/** Virtual time the network is given to settle after the steps (and again after healing). */
export const SETTLE_MS = 30_000;

/** The payload a step sends: unique per step. */
export const stepPayload = (index: number): ReadonlyArray<string | number> => ['step', index];

/** Plays a scenario on a fresh simulation. */
export const runScenario = (s: Scenario, opts: PlayOptions): Played => {
  const sim = new Simulation({
    seed: s.seed,
    kind: opts.kind ?? meshKind,
    trace: opts.trace ?? 'hash',
    ...(s.latency === undefined ? {} : { latency: s.latency }),
    ...(s.chunksMax === undefined ? {} : { chunksMax: s.chunksMax }),
  });
  const safety = new SafetyMonitor(sim, opts.failFast ?? true);
  const reach = new BroadcastReach(sim, opts.spreadMs ?? 10_000);
  s.nodes.forEach((n, i) =>
    sim.addNode({ name: nodeName(i), subnet: n.subnet ?? 'mesh', skewMs: n.skewMs ?? 0, limits: n.limits ?? {} }),
  );
  const count = s.nodes.length;
  const ok = (i: number): boolean => i >= 0 && i < count;
  for (const [a, b] of s.links) if (ok(a) && ok(b) && a !== b) sim.connect(nodeName(a), nodeName(b));
  let last = 0;
  s.steps.forEach((st, index) => {
    last = Math.max(last, st.atMs);
    sim.at(st.atMs, () => play(sim, st, index, ok));
  });
  sim.runUntil(last + SETTLE_MS);
  if (opts.heal ?? true) healAndSettle(sim);
  return { sim, safety, reach };
};

const play = (sim: Simulation, st: ScenarioStep, index: number, ok: (i: number) => boolean): void => {
  if (st._tag === 'Fault') {
    const f = onlyKnown(st.fault, new Set(sim.names()));
    if (f !== undefined) sim.fault(f);
    return;
  }
  if (!ok(st.node) || !sim.node(nodeName(st.node)).alive) return;
  const me = nodeName(st.node);
  switch (st._tag) {
    case 'Broadcast':
      return sim.broadcast(me, stepPayload(index));
    case 'Whisper':
      if (ok(st.to)) void sim.whisper(me, nodeName(st.to), stepPayload(index));
      return;
    case 'Connect':
      if (ok(st.to) && st.to !== st.node) sim.connect(me, nodeName(st.to));
      return;
    case 'Disconnect':
      if (ok(st.to)) sim.disconnect(me, nodeName(st.to));
      return;
  }
};

/** The fault restricted to the scenario's nodes: undefined when it names a node that is not there. */
export const onlyKnown = (f: Fault, names: ReadonlySet<string>): Fault | undefined => {
  const has = (n: string): boolean => names.has(n);
  switch (f._tag) {
    case 'Reset':
      return has(f.a) && (f.b === undefined || has(f.b)) ? f : undefined;
    case 'Partition':
      return { ...f, groups: f.groups.map((g) => g.filter(has)) };
    case 'Crash':
    case 'Pause':
    case 'Resume':
    case 'Skew':
      return has(f.node) ? f : undefined;
    case 'Restart':
      return has(f.node) ? { ...f, rejoin: f.rejoin.filter(has) } : undefined;
    case 'Hold':
    case 'Release':
      return has(f.from) && has(f.to) ? f : undefined;
    case 'Heal':
    case 'HealAll':
      return f;
  }
};

/** Ends every fault, reconnects components cut off from the first node, and settles. */
export const healAndSettle = (sim: Simulation): void => {
  sim.fault({ _tag: 'HealAll' });
  sim.runFor(SETTLE_MS);
  const first = sim.names()[0];
  if (first === undefined) return;
  const subnet = sim.node(first).subnet;
  for (let round = 0; round < 3; round++) {
    const stray = components(sim).filter((c) => !c.includes(first) && c.some((n) => sim.node(n).subnet === subnet));
    if (stray.length === 0) return;
    for (const c of stray) {
      const n = c.find((x) => sim.node(x).subnet === subnet);
      if (n !== undefined) sim.connect(n, first);
    }
    sim.runFor(SETTLE_MS);
  }
};
