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
    // The virtual time makes the payload its own, so a second check in one run counts only its own broadcasts.
    const packets = ['healed', i, sim.now];
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

/** What the routed-reply check did: the node it whispered to (none when no node was two hops away), and what failed. */
export interface RoutedReply {
  readonly far: string | undefined;
  readonly failures: ReadonlyArray<string>;
}

/**
 * A whisper from n0 to the node farthest from it (two or more hops away) arrives, routed through
 * request/response, and n0 reports that very reply sent, routed. When every node is n0's peer
 * there is nothing to check: `far` is undefined, so a property can count how often it checked.
 */
export const routedReplyArrives = (sim: Simulation): RoutedReply => {
  let far: string | undefined;
  let farHops = 1;
  for (const [n, d] of hops(sim, 'n0')) if (d > farHops) [far, farHops] = [n, d];
  if (far === undefined) return { far, failures: [] };
  const farId = sim.node(far).id;
  const packets = ['routed', far];
  // The command id the core gives this reply, so its ReplySent is told from any earlier one's.
  let cmd: number | undefined;
  sim.observe((o) => {
    if (cmd === undefined && o._tag === 'Command' && o.node === 'n0' && o.input._tag === 'Reply' && o.input.to === farId) cmd = o.input.cmd;
  });
  void sim.whisper('n0', far, packets);
  sim.runFor(SETTLE_MS);
  const key = keyOf(sim.node('n0').id, [2, ...packets]);
  const got = sim.delivered(far).filter((d) => keyOf(d.message.sender, d.message.packets) === key).length;
  const ended = sim.eventsOf('n0').flatMap(({ event: e }) => ((e._tag === 'ReplySent' || e._tag === 'ReplyFailed') && e.cmd === cmd ? [e] : []));
  const failures: string[] = [];
  if (got !== 1) failures.push(`${far} (${farHops} hops from n0) got the whisper ${got} times`);
  if (ended.length !== 1 || ended[0]?._tag !== 'ReplySent' || !ended[0].routed) {
    const how = ended.map((e) => (e._tag === 'ReplySent' ? `ReplySent (${e.routed ? 'routed' : 'direct'})` : `ReplyFailed (${e.reason})`));
    failures.push(`n0's reply to ${far} ended in ${how.join(', ') || 'nothing'}, not in one routed ReplySent`);
  }
  return { far, failures };
};
