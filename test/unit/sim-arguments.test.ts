/**
 * The simulator checks its arguments when each public method is called, as a MeshSocket does: a
 * node name that is not there, packets that are not wire values, a handler that is not a
 * function, a time that is not a finite non-negative number, a bad latency model, skew or limit
 * is refused at once with `BadArgument` naming it, and leaves nothing behind; a fault schedule
 * is checked whole before any of it is queued. Values only a core can judge when it runs (a
 * handler's reply, a chord value) fail as they do under a socket, without stopping the run. Runs
 * given a bad time are bounded by a small `maxEvents`, so a missing check fails instead of hanging.
 */
import { describe, expect, it } from 'vitest';
import { BadArgument } from '../../src/shell/api/errors.js';
import { ChordDriver, Simulation, chordKind, latency, type Fault, type Latency, type SimOptions, type TimedFault } from '../../src/sim.js';
import type { NodeId } from '../../src/core/types.js';

/** Expects `f` to throw BadArgument at once, with a message matching `message`. */
const refused = (f: () => unknown, message: RegExp): void => {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error, `expected BadArgument matching ${message}`).toBeInstanceOf(BadArgument);
  expect((error as BadArgument).code).toBe('BadArgument');
  expect((error as BadArgument).message).toMatch(message);
};

/** Two mesh nodes, b dialling a, connected. */
const pair = (opts: Partial<SimOptions> = {}): Simulation => {
  const sim = new Simulation({ seed: 3, latency: latency.constant(5), ...opts });
  sim.addNode({ name: 'a' });
  sim.addNode({ name: 'b' });
  sim.connect('b', 'a');
  sim.runUntilIdle({ maxEvents: 100_000 });
  return sim;
};

/** Nothing was left queued by the refused calls: the network idles at once, both nodes up. */
const untouched = (sim: Simulation): void => {
  const events = sim.stats().events;
  expect(sim.runUntilIdle({ maxEvents: 1_000 })).toBe(true);
  expect(sim.stats().events).toBe(events);
  sim.runFor(5_000, 100_000);
  expect(sim.node('a').alive && sim.node('b').alive).toBe(true);
  expect(sim.peersOf('a')).toEqual(['b']);
  expect(sim.stats().broadcasts).toBe(0);
};

describe('faults and schedules', () => {
  it('refuse a fault naming a node that is not there, for every fault that names nodes', () => {
    const sim = pair();
    const faults: Fault[] = [
      { _tag: 'Reset', a: 'typo' },
      { _tag: 'Reset', a: 'a', b: 'typo' },
      { _tag: 'Partition', groups: [['a'], ['typo']] },
      { _tag: 'Crash', node: 'typo' },
      { _tag: 'Restart', node: 'typo', rejoin: [] },
      { _tag: 'Restart', node: 'a', rejoin: ['typo'] },
      { _tag: 'Pause', node: 'typo' },
      { _tag: 'Resume', node: 'typo' },
      { _tag: 'Skew', node: 'typo', skewMs: 10 },
      { _tag: 'Hold', from: 'a', to: 'typo' },
      { _tag: 'Release', from: 'typo', to: 'b' },
    ];
    for (const f of faults) refused(() => sim.fault(f), /typo/);
    for (const f of faults) refused(() => sim.fault(f, 1_000), /typo/);
    untouched(sim);
  });

  it('refuse a fault that is not one, a skew that is not finite and a time that is not finite and non-negative', () => {
    const sim = pair();
    refused(() => sim.fault({ _tag: 'Explode' } as never), /fault/);
    refused(() => sim.fault(undefined as never), /fault/);
    refused(() => sim.fault({ _tag: 'Partition', groups: 'a' } as never), /groups/);
    refused(() => sim.fault({ _tag: 'Partition', groups: [['a']], oneWay: 'yes' } as never), /oneWay/);
    refused(() => sim.fault({ _tag: 'Restart', node: 'a' } as never), /rejoin/);
    for (const skewMs of [NaN, Infinity, -Infinity, '5' as never]) refused(() => sim.fault({ _tag: 'Skew', node: 'a', skewMs }), /skewMs/);
    for (const atMs of [NaN, -1, Infinity, '5' as never]) refused(() => sim.fault({ _tag: 'Heal' }, atMs), /atMs/);
    untouched(sim);
  });

  it('check a schedule whole: one bad entry and none of it is applied', () => {
    const sim = pair();
    const schedule: TimedFault[] = [
      { atMs: sim.now + 1_000, fault: { _tag: 'Crash', node: 'a' } },
      { atMs: sim.now + 2_000, fault: { _tag: 'Hold', from: 'a', to: 'typo' } },
    ];
    refused(() => sim.schedule(schedule), /typo/);
    refused(() => sim.schedule([{ atMs: NaN, fault: { _tag: 'Heal' } }]), /atMs/);
    refused(() => sim.schedule([{ atMs: 1_000 } as never]), /fault/);
    refused(() => sim.schedule('Heal' as never), /schedule/);
    untouched(sim);
  });
});

