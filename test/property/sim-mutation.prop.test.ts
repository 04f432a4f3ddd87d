/**
 * The simulator's checks can fail: a deliberately broken core (wrapping the real `step`) is run
 * through the same properties, and each must be caught. The de-duplication break must also shrink
 * to a small scenario (at most 5 nodes and 10 steps).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Effect, Input } from '../../src/core/types.js';
import type { Fault } from '../../src/shell/sim/faults.js';
import type { NodeState } from '../../src/core/node.js';
import { meshKind } from '../../src/shell/sim/mesh.js';
import type { NodeKind } from '../../src/shell/sim/kind.js';
import { runScenario, type Scenario } from '../../src/shell/sim/scenario.js';
import { BroadcastReach, InvariantViolated } from '../../src/shell/sim/checks.js';
import { Simulation } from '../../src/shell/sim/simulation.js';
import { latency } from '../../src/shell/sim/latency.js';
import { scenarioArb, simParams } from './sim-arbitraries.js';
import { broadcastsReachAll, oneNetwork, routedReplyArrives } from './sim-liveness.js';

type MeshKind = typeof meshKind;
type Env = Parameters<MeshKind['step']>[0];

/** The real mesh kind with its step wrapped. */
const broken = (wrap: (env: Env, state: NodeState, input: Input) => readonly [NodeState, ReadonlyArray<Effect>]): MeshKind => ({
  ...meshKind,
  step: wrap,
});

/** De-duplication off: the node forgets every id it has seen before each input. */
export const forgetful: NodeKind<Env, NodeState> = broken((env, state, input) => {
  forgetSeen(state);
  return meshKind.step(env, state, input);
});

/** Empties the node's seen-set (a Map of ids, or a set whose membership lives in `latest`). */
const forgetSeen = (state: NodeState): void => {
  const seen = state.seen as unknown;
  if (seen instanceof Map) seen.clear();
  else (seen as { readonly latest: Map<string, number> }).latest.clear();
};

