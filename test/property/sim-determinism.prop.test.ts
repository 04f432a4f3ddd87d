/**
 * Determinism: a random scenario (faults, chunked streams, skew and all) played twice gives the
 * same trace hash and the same deliveries; and the hash is sensitive: a run with a different
 * seed gives a different one. A leaky node kind (randomness from outside the seed) is caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { meshKind } from '../../src/shell/sim/mesh.js';
import { runScenario, type Scenario } from '../../src/shell/sim/scenario.js';
import { checkSim, scenarioArb, simTimeout } from './sim-arbitraries.js';

const FILE = 'test/property/sim-determinism.prop.test.ts';

const fingerprint = (s: Scenario, kind = meshKind): { hash: string; deliveries: string } => {
  const { sim } = runScenario(s, { kind, failFast: false });
  const deliveries = sim
    .names()
    .map((n) => sim.delivered(n).map((d) => `${n}@${d.at}:${Buffer.from(d.message.id).toString('hex')}`))
    .join('|');
  return { hash: sim.traceHash(), deliveries };
};

describe('simulator determinism', () => {
  it('replays a scenario to the same trace hash and deliveries', () => {
    checkSim(
      fc.property(scenarioArb(6, 20, { faults: true, whispers: true, subnets: true }), (s) => {
        const first = fingerprint(s);
        expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(fingerprint(s)).toEqual(first);
        expect(fingerprint({ ...s, seed: (s.seed + 1) >>> 0 }).hash).not.toBe(first.hash);
      }),
      15,
      FILE,
    );
  }, simTimeout(15, 200));

  it('notices randomness that does not come from the seed', () => {
    const leaky = { ...meshKind, makeEnv: (p: Parameters<typeof meshKind.makeEnv>[0]) => meshKind.makeEnv({ ...p, salt: `${p.salt}/${Math.random()}` }) };
    const s: Scenario = { seed: 1, nodes: [{}, {}, {}], links: [[1, 0], [2, 0]], steps: [{ _tag: 'Broadcast', atMs: 10, node: 1 }] };
    expect(fingerprint(s, leaky).hash).not.toBe(fingerprint(s, leaky).hash);
    expect(fingerprint(s).hash).toBe(fingerprint(s).hash);
  });
});