describe('packets', () => {
  it('refuse what is not a list of wire values, as a socket refuses it', () => {
    const sim = pair();
    const bad: unknown[] = [[{ x: 1 }], [undefined], [() => 1], [Symbol('s')], [2n ** 70n], [[1, { x: 1 }]], 'hello', undefined, new Map()];
    for (const packets of bad) {
      refused(() => sim.broadcast('a', packets as never), /packets/);
      refused(() => sim.command({ _tag: 'Broadcast', node: 'a', packets: packets as never }), /packets/);
      refused(() => sim.command({ _tag: 'Send', node: 'a', packets: packets as never, flag: 0, type: 0 }), /packets/);
      refused(() => void sim.whisper('a', 'b', packets as never), /packets/);
    }
    untouched(sim);
  });

  it('name the packet that is not a wire value, and what it is', () => {
    const sim = pair();
    const cases: Array<[unknown[], RegExp]> = [
      [['x', undefined], /packets\[1\] is undefined \(nil is null\)/],
      [[() => 1], /packets\[0\] is a function/],
      [['x', [1, { x: 1 }]], /packets\[1\]\[1\] is a plain object \(a msgpack map is a Map\)/],
      [[2n ** 70n], /packets\[0\] is a bigint beyond 64 bits/],
    ];
    for (const [packets, said] of cases) {
      refused(() => sim.broadcast('a', packets as never), said);
      refused(() => void sim.whisper('a', 'b', packets as never), said);
    }
    untouched(sim);
  });

  it('refuse what peers would refuse: too many values, too deep, above frameBytesMax', () => {
    const sim = pair();
    sim.addNode({ name: 'small', limits: { frameBytesMax: 4_096 } });
    refused(() => sim.broadcast('a', [new Array(70_000).fill(0)]), /more than 65536 values/);
    let deep: unknown = 0;
    for (let i = 0; i < 70; i++) deep = [deep];
    refused(() => sim.broadcast('a', [deep as never]), /nesting deeper than 64/);
    refused(() => sim.broadcast('small', [new Uint8Array(5_000)]), /frameBytesMax \(4096\)/);
    sim.broadcast('small', [new Uint8Array(3_000)]);
  });

  it('refuse a sub-flag or flag that is not a byte', () => {
    const sim = pair();
    for (const type of [NaN, -1, 256, 1.5, '0' as never]) {
      refused(() => sim.broadcast('a', ['x'], type), /type/);
      refused(() => sim.command({ _tag: 'Send', node: 'a', packets: ['x'], flag: 0, type }), /type/);
      refused(() => sim.command({ _tag: 'Send', node: 'a', packets: ['x'], flag: type, type: 0 }), /flag/);
    }
    untouched(sim);
  });

  it('still carry good packets of every wire type', () => {
    const sim = pair();
    const packets = [null, true, 1.5, -7, 2n ** 63n, 'text', new Uint8Array([1, 2]), [1, [2]], new Map<string, number>([['k', 1]])];
    sim.broadcast('a', packets, 3);
    sim.runUntilIdle({ maxEvents: 100_000 });
    expect(sim.delivered('b').map((d) => d.message.packets.length)).toEqual([packets.length + 1]);
  });
});

