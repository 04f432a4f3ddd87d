/**
 * fast-check arbitraries for simulator scenarios, and the run settings every simulator property
 * shares: `TS2P_SIM_RUNS` (runs per property), `TS2P_SIM_SEED` and `TS2P_SIM_PATH` (replay one
 * failure exactly as fast-check printed it).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Fault } from '../../src/shell/sim/faults.js';
import type { Latency } from '../../src/shell/sim/latency.js';
import { nodeName, type Scenario, type ScenarioStep } from '../../src/shell/sim/scenario.js';
import type { Simulation } from '../../src/shell/sim/simulation.js';

/** Runs per property: small by default so `npm test` stays quick; raise with TS2P_SIM_RUNS. */
export const simRuns = (fallback: number): number => {
  const v = Number(process.env['TS2P_SIM_RUNS']);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};

/** The seed of the default (CI) runs: fixed, so that `npm test` checks the same scenarios every time. */
export const CI_SEED = 20_261_122;

/**
 * fast-check parameters: run count, and the seed/path to replay when given. Default runs use
 * `CI_SEED`; a run with TS2P_SIM_RUNS set draws a fresh seed (printed on failure) unless
 * TS2P_SIM_SEED is given too.
 */
export const simParams = (fallback: number): fc.Parameters<unknown> => {
  const seed = process.env['TS2P_SIM_SEED'];
  const path = process.env['TS2P_SIM_PATH'];
  const fresh = process.env['TS2P_SIM_RUNS'] !== undefined;
  return {
    numRuns: simRuns(fallback),
    ...(seed !== undefined ? { seed: Number(seed) } : fresh ? {} : { seed: CI_SEED }),
    ...(path === undefined ? {} : { path }),
  };
};

/** A test timeout for a property of `fallback` runs that take up to `perRunMs` each. */
export const simTimeout = (fallback: number, perRunMs: number): number => 30_000 + simRuns(fallback) * perRunMs;

/** The latest moment a step may happen, ms. */
export const STEPS_UNTIL_MS = 60_000;

const latencyArb: fc.Arbitrary<Latency> = fc.oneof(
  fc.integer({ min: 0, max: 200 }).map((ms): Latency => ({ _tag: 'Constant', ms })),
  fc
    .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 400 }))
    .map(([a, b]): Latency => ({ _tag: 'Uniform', minMs: a, maxMs: a + b })),
  fc
    .tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 100 }))
    .map(([minMs, meanMs]): Latency => ({ _tag: 'Exponential', minMs, meanMs, capMs: meanMs * 10 })),
);

/** Which kinds of steps a scenario may contain, and whether its topology may be sparse. */
export interface StepMix {
  readonly faults: boolean;
  readonly whispers: boolean;
  readonly subnets: boolean;
  /**
   * Half the scenarios are sparse: 4 or more nodes, all on the mesh subnet, that start as a line
   * or a tree and keep at most one outgoing connection each, so the mesh does not fill in and
   * some nodes stay two or more hops apart (with the default limits a few nodes end up all
   * linked to each other).
   */
  readonly sparse?: boolean;
}

/** How a sparse scenario starts: a line (node i dials node i-1) or the drawn tree, and every node's outgoing target. */
interface Sparse {
  readonly line: boolean;
  readonly outgoingMax: number;
}

