/**
 * Whole mesh networks on the simulator, scenario by scenario: delivery and statistics, clock
 * skew past the broadcast expiry, crash and restart, chunked streams, determinism, the
 * duplicate-delivery window the property suite found, and user handlers and replies run as a
 * MeshSocket runs them.
 */
import { describe, expect, it } from 'vitest';
import { Simulation, latency } from '../../src/sim.js';
import { SafetyMonitor, components } from '../../src/shell/sim/checks.js';
import type { Message } from '../../src/shell/api/message.js';
import { routingTable, type NodeState } from '../../src/core/node.js';

const FILE = 'test/simulation/mesh.sim.test.ts';

/** Where a failure came from: these scenarios fix their seeds, so running the file replays them. */
const replay = (sim: Simulation): string => `simulation seed ${sim.seed}, fixed in the test: replay with npx vitest run ${FILE}`;

/** `size` nodes joined through n0, settled. */
const network = (seed: number, size: number, opts: { chunksMax?: number; skews?: Record<string, number> } = {}): Simulation => {
  const sim = new Simulation({ seed, latency: latency.exponential(2, 20, 200), ...(opts.chunksMax === undefined ? {} : { chunksMax: opts.chunksMax }) });
  new SafetyMonitor(sim, true);
  for (let i = 0; i < size; i++) sim.addNode({ skewMs: opts.skews?.[`n${i}`] ?? 0 });
  for (let i = 1; i < size; i++) sim.connect(`n${i}`, 'n0');
  expect(sim.runUntilIdle(), replay(sim)).toBe(true);
  return sim;
};

const deliveredPayloads = (sim: Simulation, node: string): unknown[] => sim.delivered(node).map((d) => d.message.packets);

