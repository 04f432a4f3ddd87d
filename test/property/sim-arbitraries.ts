/**
 * fast-check arbitraries for simulator scenarios, and the run settings every simulator property
 * shares: `TS2P_SIM_RUNS` (runs per property), `TS2P_SIM_SEED` and `TS2P_SIM_PATH` (replay one
 * failure exactly as fast-check printed it).
 */
import fc from 'fast-check';
import type { Fault } from '../../src/shell/sim/faults.js';
import type { Latency } from '../../src/shell/sim/latency.js';
import { nodeName, type Scenario, type ScenarioStep } from '../../src/shell/sim/scenario.js';

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

/** Which kinds of steps a scenario may contain. */
export interface StepMix {
  readonly faults: boolean;
  readonly whispers: boolean;
  readonly subnets: boolean;
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
 * lacks are skipped when it runs, so fast-check can shrink the node list on its own.
 */
export const scenarioArb = (nodesMax: number, stepsMax: number, mix: StepMix): fc.Arbitrary<Scenario> =>
  fc
    .record({
      seed: fc.integer({ min: 0, max: 0xffff_ffff }),
      nodes: fc.array(
        fc.record({
          subnet: mix.subnets ? fc.constantFrom('mesh', 'mesh', 'mesh', 'other') : fc.constant('mesh'),
          skewMs: fc.oneof(fc.constant(0), fc.integer({ min: -20_000, max: 20_000 })),
        }),
        { minLength: 2, maxLength: nodesMax },
      ),
      // Node i dials node (parents[i-1] mod i): a spanning tree, shrinking towards a star on n0.
      parents: fc.array(fc.nat({ max: nodesMax }), { minLength: nodesMax - 1, maxLength: nodesMax - 1 }),
      extra: fc.array(fc.tuple(fc.nat({ max: nodesMax - 1 }), fc.nat({ max: nodesMax - 1 })), { maxLength: nodesMax }),
      steps: fc.array(stepArb(nodesMax, mix), { maxLength: stepsMax }),
      latency: latencyArb,
      chunksMax: fc.integer({ min: 1, max: 4 }),
    })
    .map(({ parents, extra, nodes, ...rest }): Scenario => {
      const n = nodes.length;
      const tree = parents.slice(0, n - 1).map((p, i): readonly [number, number] => [i + 1, p % (i + 1)]);
      return { ...rest, nodes: nodes.map((x, i) => (i === 0 ? { ...x, subnet: 'mesh' } : x)), links: [...tree, ...extra] };
    });

/** Prints a scenario compactly for a failure report. */
export const showScenario = (s: Scenario): string => JSON.stringify(s);

/**
 * Checks a property like `fc.assert`, but a failure also says how to replay it: the seed and
 * path fast-check found, as environment variables for this test file.
 */
export const checkSim = <T>(property: fc.IProperty<T>, fallbackRuns: number, file: string): void => {
  const details = fc.check(property, simParams(fallbackRuns) as fc.Parameters<T>);
  if (!details.failed) return;
  const replay = `replay: TS2P_SIM_SEED=${details.seed} TS2P_SIM_PATH=${details.counterexamplePath ?? ''} npx vitest run ${file}`;
  throw new Error(`${fc.defaultReportMessage(details) ?? 'property failed'}\n${replay}`);
};