const faultArb = (n: number): fc.Arbitrary<Fault> => {
  const node = fc.integer({ min: 0, max: n - 1 }).map(nodeName);
  const pair = fc.tuple(node, node).filter(([a, b]) => a !== b);
  // n0 is the bootstrap node: it may be cut off, reset or held, but not crashed or paused.
  const victim = fc.integer({ min: Math.min(1, n - 1), max: n - 1 }).map(nodeName);
  return fc.oneof(
    pair.map(([a, b]): Fault => ({ _tag: 'Reset', a, b })),
    node.map((a): Fault => ({ _tag: 'Reset', a })),
    fc
      .record({ side: fc.uniqueArray(node, { minLength: 1, maxLength: n - 1 }), oneWay: fc.boolean(), reset: fc.boolean() })
      .map((r): Fault => ({ _tag: 'Partition', groups: [r.side], oneWay: r.oneWay, reset: r.reset })),
    fc.constant<Fault>({ _tag: 'Heal' }),
    victim.map((node): Fault => ({ _tag: 'Crash', node })),
    fc.tuple(victim, node).map(([node, r]): Fault => ({ _tag: 'Restart', node, rejoin: r === node ? [] : [r] })),
    victim.map((node): Fault => ({ _tag: 'Pause', node })),
    node.map((node): Fault => ({ _tag: 'Resume', node })),
    fc
      .tuple(node, fc.option(fc.integer({ min: -20_000, max: 20_000 }), { nil: undefined }))
      .map(([node, skewMs]): Fault => (skewMs === undefined ? { _tag: 'Skew', node } : { _tag: 'Skew', node, skewMs })),
    pair.map(([from, to]): Fault => ({ _tag: 'Hold', from, to })),
    pair.map(([from, to]): Fault => ({ _tag: 'Release', from, to })),
  );
};

const stepArb = (n: number, mix: StepMix): fc.Arbitrary<ScenarioStep> => {
  const atMs = fc.integer({ min: 0, max: STEPS_UNTIL_MS });
  const node = fc.integer({ min: 0, max: n - 1 });
  const kinds: Array<fc.Arbitrary<ScenarioStep>> = [
    fc.record({ _tag: fc.constant('Broadcast' as const), atMs, node }),
    fc.record({ _tag: fc.constant('Connect' as const), atMs, node, to: node }),
    fc.record({ _tag: fc.constant('Disconnect' as const), atMs, node, to: node }),
  ];
  if (mix.whispers) kinds.push(fc.record({ _tag: fc.constant('Whisper' as const), atMs, node, to: node }));
  if (mix.faults) kinds.push(fc.record({ _tag: fc.constant('Fault' as const), atMs, fault: faultArb(n) }));
  return fc.oneof(...kinds);
};

/**
 * A scenario of 2..`nodesMax` nodes and up to `stepsMax` steps. n0 is always on the `mesh`
 * subnet. Steps and faults may name any of `nodesMax` nodes; those naming a node the scenario
 * lacks are skipped when it runs, so fast-check can shrink the node list on its own. With
 * `mix.sparse`, half the scenarios are sparse instead (see `StepMix`).
 */
export const scenarioArb = (nodesMax: number, stepsMax: number, mix: StepMix): fc.Arbitrary<Scenario> => {
  const dense = scenarioOf(nodesMax, stepsMax, mix, 2, fc.constant(undefined));
  if (mix.sparse !== true) return dense;
  const sparse = fc.record({ line: fc.boolean(), outgoingMax: fc.integer({ min: 0, max: 1 }) });
  return fc.oneof(dense, scenarioOf(nodesMax, stepsMax, { ...mix, subnets: false }, Math.min(4, nodesMax), sparse));
};