describe('a simulated mesh', () => {
  it('joins 20 nodes through one bootstrap node and delivers every broadcast once to every node', () => {
    const sim = network(11, 20);
    expect(components(sim)).toHaveLength(1);
    const senders = Array.from({ length: 10 }, (_, i) => `n${(i * 7) % 20}`);
    senders.forEach((n, i) => sim.broadcast(n, ['news', i]));
    sim.runUntilIdle();
    const stats = sim.stats();
    expect(stats).toMatchObject({ broadcasts: 10, deliveries: 190, expectedDeliveries: 190, lost: 0 });
    expect(stats.latencyMs.count).toBe(190);
    expect(stats.latencyMs.p50).toBeGreaterThan(0);
    expect(stats.latencyMs.max).toBeGreaterThanOrEqual(stats.latencyMs.p99);
    for (const n of sim.names()) expect(sim.delivered(n).length).toBe(10 - senders.filter((x) => x === n).length);
  });

  it('drops broadcasts from a node whose clock is more than 60 s behind', () => {
    const sim = network(12, 4, { skews: { n3: -61_000 } });
    sim.broadcast('n3', ['from the past']);
    sim.broadcast('n1', ['on time']);
    sim.runUntilIdle();
    for (const n of ['n0', 'n2']) expect(deliveredPayloads(sim, n)).toEqual([[0, 'on time']]);
    const stale = sim.names().reduce((s, n) => s + (sim.status(n) as { staleDropped: number }).staleDropped, 0);
    expect(stale).toBeGreaterThan(0);
  });

  it('forgets a crashed node, and takes it back when it restarts and rejoins', () => {
    const sim = network(13, 5);
    sim.fault({ _tag: 'Crash', node: 'n2' });
    sim.runUntilIdle();
    for (const n of ['n0', 'n1', 'n3', 'n4']) expect(sim.peersOf(n)).not.toContain('n2');
    expect(sim.eventsOf('n0').some((e) => e.event._tag === 'PeerLeft')).toBe(true);
    sim.broadcast('n1', ['while down']);
    sim.runUntilIdle();
    sim.fault({ _tag: 'Restart', node: 'n2', rejoin: ['n4'] });
    sim.runUntilIdle();
    sim.broadcast('n1', ['after restart']);
    sim.runUntilIdle();
    expect(sim.delivered('n2').map((d) => [d.incarnation, d.message.packets])).toEqual([[1, [0, 'after restart']]]);
    expect(components(sim)).toHaveLength(1);
  });

  it('delivers the same messages when every write is split into random chunks', () => {
    const run = (chunksMax: number): unknown[][] => {
      const sim = network(14, 6, { chunksMax });
      for (let i = 0; i < 5; i++) sim.broadcast(`n${i}`, ['chunked', i, new Uint8Array(3000).fill(i)]);
      sim.runUntilIdle();
      return sim.names().map((n) => deliveredPayloads(sim, n).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))));
    };
    const whole = run(1);
    expect(whole.flat()).toHaveLength(25);
    expect(run(16)).toEqual(whole);
  });

  it('gives a byte-identical trace for the same seed', () => {
    const trace = (seed: number): string => {
      const sim = network(seed, 8, { chunksMax: 3 });
      sim.fault({ _tag: 'Partition', groups: [['n1', 'n2']], oneWay: true });
      sim.broadcast('n3', ['t']);
      sim.runFor(5_000);
      sim.fault({ _tag: 'Heal' });
      sim.runUntilIdle();
      return sim.traceHash();
    };
    expect(trace(15)).toBe(trace(15));
    expect(trace(15)).not.toBe(trace(16));
  });

  // Found by the simulator properties: an id forgotten 60 s after arrival let a late copy (held
  // in flight, its sender's clock 10 s ahead) be delivered twice. The core now remembers an id
  // until its stamp is stale by its own clock.
  it('delivers a broadcast once even when a copy arrives after the arrival TTL', () => {
    const sim = new Simulation({ seed: 17, latency: latency.constant(10) });
    const monitor = new SafetyMonitor(sim, false);
    sim.addNode({ skewMs: 10_000, limits: { outgoingMax: 0 } });
    sim.addNode({ limits: { outgoingMax: 0 } });
    sim.addNode({ limits: { outgoingMax: 0 } });
    sim.connect('n1', 'n0');
    sim.connect('n2', 'n0');
    sim.connect('n2', 'n1');
    sim.runUntilIdle();
    sim.fault({ _tag: 'Hold', from: 'n2', to: 'n1' });
    sim.broadcast('n0', ['once']);
    sim.runFor(65_000);
    sim.fault({ _tag: 'Release', from: 'n2', to: 'n1' });
    sim.runUntilIdle();
    expect(monitor.violations).toEqual([]);
  });

  // Found by bench:sim: a node at `connectionsMax` closed newcomers without a word, so nodes
  // joining through a full bootstrap node stayed alone. A full node now sends its handshake and
  // peers list before it closes, and newcomers join through those peers.
  it('joins nodes into one network through a bootstrap node that is full', () => {
    const sim = new Simulation({ seed: 18 });
    sim.addNode({ limits: { connectionsMax: 4 } });
    for (let i = 1; i < 12; i++) sim.addNode();
    for (let i = 1; i < 12; i++) sim.command({ _tag: 'Connect', node: `n${i}`, address: sim.node('n0').address }, i * 1_000);
    sim.runUntilIdle();
    expect(components(sim)).toHaveLength(1);
  });

  // Known core limitations around a full bootstrap node, found by the simulator (each a join
  // that ends split). When one is fixed its test fails: make that `it.fails` an `it`.
  // 1. A newcomer with outgoingMax 1 reads the full node's peers list while the refused
  //    connection still counts as its one outgoing connection, so it dials none of them.
  it('joins a newcomer with outgoingMax 1 through a full bootstrap node', () => {
    const sim = new Simulation({ seed: 19 });
    sim.addNode({ limits: { connectionsMax: 2 } });
    for (let i = 1; i < 4; i++) sim.addNode({ limits: { outgoingMax: 1 } });
    for (let i = 1; i < 4; i++) sim.command({ _tag: 'Connect', node: `n${i}`, address: sim.node('n0').address }, i * 2_000);
    sim.runUntilIdle();
    expect(components(sim)).toHaveLength(1);
  });

  // 2. Newcomers arriving together at a bootstrap node that fills up before any of them has
  //    handshaken get an empty peers list, and nothing makes them try again.
  it('joins newcomers that arrive together at a bootstrap node that fills up', () => {
    const sim = new Simulation({ seed: 20 });
    sim.addNode({ limits: { connectionsMax: 4 } });
    for (let i = 1; i < 10; i++) sim.addNode();
    for (let i = 1; i < 10; i++) sim.connect(`n${i}`, 'n0');
    sim.runUntilIdle();
    // The refused newcomers try the bootstrap node again after their back-off (a timer, which
    // `runUntilIdle` does not wait for): by then it has peers to name.
    sim.runFor(30_000);
    expect(sim.runUntilIdle(), replay(sim)).toBe(true);
    expect(components(sim)).toHaveLength(1);
  });
});

