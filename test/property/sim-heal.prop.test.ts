/**
 * Self-healing on the simulator: random networks under random faults (partitions, resets,
 * crashes and restarts with or without a node to rejoin, pauses, skews, holds). Once every fault
 * ends (`HealAll`, which restarts the crashed nodes with nobody to rejoin), no user command is
 * issued: within five simulated minutes the nodes form one network again on their own, and
 * broadcasts from its first and last node reach every node exactly once.
 * User disconnects are left out of the scenarios: a node the user cut off is the user's choice.
 * Every step comes `JOINED_MS` after the start, once the spanning tree has handshaken: a node that
 * crashes before any peer has heard of it, and restarts with nobody to rejoin, cannot be found by
 * anyone (and a user's connect to an address that never answers is not remembered).
 * Runs: TS2P_SIM_RUNS (default small, for CI).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { meshKind } from '../../src/shell/sim/mesh.js';
import { runScenario } from '../../src/shell/sim/scenario.js';
import { checkSim, scenarioArb, simFailure, simTimeout } from './sim-arbitraries.js';
import { broadcastsReachAll, meshNodes, oneNetwork } from './sim-liveness.js';

const FILE = 'test/property/sim-heal.prop.test.ts';
/** Longest redial back-off (60 s, +50 % jitter) plus a dial timeout, with room to spare. */
const HEAL_WITHIN_MS = 300_000;
/** When the scenario's steps begin: the tree's links (latency at most 1 s) have long handshaken. */
const JOINED_MS = 30_000;

describe('self-healing on the simulator', () => {
  it('forms one network again on its own once the faults end, and broadcasts reach every node once', () => {
    const scenarios = scenarioArb(6, 20, { faults: true, whispers: false, subnets: false }).map((s) => ({
      ...s,
      steps: s.steps.filter((st) => st._tag !== 'Disconnect').map((st) => ({ ...st, atMs: st.atMs + JOINED_MS })),
    }));
    checkSim(
      fc.property(scenarios, (s) => {
        const { sim } = runScenario(s, { kind: meshKind, heal: false });
        sim.fault({ _tag: 'HealAll' });
        sim.runFor(HEAL_WITHIN_MS);
        const mesh = meshNodes(sim);
        const senders = [...new Set([mesh[0], mesh[mesh.length - 1]])].filter((x): x is string => x !== undefined);
        const failures = [...oneNetwork(sim), ...broadcastsReachAll(sim, senders)];
        if (failures.length > 0) throw simFailure(sim, failures);
      }),
      60,
      FILE,
    );
  }, simTimeout(60, 300));
});