const scenarioOf = (
  nodesMax: number,
  stepsMax: number,
  mix: StepMix,
  nodesMin: number,
  sparseArb: fc.Arbitrary<Sparse | undefined>,
): fc.Arbitrary<Scenario> =>
  fc
    .record({
      seed: fc.integer({ min: 0, max: 0xffff_ffff }),
      nodes: fc.array(
        fc.record({
          subnet: mix.subnets ? fc.constantFrom('mesh', 'mesh', 'mesh', 'other') : fc.constant('mesh'),
          skewMs: fc.oneof(fc.constant(0), fc.integer({ min: -20_000, max: 20_000 })),
        }),
        { minLength: nodesMin, maxLength: nodesMax },
      ),
      // Node i dials node (parents[i-1] mod i): a spanning tree, shrinking towards a star on n0.
      parents: fc.array(fc.nat({ max: nodesMax }), { minLength: nodesMax - 1, maxLength: nodesMax - 1 }),
      extra: fc.array(fc.tuple(fc.nat({ max: nodesMax - 1 }), fc.nat({ max: nodesMax - 1 })), { maxLength: nodesMax }),
      steps: fc.array(stepArb(nodesMax, mix), { maxLength: stepsMax, size: 'max' }),
      latency: latencyArb,
      chunksMax: fc.integer({ min: 1, max: 4 }),
      sparse: sparseArb,
    })
    .map(({ parents, extra, nodes, sparse, ...rest }): Scenario => {
      const n = nodes.length;
      const tree = parents.slice(0, n - 1).map((p, i): readonly [number, number] => [i + 1, sparse?.line === true ? i : p % (i + 1)]);
      const limits = sparse === undefined ? {} : { limits: { outgoingMax: sparse.outgoingMax } };
      return {
        ...rest,
        nodes: nodes.map((x, i) => ({ ...x, ...limits, ...(i === 0 ? { subnet: 'mesh' } : {}) })),
        links: [...tree, ...extra],
      };
    });

/** Fewer runs than this (a quick try) say nothing about how often a check was exercised; nor does a replay. */
const COVERAGE_RUNS_MIN = 50;

/**
 * After a property passed: fails when fewer than `shareMin` of its `runs` exercised a check that
 * passes vacuously otherwise (`exercised` counts those that did; `what` says what they had).
 */
export const expectCoverage = (what: string, exercised: number, runs: number, shareMin: number): void => {
  const min = Math.ceil(runs * shareMin);
  if (runs < COVERAGE_RUNS_MIN || process.env['TS2P_SIM_PATH'] !== undefined || exercised >= min) return;
  throw new Error(`only ${exercised} of ${runs} runs ${what}, at least ${min} expected: the scenarios no longer exercise that check`);
};

/** Prints a scenario compactly for a failure report. */
export const showScenario = (s: Scenario): string => JSON.stringify(s);

/**
 * The error a simulator property throws: what failed, and the simulation's seed. The seed is
 * part of the drawn scenario, shown for reading the run; it is not what replays the property
 * (`Simulation.replayHint`'s TS2P_SIM_SEED is the fast-check seed here, so it is not used).
 */
export const simFailure = (sim: Simulation, failures: ReadonlyArray<string>): Error =>
  new Error(`${failures.join('\n')}\n(simulation seed ${sim.seed}, drawn with the scenario)`);

/** `s` as a single-quoted shell word. */
const shellWord = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** The running test's own name as a `vitest -t` pattern (a regular expression ending there), if known. */
const testPattern = (): string | undefined => {
  const name = expect.getState().currentTestName?.split(' > ').pop();
  return name === undefined ? undefined : `${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
};

/**
 * Checks a property like `fc.assert`, but a failure says first what failed (the property's own
 * error, also kept as the `cause`), then the line that replays it: the seed and path fast-check
 * found, as environment variables, for this test alone (every property of the file reads them),
 * then fast-check's report with the shrunk counterexample.
 */
export const checkSim = <T>(property: fc.IProperty<T>, fallbackRuns: number, file: string): void => {
  const details = fc.check(property, simParams(fallbackRuns) as fc.Parameters<T>);
  if (!details.failed) return;
  const cause = details.errorInstance;
  const what = cause instanceof Error ? cause.message : String(cause);
  const only = testPattern();
  const replay =
    `replay: TS2P_SIM_SEED=${details.seed} TS2P_SIM_PATH=${details.counterexamplePath ?? ''} ` +
    `npx vitest run ${file}${only === undefined ? '' : ` -t ${shellWord(only)}`}`;
  throw new Error(`${what}\n${replay}\n${fc.defaultReportMessage(details) ?? 'property failed'}`, { cause });
};