/** The deliveries of `node` whose second packet is `tag` (packets[0] is the sub-flag). */
const tagged = (sim: Simulation, node: string, tag: string) => sim.delivered(node).filter((d) => d.message.packets[2] === tag);

/** Every node delivers exactly once each of the broadcasts that nodes n0..n<count-1> sent, one each, tagged `tag`. */
const eachOnce = (sim: Simulation, tag: string, count: number): void => {
  sim.names().forEach((n, i) => {
    const got = tagged(sim, n, tag);
    expect(got.length, `${n} delivered ${got.length} of the ${tag} broadcasts`).toBe(i < count ? count - 1 : count);
    expect(new Set(got.map((d) => JSON.stringify(d.message.packets))).size).toBe(got.length);
  });
};

/**
 * Once healing is over: the run settles into one network, and a broadcast from each of the first
 * `count` nodes reaches every node exactly once with nothing lost.
 */
const healedDeliversOnce = (sim: Simulation, tag: string, count: number): void => {
  expect(sim.runUntilIdle(), replay(sim)).toBe(true);
  expect(components(sim)).toHaveLength(1);
  for (let i = 0; i < count; i++) sim.broadcast(`n${i}`, ['after heal', tag, i]);
  sim.runUntilIdle();
  expect(sim.stats()).toMatchObject({ lost: 0 });
  eachOnce(sim, tag, count);
};

