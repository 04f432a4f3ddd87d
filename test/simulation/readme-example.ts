import assert from 'node:assert/strict';
import { Simulation, latency } from '../../src/sim.js';

// Four mesh nodes on a simulated network: a, b and c join through the hub.
const sim = new Simulation({ seed: 42, latency: latency.uniform(5, 40) });
const [hub, a, b, c] = ['hub', 'a', 'b', 'c'].map((name) => sim.addNode({ name })) as [string, string, string, string];
for (const n of [a, b, c]) sim.connect(n, hub);
sim.runUntilIdle();

// The application under test: c answers every "ping" broadcast with a "pong" reply.
sim.register(c, (msg) => {
  if (msg.packets[1] !== 'ping') return false;
  void msg.reply('pong');
  return true;
});

// Cut c off, and ping: nothing can come back while the partition lasts.
sim.fault({ _tag: 'Partition', groups: [[c]] });
sim.broadcast(a, ['ping']);
sim.runFor(10_000);
assert.deepEqual(sim.recv(a), []);
assert.equal(sim.delivered(b).length, 1); // b, on a's side, got the ping

// Heal: TCP kept the ping in flight, so c gets it now and its pong reaches a.
sim.fault({ _tag: 'Heal' });
sim.runUntilIdle();
assert.deepEqual(
  sim.recv(a).map((m) => m.packets),
  [[2, 'pong']],
);