describe('a core with de-duplication turned off', () => {
  it('is caught, and its failing scenario shrinks to at most 5 nodes and 10 steps', () => {
    const property = fc.property(scenarioArb(8, 30, { faults: false, whispers: false, subnets: false }), (s: Scenario) => {
      runScenario(s, { kind: forgetful, heal: false });
    });
    const started = Date.now();
    const details = fc.check(property, simParams(200) as fc.Parameters<[Scenario]>);
    const wallMs = Date.now() - started;
    expect(details.failed).toBe(true);
    expect(details.errorInstance).toBeInstanceOf(InvariantViolated);
    const s = details.counterexample?.[0];
    if (s === undefined) throw new Error('no counterexample');
    expect(s.nodes.length).toBeLessThanOrEqual(5);
    expect(s.steps.length).toBeLessThanOrEqual(10);
    // Shown, not asserted: timing belongs in reports, not in tests.
    console.info(`de-dup break: caught after ${details.numRuns} runs, shrunk in ${details.numShrinks} steps to ${s.nodes.length} nodes / ${s.steps.length} steps, ${wallMs} ms wall`);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Each check shown able to fail: one fixed scenario (a line n0–n1–n2–n3 that cannot mesh further,
// and n4 of another subnet dialling n0), run on the real core (passes) and on broken ones. (A
// line needs no de-duplication, so that break is the generated test's above.)

const line: Scenario = {
  seed: 7,
  nodes: [0, 1, 2, 3].map(() => ({ limits: { outgoingMax: 0 } })).concat([{ limits: { outgoingMax: 0 }, subnet: 'other' } as never]),
  links: [
    [1, 0],
    [2, 1],
    [3, 2],
    [4, 0],
  ],
  steps: [
    { _tag: 'Broadcast', atMs: 1_000, node: 0 },
    { _tag: 'Broadcast', atMs: 2_000, node: 3 },
    { _tag: 'Whisper', atMs: 3_000, node: 1, to: 2 },
  ],
};

/** Runs every check on the line scenario; returns what failed (safety throws are caught). */
const failuresOn = (kind: MeshKind): string[] => {
  try {
    const { sim, reach } = runScenario(line, { kind });
    const reply = routedReplyArrives(sim);
    return [
      ...reach.missing().map((m) => `reach: ${m.node} missed ${m.sender}`),
      ...oneNetwork(sim).map((f) => `join: ${f}`),
      ...broadcastsReachAll(sim, ['n0', 'n3']).map((f) => `all: ${f}`),
      ...(reply.far === undefined ? ['reply: no node two hops from n0'] : reply.failures.map((f) => `reply: ${f}`)),
    ];
  } catch (e) {
    return [`safety: ${(e as Error).message}`];
  }
};

const wrapEffects = (f: (input: Input, effects: ReadonlyArray<Effect>) => ReadonlyArray<Effect>): MeshKind =>
  broken((env, state, input) => {
    const [s, effects] = meshKind.step(env, state, input);
    return [s, f(input, effects)];
  });

const isBroadcastDelivery = (e: Effect): boolean => e._tag === 'Deliver' && e.message.msgType === 0;

const breaks: ReadonlyArray<readonly [string, MeshKind, RegExp]> = [
  [
    'deliveries altered (a message nobody sent)',
    wrapEffects((_, es) => es.map((e) => (e._tag === 'Deliver' ? { ...e, message: { ...e.message, packets: [...e.message.packets, 'x'] } } : e))),
    /^safety: .*nobody sent/,
  ],
  [
    'whispers sent to the wrong peer',
    broken((env, state, input) =>
      meshKind.step(env, state, input._tag === 'Reply' ? { ...input, to: meshKind.peers(state).find((p) => p.id !== input.to)?.id ?? input.to } : input),
    ),
    /^safety: .*whisper meant for/,
  ],
  ['subnets ignored (every node on the mesh protocol)', { ...meshKind, makeEnv: (p) => meshKind.makeEnv({ ...p, subnet: 'mesh' }) }, /^safety: .*joined n\d of subnet/],
  ['relays dropped', wrapEffects((input, es) => (input._tag === 'BytesReceived' && es.some(isBroadcastDelivery) ? es.filter((e) => e._tag !== 'Write') : es)), /^reach: /],
  ['replies dropped', broken((env, state, input) => (input._tag === 'Reply' ? [state, []] : meshKind.step(env, state, input))), /reply: /],
  [
    'connects ignored by n3',
    broken((env, state, input) => (input._tag === 'Connect' && env.config.outAddr.host.endsWith('.4') ? [state, []] : meshKind.step(env, state, input))),
    /join: the mesh is split/,
  ],
];

describe('every simulator check can fail', () => {
  it('passes on the real core', () => {
    expect(failuresOn(meshKind)).toEqual([]);
  });

  it.each(breaks)('catches %s', (_, kind, expected) => {
    const failures = failuresOn(kind);
    expect(failures.some((f) => expected.test(f)), failures.join('\n')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// A node hit twice by the same fault is still checked once it is back: n1 of the line, whose
// core never hands a broadcast to its user, must show up as missing a broadcast sent after it
// resumed (or restarted), however many times it was paused (or crashed) before.

/** n1 (host 10.0.0.2) relays broadcasts but never delivers one. */
const n1Deaf = wrapEffects((_, es) => es.filter((e) => !isBroadcastDelivery(e)));
const deafOnN1 = broken((env, state, input) => (env.config.outAddr.host.endsWith('.2') ? n1Deaf.step(env, state, input) : meshKind.step(env, state, input)));

/** The nodes `reach` finds missing a broadcast n0 sends at 5 s, after the faults at 1–3 s. */
const missingAfter = (faults: ReadonlyArray<Fault>): ReadonlyArray<string> => {
  const s: Scenario = {
    ...line,
    steps: [...faults.map((fault, i) => ({ _tag: 'Fault' as const, atMs: 1_000 * (i + 1), fault })), { _tag: 'Broadcast', atMs: 5_000, node: 0 }],
  };
  return runScenario(s, { kind: deafOnN1, heal: false }).reach.missing().map((m) => m.node);
};

describe('broadcast reach after a node is hit twice', () => {
  it.each<[string, ReadonlyArray<Fault>]>([
    ['paused once', [{ _tag: 'Pause', node: 'n1' }, { _tag: 'Resume', node: 'n1' }]],
    ['paused twice', [{ _tag: 'Pause', node: 'n1' }, { _tag: 'Pause', node: 'n1' }, { _tag: 'Resume', node: 'n1' }]],
    ['crashed twice', [{ _tag: 'Crash', node: 'n1' }, { _tag: 'Crash', node: 'n1' }, { _tag: 'Restart', node: 'n1', rejoin: ['n0', 'n2'] }]],
  ])('still checks it once it is back (%s)', (_, faults) => {
    expect(missingAfter(faults)).toEqual(['n1']);
  });

  it('does not check a node still paused when another node, whose name starts like it, resumes', () => {
    const names = Array.from({ length: 11 }, (_, i) => `n${i}`);
    const s: Scenario = {
      seed: 3,
      nodes: names.map(() => ({})),
      links: names.slice(1).map((_, i) => [i + 1, 0] as const),
      steps: [
        { _tag: 'Fault', atMs: 1_000, fault: { _tag: 'Pause', node: 'n10' } },
        { _tag: 'Fault', atMs: 2_000, fault: { _tag: 'Pause', node: 'n1' } },
        { _tag: 'Fault', atMs: 3_000, fault: { _tag: 'Resume', node: 'n1' } },
        { _tag: 'Broadcast', atMs: 5_000, node: 0 },
      ],
    };
    expect(runScenario(s, { heal: false }).reach.missing()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// A payload broadcast twice is two broadcasts (their stamps differ): a node that delivers only the
// first must show up as missing the second, not pass on the first's delivery.

describe('broadcast reach of a payload sent twice', () => {
  it('checks each sending on its own', () => {
    const firstOnly = (): MeshKind => {
      const delivered = new Set<string>();
      return wrapEffects((_, es) =>
        es.filter((e) => {
          if (e._tag !== 'Deliver' || e.message.msgType !== 0) return true;
          const key = JSON.stringify(e.message.packets);
          const repeat = delivered.has(key);
          delivered.add(key);
          return !repeat;
        }),
      );
    };
    const run = (kind: MeshKind): ReadonlyArray<string> => {
      const sim = new Simulation({ seed: 5, kind, latency: latency.constant(10) });
      const reach = new BroadcastReach(sim, 5_000);
      sim.addNode({});
      sim.addNode({});
      sim.connect('n1', 'n0');
      sim.runFor(5_000);
      sim.broadcast('n0', ['tick']);
      sim.runFor(5_000);
      sim.broadcast('n0', ['tick']);
      sim.runFor(5_000);
      return reach.missing().map((m) => `${m.node}@${m.at}`);
    };
    expect(run(meshKind)).toEqual([]);
    expect(run(firstOnly())).toEqual(['n1@10000']);
  });
});