// Self-healing (mesh/heal.ts): after a fault ends, no user command is issued; the nodes find
// each other again from the addresses they learnt, with back-off, and broadcasts reach everyone.
describe('a simulated mesh heals on its own', () => {
  it('merges the two halves of a partition that reset every crossing link', () => {
    const sim = network(31, 12);
    const half = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
    sim.fault({ _tag: 'Partition', groups: [half], reset: true });
    sim.runFor(120_000);
    expect(components(sim).length).toBeGreaterThan(1);
    sim.fault({ _tag: 'Heal' });
    // The longest redial back-off is `redialMaxMs` (60 s, ±50 %): the halves meet within it.
    sim.runFor(120_000);
    healedDeliversOnce(sim, 'merged', 12);
  });

  it('merges two halves of 20 nodes, each big enough to fill every outgoing target by itself, after a 5-minute partition', () => {
    const sim = new Simulation({ seed: 35, latency: latency.exponential(2, 20, 200), trace: 'off' });
    new SafetyMonitor(sim, true);
    for (let i = 0; i < 40; i++) sim.addNode();
    for (let i = 1; i < 40; i++) sim.command({ _tag: 'Connect', node: `n${i}`, address: sim.node(`n${Math.floor(i / 2)}`).address }, i * 100);
    sim.runFor(600_000);
    const half = sim.names().slice(0, 20);
    const sameHalf = (x: string, y: string): boolean => half.includes(x) === half.includes(y);
    const outgoingPeers = (n: string): string[] => routingTable(sim.node(n).state as NodeState).flatMap((p) => (p.outgoing ? [sim.nameOf(p.id) ?? '?'] : []));
    // The nodes with a long-lived outgoing peer across the cut: the partition's resets take it from them.
    const crossing = sim.names().filter((n) => outgoingPeers(n).some((p) => !sameHalf(n, p)));
    expect(crossing.length).toBeGreaterThanOrEqual(10);
    sim.fault({ _tag: 'Partition', groups: [half], reset: true });
    sim.runFor(300_000);
    // Split along the cut, and the slot kept for lost peers remains: a node that lost a peer
    // across the cut holds at most 3 handshaken outgoing links (its fourth slot keeps redialling
    // that peer, within lostPeerRetryMs), which is how the halves meet again. Each half usually
    // forms one part with every other slot filled (this seed); a node whose every known address
    // lies across the cut stays alone until the heal (seed 6035), as README Limits says.
    const parts = components(sim);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) expect(part.filter((n) => !sameHalf(n, part[0] ?? n))).toEqual([]);
    const held = Object.fromEntries(sim.names().map((n) => [n, outgoingPeers(n).length]));
    expect(crossing.filter((n) => (held[n] ?? 0) > 3)).toEqual([]);
    expect(parts).toHaveLength(2);
    expect(held).toEqual(Object.fromEntries(sim.names().map((n) => [n, crossing.includes(n) ? 3 : 4])));
    const outgoing = (n: string): number => (sim.status(n) as { outgoing: number }).outgoing;
    sim.fault({ _tag: 'Heal' });
    sim.runFor(300_000);
    expect(components(sim)).toHaveLength(1);
    expect(sim.names().every((n) => outgoing(n) <= 4)).toBe(true);
    for (let i = 0; i < 40; i += 3) sim.broadcast(`n${i}`, ['after heal', 'halves', i]);
    sim.runFor(10_000);
    expect(sim.stats()).toMatchObject({ lost: 0 });
    sim.names().forEach((n, i) => expect(tagged(sim, n, 'halves')).toHaveLength(i % 3 === 0 ? 13 : 14));
  });

  // A restarted node that knows no one is dialled again by the nodes that know its address and
  // are short of outgoing links (seven nodes cannot all hold four). Its address must have spread
  // first: crashed 340 ms after joining (seed 101), a node no short node had heard of stayed out
  // (README, Limits).
  it('takes back crashed nodes that restart without being told whom to join', () => {
    const sim = network(32, 10);
    sim.runFor(60_000);
    for (const n of ['n0', 'n3', 'n7']) sim.fault({ _tag: 'Crash', node: n });
    sim.runFor(90_000);
    for (const n of ['n0', 'n3', 'n7']) sim.fault({ _tag: 'Restart', node: n, rejoin: [] });
    sim.runFor(120_000);
    healedDeliversOnce(sim, 'back', 10);
  });

  it('reconnects a node whose every link was reset, and the network around its bootstrap hub after the hub crashed for good', () => {
    const sim = network(33, 10);
    sim.fault({ _tag: 'Reset', a: 'n4' });
    sim.fault({ _tag: 'Crash', node: 'n0' });
    sim.runFor(120_000);
    expect(sim.runUntilIdle(), replay(sim)).toBe(true);
    expect(components(sim)).toHaveLength(1);
    for (let i = 1; i < 10; i++) sim.broadcast(`n${i}`, ['after reset', 'reset', i]);
    sim.runUntilIdle();
    expect(sim.stats()).toMatchObject({ lost: 0 });
    for (const n of sim.names().filter((x) => x !== 'n0')) {
      expect(tagged(sim, n, 'reset')).toHaveLength(8);
    }
  });

  it('never holds more than outgoingMax outgoing connections while healing, nor dials itself', () => {
    const sim = network(34, 10);
    const overs: string[] = [];
    sim.observe((o) => {
      if (o._tag !== 'Step') return;
      const st = sim.status(o.node) as { outgoing: number } | undefined;
      if (st !== undefined && st.outgoing > 4) overs.push(`${o.node} ${st.outgoing}`);
    });
    sim.fault({ _tag: 'Partition', groups: [['n0', 'n1', 'n2']], reset: true });
    sim.fault({ _tag: 'Crash', node: 'n5' });
    sim.runFor(60_000);
    sim.fault({ _tag: 'Heal' });
    sim.fault({ _tag: 'Restart', node: 'n5', rejoin: [] });
    sim.runFor(180_000);
    expect(overs).toEqual([]);
    for (const n of sim.names()) expect((sim.status(n) as { closedByReason: Record<string, number> }).closedByReason['SelfConnection']).toBeUndefined();
    expect(components(sim)).toHaveLength(1);
  });
});


/** A simulation that also tells how many reply callbacks a node still holds. */
class ReplyProbe extends Simulation {
  /** Reply and whisper promises of `name` still waiting for an outcome. */
  repliesHeld(name: string): number {
    return this.rec(name).replies.size;
  }
}

/** Two nodes, n1 joined to n0, whose pending replies can be counted. */
const probedPair = (seed: number): ReplyProbe => {
  const sim = new ReplyProbe({ seed });
  sim.addNode();
  sim.addNode();
  sim.connect('n1', 'n0');
  sim.runUntilIdle();
  return sim;
};

/** One turn of the event loop: enough for promise callbacks of an already settled promise to run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** 'pending', or how `p` settled (its outcome, or the rejection's code and reason). */
const settlement = async (p: Promise<unknown>): Promise<unknown> => {
  let out: unknown = 'pending';
  p.then(
    (v) => void (out = { resolved: v }),
    (e: { code?: string; why?: string }) => void (out = { rejected: { code: e.code, why: e.why } }),
  );
  await turn();
  return out;
};