describe('values a core refuses later, as it does under a socket', () => {
  it('a reply from a handler with packets that are not wire values fails with ReplyFailed; the run goes on', async () => {
    const sim = pair();
    let outcome: Promise<unknown> | undefined;
    sim.register('b', (m) => {
      outcome = m.reply({ x: 1 } as never);
      return true;
    });
    sim.broadcast('a', ['ping']);
    expect(sim.runUntilIdle({ maxEvents: 100_000 })).toBe(true);
    await expect(outcome).rejects.toMatchObject({
      code: 'ReplyFailed',
      why: 'Unencodable',
      detail: 'packets[0] is a plain object (a msgpack map is a Map)',
      message: expect.stringMatching(/failed: Unencodable \(packets\[0\] is a plain object/),
    });
  });

  it('a chord value that is not a wire value fails the command with BadValue; the run goes on', () => {
    const sim = new Simulation({ seed: 4, kind: chordKind });
    sim.addNode({ name: 'c', subnet: 'chord' });
    const chord = new ChordDriver(sim);
    chord.join('c');
    sim.runFor(1_000, 100_000);
    const set = chord.set('c', 'k', { x: 1 } as never);
    sim.runFor(5_000, 100_000);
    expect(set.outcome).toMatchObject({ _tag: 'Failed', error: { _tag: 'BadValue', detail: 'the value is a plain object (a msgpack map is a Map)' } });
    const undef = chord.set('c', 'k', [1, undefined] as never);
    sim.runFor(5_000, 100_000);
    expect(undef.outcome).toMatchObject({ _tag: 'Failed', error: { _tag: 'BadValue', detail: 'the value[1] is undefined (nil is null)' } });
  });
});

describe('handlers and callbacks', () => {
  it('refuse a handler, observer or scripted call that is not a function', () => {
    const sim = pair();
    refused(() => sim.register('a', 'not a function' as never), /handler/);
    refused(() => sim.register('typo', () => false), /typo/);
    refused(() => sim.observe(42 as never), /observer/);
    refused(() => sim.at(1_000, 'later' as never), /function/);
    refused(() => sim.at(NaN, () => undefined), /atMs/);
    refused(() => sim.at(-5, () => undefined), /atMs/);
    sim.broadcast('a', ['x']);
    sim.runUntilIdle({ maxEvents: 100_000 });
    expect(sim.delivered('b')).toHaveLength(1);
  });
});

describe('times and run bounds', () => {
  it('refuse a run to a time that is not finite and non-negative, without running', () => {
    const sim = pair();
    const events = sim.stats().events;
    sim.fault({ _tag: 'Heal' }, sim.now + 1_000);
    for (const t of [NaN, Infinity, -1, '5' as never]) {
      refused(() => sim.runUntil(t, 1_000), /tMs/);
      refused(() => sim.runFor(t, 1_000), /ms/);
      refused(() => sim.runUntilIdle({ maxMs: t, maxEvents: 1_000 }), /maxMs/);
    }
    for (const n of [NaN, -1, 1.5]) {
      refused(() => sim.runUntil(sim.now + 1_000, n), /maxEvents/);
      refused(() => sim.runFor(1_000, n), /maxEvents/);
      refused(() => sim.runUntilIdle({ maxEvents: n }), /maxEvents/);
    }
    expect(sim.stats().events).toBe(events);
  });

  it('refuse a command time that is not finite and non-negative', () => {
    const sim = pair();
    for (const atMs of [NaN, -1, Infinity]) refused(() => sim.command({ _tag: 'Broadcast', node: 'a', packets: ['x'] }, atMs), /atMs/);
    untouched(sim);
  });
});

describe('commands', () => {
  it('refuse a node, peer or address that is not there', () => {
    const sim = pair();
    refused(() => sim.broadcast('typo', ['x']), /typo/);
    refused(() => sim.connect('typo', 'a'), /typo/);
    refused(() => sim.connect('a', 'typo'), /typo/);
    refused(() => sim.connect('a', { host: 7, port: 4444 } as never), /address/);
    for (const port of [0, -1, 70_000, 1.5, NaN]) refused(() => sim.connect('a', { host: '10.0.0.2', port }), /address/);
    refused(() => sim.disconnect('a', 'typo'), /typo/);
    refused(() => void sim.whisper('a', 'typo', ['x']), /typo/);
    refused(() => void sim.whisper('typo', 'b', ['x']), /typo/);
    refused(() => sim.command({ _tag: 'Launch', node: 'a' } as never), /command/);
    refused(() => sim.command({ _tag: 'Input', node: 'a', input: 'Tick' } as never), /input/);
    refused(() => sim.command({ _tag: 'Connect', node: 'a', address: sim.node('b').address, expectedId: 5 } as never), /expectedId/);
    untouched(sim);
  });

  it('accept a peer by name or by id', () => {
    const sim = pair();
    void sim.whisper('a', sim.node('b').id, ['by id']);
    sim.runUntilIdle({ maxEvents: 100_000 });
    expect(sim.recv('b').map((m) => m.packets)).toEqual([[2, 'by id']]);
    sim.disconnect('a', sim.node('b').id as NodeId);
    sim.runUntilIdle({ maxEvents: 100_000 });
    expect(sim.peersOf('a')).toEqual([]);
  });

  it('refuse a chord command on a node that is not there, or with a key that is not text or bytes', () => {
    const sim = new Simulation({ seed: 4, kind: chordKind });
    sim.addNode({ name: 'c', subnet: 'chord' });
    const chord = new ChordDriver(sim);
    refused(() => chord.get('typo', 'k'), /typo/);
    refused(() => chord.set('c', 42 as never, 'v'), /key/);
    refused(() => chord.get('c', undefined as never), /key/);
    expect(chord.pending()).toBe(0);
  });
});

describe('inspection', () => {
  it('refuses a node that is not there and a count that is not a count', () => {
    const sim = pair();
    for (const look of [
      () => sim.node('typo'),
      () => sim.status('typo'),
      () => sim.routingTable('typo'),
      () => sim.peersOf('typo'),
      () => sim.delivered('typo'),
      () => sim.eventsOf('typo'),
      () => sim.recv('typo'),
      () => sim.linkOf('typo', 'c1' as never),
    ])
      refused(look, /typo/);
    for (const max of [NaN, -1, 1.5]) refused(() => sim.recv('a', max), /max/);
    expect(sim.recv('a', Infinity)).toEqual([]);
  });
});

describe('building the network', () => {
  it('refuses latency models that cannot be drawn from', () => {
    const bad: Array<() => Latency> = [
      () => latency.constant(NaN),
      () => latency.constant(-1),
      () => latency.constant(Infinity),
      () => latency.uniform(NaN, 5),
      () => latency.uniform(1, NaN),
      () => latency.uniform(10, 5),
      () => latency.uniform(-1, 5),
      () => latency.exponential(NaN, 5),
      () => latency.exponential(1, NaN),
      () => latency.exponential(1, -5),
      () => latency.exponential(1, 5, NaN),
      () => latency.exponential(1, 5, -1),
    ];
    for (const make of bad) refused(make, /latency/);
    for (const model of [{ _tag: 'Constant', ms: NaN }, { _tag: 'Uniform', minMs: 5, maxMs: 1 }, { _tag: 'Gaussian' }, 'fast'])
      refused(() => new Simulation({ seed: 1, latency: model as never }), /latency/);
  });

  it('refuses options that are not what they say', () => {
    const bad: Array<[Partial<SimOptions>, RegExp]> = [
      [{ seed: NaN }, /seed/],
      [{ seed: 1.5 }, /seed/],
      [{ seed: '1' as never }, /seed/],
      [{ chunksMax: NaN }, /chunksMax/],
      [{ chunksMax: 0 }, /chunksMax/],
      [{ chunksMax: 2.5 }, /chunksMax/],
      [{ startAtMs: NaN }, /startAtMs/],
      [{ trace: 'verbose' as never }, /trace/],
      [{ traceLinesMax: -1 }, /traceLinesMax/],
      [{ traceLinesMax: NaN }, /traceLinesMax/],
      [{ record: 'yes' as never }, /record/],
      [{ inboxMax: -1 }, /inboxMax/],
      [{ inboxMax: NaN }, /inboxMax/],
      [{ dialTimeoutMs: NaN }, /dialTimeoutMs/],
      [{ dialTimeoutMs: -1 }, /dialTimeoutMs/],
      [{ kind: { name: 'half' } as never }, /kind/],
    ];
    for (const [opts, message] of bad) refused(() => new Simulation({ seed: 1, ...opts }), message);
    refused(() => new Simulation(undefined as never), /options/);
  });

  it('refuses a node whose name, subnet, skew, limits or kind are bad', () => {
    const sim = new Simulation({ seed: 1 });
    sim.addNode({ name: 'a' });
    const bad: Array<[Parameters<Simulation['addNode']>[0], RegExp]> = [
      [{ name: 'a' }, /already/],
      [{ name: '' }, /name/],
      [{ name: 5 as never }, /name/],
      [{ subnet: '' }, /subnet/],
      [{ skewMs: NaN }, /skewMs/],
      [{ skewMs: Infinity }, /skewMs/],
      [{ limits: { outgoingmax: 2 } }, /outgoingmax/],
      [{ limits: { connectionsMax: -5 } }, /connectionsMax/],
      [{ limits: { outgoingMax: NaN } }, /outgoingMax/],
      [{ limits: { announceKeys: 0 } }, /announceKeys/],
      [{ limits: 'none' as never }, /limits/],
      [{ kind: 'chord' as never }, /kind/],
    ];
    for (const [opts, message] of bad) refused(() => sim.addNode(opts), message);
    expect(sim.names()).toEqual(['a']);
    // A chord node takes the chord bounds as well as the mesh ones.
    // Its quorum is a count of the five tables, as a ChordSocket's is.
    for (const voteQuorum of [0, 6, 2.5]) refused(() => sim.addNode({ name: 'q', kind: chordKind, subnet: 'chord', limits: { voteQuorum } }), /voteQuorum/);
    sim.addNode({ name: 'c', kind: chordKind, subnet: 'chord', limits: { announceKeys: 0, outgoingMax: 2, voteQuorum: 2 } });
    expect(sim.names()).toEqual(['a', 'c']);
  });
});
