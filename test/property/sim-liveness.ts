/**
 * Liveness checks on a healed simulated mesh, shared by the simulator properties. Each returns a
 * list of failures (empty when the network behaved), so a property can report all of them.
 */
import { components, hops } from '../../src/shell/sim/checks.js';
import { SETTLE_MS } from '../../src/shell/sim/scenario.js';
import type { Simulation } from '../../src/shell/sim/simulation.js';
import { keyOf } from '../../src/shell/sim/stats.js';

/** Alive nodes of n0's subnet. */
export const meshNodes = (sim: Simulation): ReadonlyArray<string> => {
  const subnet = sim.node('n0').subnet;
  return sim.names().filter((n) => sim.node(n).alive && sim.node(n).subnet === subnet);
};

/** The nodes of n0's subnet form one connected network. */
export const oneNetwork = (sim: Simulation): string[] => {
  const mesh = new Set(meshNodes(sim));
  const comps = components(sim).filter((c) => c.some((n) => mesh.has(n)));
  return comps.length <= 1 ? [] : [`the mesh is split: ${JSON.stringify(comps)}`];
};

/** Broadcasts from a few nodes reach every other node of the network exactly once. */
export const broadcastsReachAll = (sim: Simulation, senders: ReadonlyArray<string>): string[] => {
  const mesh = meshNodes(sim);
  const sent = senders.map((s, i) => {
    const packets = ['healed', i];
    sim.broadcast(s, packets);
    return { s, key: keyOf(sim.node(s).id, [0, ...packets]) };
  });
  sim.runFor(SETTLE_MS);
  const out: string[] = [];
  for (const { s, key } of sent) {
    for (const n of mesh) {
      if (n === s) continue;
      const inc = sim.node(n).incarnation;
      const got = sim.delivered(n).filter((d) => d.incarnation === inc && keyOf(d.message.sender, d.message.packets) === key).length;
      if (got !== 1) out.push(`${n} delivered the broadcast of ${s} ${got} times`);
    }
  }
  return out;
};

/** A whisper from n0 to a node two or more hops away arrives, routed through request/response. */
export const routedReplyArrives = (sim: Simulation): string[] => {
  const far = [...hops(sim, 'n0')].find(([, d]) => d >= 2)?.[0];
  if (far === undefined) return [];
  const packets = ['routed', far];
  void sim.whisper('n0', far, packets);
  sim.runFor(SETTLE_MS);
  const key = keyOf(sim.node('n0').id, [2, ...packets]);
  const got = sim.delivered(far).filter((d) => keyOf(d.message.sender, d.message.packets) === key).length;
  const routed = sim.eventsOf('n0').some((e) => e.event._tag === 'ReplySent' && e.event.routed);
  const out: string[] = [];
  if (got !== 1) out.push(`${far} (≥2 hops from n0) got the whisper ${got} times`);
  if (!routed) out.push(`n0 reported no routed ReplySent for ${far}`);
  return out;
};