/** Unhandled rejections raised while `fn` runs and one more turn of the event loop passes. */
const unhandledDuring = async (fn: () => void): Promise<unknown[]> => {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    fn();
    await turn();
    await turn();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return seen;
};

// The simulator runs user handlers and replies as a MeshSocket does: a handler that throws does
// not claim the message and is counted; a reply settles once, only ever failing with ReplyFailed.
describe('handlers and replies on the simulator', () => {
  it('counts a handler that throws, as a socket does, and carries on with the step', () => {
    const sim = network(41, 3);
    const seen: string[] = [];
    sim.register('n1', () => {
      throw new Error('handler bug');
    });
    sim.register('n1', (msg) => {
      seen.push(String(msg.packets[1]));
      return false;
    });
    const observed: string[] = [];
    sim.observe((o) => {
      if (o._tag === 'Delivered') observed.push(o.delivery.node);
    });
    sim.broadcast('n0', ['first']);
    expect(sim.runUntilIdle(), replay(sim)).toBe(true);
    expect(seen).toEqual(['first']);
    expect(sim.delivered('n1')).toMatchObject([{ claimed: false, queued: true }]);
    expect(sim.recv('n1').map((m) => m.packets)).toEqual([[0, 'first']]);
    expect(observed.sort()).toEqual(['n1', 'n2']);
    expect(sim.node('n1').handlerErrors).toBe(1);
    expect(sim.node('n2').handlerErrors).toBe(0);
    expect(sim.stats().handlerErrors).toBe(1);
    sim.broadcast('n1', ['second']);
    sim.runUntilIdle();
    expect(deliveredPayloads(sim, 'n2')).toEqual([[0, 'first'], [0, 'second']]);
  });

  it('fails a whisper from a node that is down at once with ReplyFailed, and holds no callback', async () => {
    const sim = probedPair(42);
    sim.fault({ _tag: 'Crash', node: 'n1' });
    sim.runUntilIdle();
    const whisper = sim.whisper('n1', 'n0', ['from the grave']);
    sim.command({ _tag: 'Whisper', node: 'n1', to: sim.node('n0').id, packets: ['as data'] });
    sim.runUntilIdle();
    expect(await settlement(whisper)).toEqual({ rejected: { code: 'ReplyFailed', why: 'NodeDown' } });
    expect(sim.repliesHeld('n1')).toBe(0);
    sim.fault({ _tag: 'Restart', node: 'n1', rejoin: ['n0'] });
    sim.runUntilIdle();
    expect(sim.repliesHeld('n1')).toBe(0);
    expect(await settlement(sim.whisper('n1', 'n0', ['alive again']))).toBe('pending');
    sim.runUntilIdle();
    expect(sim.repliesHeld('n1')).toBe(0);
  });

  it('fails a reply pending at a crash with ReplyFailed', async () => {
    const sim = probedPair(43);
    // Paused, the node keeps the whisper's command unread: it is pending when the node crashes.
    sim.fault({ _tag: 'Pause', node: 'n1' });
    sim.runUntilIdle();
    const whisper = sim.whisper('n1', 'n0', ['never sent']);
    sim.runUntilIdle();
    expect(await settlement(whisper)).toBe('pending');
    sim.fault({ _tag: 'Crash', node: 'n1' });
    sim.runUntilIdle();
    expect(await settlement(whisper)).toEqual({ rejected: { code: 'ReplyFailed', why: 'NodeCrashed' } });
    expect(sim.repliesHeld('n1')).toBe(0);
  });

  it('fails a reply to a message that arrived before a crash with ReplyFailed, never with an unhandled rejection', async () => {
    const sim = network(44, 2);
    const got: Message[] = [];
    sim.register('n1', (msg) => {
      got.push(msg);
      return true;
    });
    sim.broadcast('n0', ['before the crash']);
    sim.runUntilIdle();
    expect(got).toHaveLength(1);
    sim.fault({ _tag: 'Crash', node: 'n1' });
    sim.fault({ _tag: 'Restart', node: 'n1', rejoin: ['n0'] });
    sim.runUntilIdle();
    const msg = got[0]!;
    expect(await unhandledDuring(() => void msg.reply('too late'))).toEqual([]);
    expect(await settlement(msg.reply('too late'))).toEqual({ rejected: { code: 'ReplyFailed', why: 'NodeCrashed' } });
  });
});
