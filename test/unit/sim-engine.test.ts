/**
 * The simulator's network and clock, tested with a stand-in node kind that records every input
 * and writes what it is told: links are FIFO byte streams whatever the latency and chunking,
 * cuts hold data (in flight or sent during the cut) and stop dials, resets and crashes close,
 * pauses defer, skew shifts clocks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConnId, Effect, Input, NodeId } from '../../src/core/types.js';
import type { NodeKind } from '../../src/shell/sim/kind.js';
import { SIM_EPOCH_MS, Simulation, type SimOptions } from '../../src/shell/sim/simulation.js';
import { EventQueue } from '../../src/shell/sim/queue.js';
import { Prng, deriveSeed } from '../../src/shell/sim/prng.js';
import { DIGEST_MEMO_BYTES_MAX, DIGEST_MEMO_SLOTS, memoisedDigests } from '../../src/shell/sim/digests.js';
import { nodeCapabilities } from '../../src/shell/caps.js';
import { propRuns } from '../property/runs.js';

interface RecState {
  readonly log: Input[];
  conns: ConnId[];
  dials: number;
  wakeAt: number | undefined;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Records inputs; `Send` writes packets[0] to every open connection; `Connect` dials. */
const recorder: NodeKind<{ readonly id: NodeId }, RecState> = {
  name: 'recorder',
  makeEnv: (p) => ({ id: p.name as NodeId }),
  nodeId: (env) => env.id,
  init: () => ({ log: [], conns: [], dials: 0, wakeAt: undefined }),
  step: (_env, s, input) => {
    s.log.push(input);
    const out: Effect[] = [];
    switch (input._tag) {
      case 'Connect':
        out.push({ _tag: 'Dial', conn: `d${++s.dials}` as ConnId, address: input.address });
        break;
      case 'DialSucceeded':
      case 'ConnectionAccepted':
        s.conns.push(input.conn);
        break;
      case 'DialFailed':
      case 'ConnectionClosed':
        s.conns = s.conns.filter((c) => c !== input.conn);
        break;
      case 'Send':
        for (const conn of s.conns) out.push({ _tag: 'Write', conn, bytes: utf8.encode(String(input.packets[0])) });
        if (typeof input.packets[1] === 'number') s.wakeAt = input.packets[1];
        break;
      case 'Disconnect': {
        const conn = s.conns.shift();
        if (conn !== undefined) out.push({ _tag: 'Close', conn, reason: { _tag: 'UserDisconnect' } });
        break;
      }
      case 'Tick':
        s.wakeAt = undefined;
        break;
      default:
        break;
    }
    return [s, out];
  },
  nextWakeup: (s) => s.wakeAt,
  peers: (s) => s.conns.map((conn) => ({ id: 'peer' as NodeId, conn })),
  isQueuedForUser: () => true,
  protocol: () => ({ subnet: 'rec', encryption: 'Plaintext', id: 'rec' }),
};

const sim = (opts: Partial<SimOptions> = {}): Simulation => new Simulation({ seed: 1, kind: recorder, ...opts });
const log = (s: Simulation, name: string): Input[] => (s.node(name).state as RecState).log;
const received = (s: Simulation, name: string): string =>
  log(s, name)
    .map((i) => (i._tag === 'BytesReceived' ? text.decode(i.bytes) : ''))
    .join('');
const tags = (s: Simulation, name: string): string[] => log(s, name).map((i) => i._tag);

/** Two nodes, a dialling b, connected. */
const pair = (opts: Partial<SimOptions> = {}): Simulation => {
  const s = sim(opts);
  s.addNode({ name: 'a' });
  s.addNode({ name: 'b' });
  s.connect('a', 'b');
  s.runUntilIdle();
  return s;
};

describe('event queue', () => {
  it('pops in (time, insertion) order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 })), (times) => {
        const q = new EventQueue<{ time: number; seq: number }>();
        times.forEach((time, seq) => q.push({ time, seq }));
        const out: Array<{ time: number; seq: number }> = [];
        for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e);
        const expected = times.map((time, seq) => ({ time, seq })).sort((x, y) => x.time - y.time || x.seq - y.seq);
        expect(out).toEqual(expected);
      }),
    );
  });

  it('matches a sorted model when pushes and pops interleave, near and far, whole and fractional', () => {
    // An op is a pop, or a push at `now` + delay (near: in the wheel; far or fractional: the heap),
    // or a push with an older sequence number than the last (out of order: the heap as well).
    const op = fc.oneof(
      fc.constant({ _tag: 'pop' as const }),
      fc.record({ _tag: fc.constant('popUntil' as const), ahead: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ _tag: fc.constant('push' as const), delay: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 900, max: 5000 }), fc.double({ min: 0, max: 50, noNaN: true })), older: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new EventQueue<{ time: number; seq: number }>();
        let model: Array<{ time: number; seq: number }> = [];
        let now = 0;
        let seq = 1000;
        for (const o of ops) {
          if (o._tag === 'push') {
            const e = { time: now + o.delay, seq: o.older ? seq - 1000 : seq };
            seq++;
            q.push(e);
            model.push(e);
          } else if (o._tag === 'popUntil') {
            model.sort((x, y) => x.time - y.time || x.seq - y.seq);
            const head = model[0];
            const due = head !== undefined && head.time <= now + o.ahead ? head : undefined;
            if (due !== undefined) model = model.slice(1);
            const got = q.popUntil(now + o.ahead);
            expect(got).toEqual(due);
            if (got !== undefined) now = got.time;
          } else {
            model.sort((x, y) => x.time - y.time || x.seq - y.seq);
            const want = model[0];
            model = model.slice(1);
            expect(q.peek()).toEqual(want);
            const got = q.pop();
            expect(got).toEqual(want);
            if (got !== undefined) now = got.time;
          }
          expect(q.size).toBe(model.length);
        }
        model.sort((x, y) => x.time - y.time || x.seq - y.seq);
        const rest: Array<{ time: number; seq: number }> = [];
        for (let e = q.pop(); e !== undefined; e = q.pop()) rest.push(e);
        expect(rest).toEqual(model);
      }),
      { numRuns: propRuns(300) },
    );
  });
});

describe('message-id memo', () => {
  const real = nodeCapabilities.sha256Latin1!;

  it('answers every input as SHA-256 does, whatever was asked before', () => {
    // Inputs from a small alphabet, so equal bytes recur and one buffer is asked about again after
    // it was changed in place; half end in one of two fixed 32-byte tails, so inputs that differ
    // only in their head share a slot.
    const small = fc.uint8Array({ minLength: 0, maxLength: 8 }).map((b) => b.map((x) => x % 3));
    const tails = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const bytes = fc.oneof(
      small,
      fc.tuple(small, fc.integer({ min: 0, max: 1 })).map(([head, t]) => {
        const out = new Uint8Array(head.length + 32);
        out.set(head, 0);
        out.set(tails[t]!, head.length);
        return out;
      }),
    );
    const op = fc.oneof(
      fc.record({ _tag: fc.constant('ask' as const), bytes, offset: fc.integer({ min: 0, max: 8 }) }),
      fc.record({ _tag: fc.constant('mutate' as const), at: fc.nat(), value: fc.nat(255) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const memo = memoisedDigests(nodeCapabilities).sha256Latin1!;
        let last: Uint8Array | undefined;
        let whole: Uint8Array | undefined;
        let start = 0;
        for (const o of ops) {
          if (o._tag === 'mutate') {
            if (last !== undefined && last.length > 0) last[o.at % last.length] = o.value;
          } else {
            whole = new Uint8Array(o.offset + o.bytes.length);
            whole.set(o.bytes, o.offset);
            start = o.offset;
            last = whole.subarray(start);
          }
          if (last === undefined || whole === undefined) continue;
          // Asked about as the part of a larger array from a start index (first, so new bytes are
          // hashed that way), then as a view of its own.
          expect(memo(whole, start)).toBe(real(last));
          expect(memo(last)).toBe(real(last));
        }
      }),
      { numRuns: propRuns(300) },
    );
  });

  it('hands equal bytes the same digest string, and hashes large inputs every time', () => {
    const memo = memoisedDigests(nodeCapabilities).sha256Latin1!;
    const a = new Uint8Array([1, 2, 3, 4]);
    expect(memo(a)).toBe(memo(a.slice()));
    const big = new Uint8Array(DIGEST_MEMO_BYTES_MAX + 1).fill(7);
    expect(memo(big)).toBe(real(big));
    big[0] = 8;
    expect(memo(big)).toBe(real(big));
    expect(DIGEST_MEMO_SLOTS & (DIGEST_MEMO_SLOTS - 1)).toBe(0);
  });
});

describe('seeded PRNG', () => {
  it('repeats from a seed, and labelled streams differ', () => {
    const draw = (p: Prng): number[] => Array.from({ length: 8 }, () => p.nextU32());
    expect(draw(new Prng(5))).toEqual(draw(new Prng(5)));
    expect(draw(new Prng(5))).not.toEqual(draw(new Prng(6)));
    expect(draw(Prng.derive(5, 'a'))).not.toEqual(draw(Prng.derive(5, 'b')));
    expect(deriveSeed(5, 'x')).toBe(deriveSeed(5, 'x'));
  });

  it('draws integers in range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const p = new Prng(seed);
        for (let i = 0; i < 50; i++) {
          const x = p.int(n);
          expect(x >= 0 && x < n && Number.isInteger(x)).toBe(true);
        }
      }),
    );
  });
});

describe('virtual links', () => {
  it('deliver each direction in order, whatever the latency and chunking', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 8 }), fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 30 }), (seed, chunksMax, words) => {
        const s = pair({ seed, chunksMax, latency: { _tag: 'Exponential', minMs: 0, meanMs: 40 } });
        words.forEach((w, i) => s.command({ _tag: 'Send', node: i % 2 === 0 ? 'a' : 'b', packets: [w], flag: 0, type: 0 }, i * 3));
        s.runUntilIdle();
        expect(received(s, 'b')).toBe(words.filter((_, i) => i % 2 === 0).join(''));
        expect(received(s, 'a')).toBe(words.filter((_, i) => i % 2 === 1).join(''));
      }),
      { numRuns: propRuns(50) },
    );
  });

  it('accept first, then the dial succeeds; a close reaches the other end after the data', () => {
    const s = pair({ latency: { _tag: 'Constant', ms: 10 } });
    expect(tags(s, 'b')).toEqual(['ConnectionAccepted']);
    expect(tags(s, 'a')).toEqual(['Connect', 'DialSucceeded']);
    s.command({ _tag: 'Send', node: 'a', packets: ['bye'], flag: 0, type: 0 });
    s.command({ _tag: 'Disconnect', node: 'a', peer: 'b' as NodeId });
    s.runUntilIdle();
    expect(tags(s, 'b')).toEqual(['ConnectionAccepted', 'BytesReceived', 'ConnectionClosed']);
    expect(received(s, 'b')).toBe('bye');
  });

  it('refuse a dial to an address nobody listens on', () => {
    const s = sim();
    s.addNode({ name: 'a' });
    s.connect('a', { host: '10.9.9.9', port: 1 });
    s.runUntilIdle();
    const failed = log(s, 'a').find((i) => i._tag === 'DialFailed');
    expect(failed).toMatchObject({ error: { _tag: 'ConnectionRefused' } });
  });
});

describe('faults', () => {
  it('a partition holds data until healed, and a dial across it times out', () => {
    const s = pair();
    s.addNode({ name: 'c' });
    s.fault({ _tag: 'Partition', groups: [['a']] });
    s.command({ _tag: 'Send', node: 'a', packets: ['held'], flag: 0, type: 0 });
    s.connect('c', 'a');
    s.runFor(60_000);
    expect(received(s, 'b')).toBe('');
    const failed = log(s, 'c').find((i) => i._tag === 'DialFailed');
    expect(failed).toMatchObject({ error: { _tag: 'Timeout' } });
    s.fault({ _tag: 'Heal' });
    s.runUntilIdle();
    expect(received(s, 'b')).toBe('held');
  });

  it('a one-way partition stops only one direction', () => {
    const s = pair();
    s.fault({ _tag: 'Partition', groups: [['a'], ['b']], oneWay: true });
    s.command({ _tag: 'Send', node: 'a', packets: ['a>b'], flag: 0, type: 0 });
    s.command({ _tag: 'Send', node: 'b', packets: ['b>a'], flag: 0, type: 0 });
    s.runFor(5_000);
    expect(received(s, 'b')).toBe('');
    expect(received(s, 'a')).toBe('b>a');
  });

  it('a hold keeps data back in order until released', () => {
    const s = pair();
    s.fault({ _tag: 'Hold', from: 'b', to: 'a' });
    for (const w of ['1', '2', '3']) s.command({ _tag: 'Send', node: 'b', packets: [w], flag: 0, type: 0 });
    s.runFor(5_000);
    expect(received(s, 'a')).toBe('');
    s.fault({ _tag: 'Release', from: 'b', to: 'a' });
    s.runUntilIdle();
    expect(received(s, 'a')).toBe('123');
  });

  it('a hold stops data already in flight, and releases it in order with what followed', () => {
    const s = pair({ latency: { _tag: 'Constant', ms: 50 } });
    s.command({ _tag: 'Send', node: 'a', packets: ['1'], flag: 0, type: 0 });
    s.runFor(10);
    s.fault({ _tag: 'Hold', from: 'a', to: 'b' });
    s.command({ _tag: 'Send', node: 'a', packets: ['2'], flag: 0, type: 0 });
    s.runFor(5_000);
    expect(received(s, 'b')).toBe('');
    s.fault({ _tag: 'Release', from: 'a', to: 'b' });
    s.command({ _tag: 'Send', node: 'a', packets: ['3'], flag: 0, type: 0 });
    s.runUntilIdle();
    expect(received(s, 'b')).toBe('123');
  });

  it('a partition stops a close already in flight, behind the data before it, until healed', () => {
    const s = pair({ latency: { _tag: 'Constant', ms: 50 } });
    s.command({ _tag: 'Send', node: 'a', packets: ['bye'], flag: 0, type: 0 });
    s.command({ _tag: 'Disconnect', node: 'a', peer: 'b' as NodeId });
    s.runFor(10);
    s.fault({ _tag: 'Partition', groups: [['a']] });
    s.runFor(5_000);
    expect(tags(s, 'b')).toEqual(['ConnectionAccepted']);
    s.fault({ _tag: 'Heal' });
    s.runUntilIdle();
    expect(tags(s, 'b')).toEqual(['ConnectionAccepted', 'BytesReceived', 'ConnectionClosed']);
    expect(received(s, 'b')).toBe('bye');
  });

  it('a partition stops the answer to a dial already in flight, and the data behind it, until healed', () => {
    const s = sim({ latency: { _tag: 'Constant', ms: 50 } });
    s.addNode({ name: 'a' });
    s.addNode({ name: 'b' });
    s.connect('a', 'b');
    // The dial reaches b at 50 ms and b accepts; its answer is due at a at 100 ms.
    s.runFor(75);
    s.fault({ _tag: 'Partition', groups: [['a']] });
    s.command({ _tag: 'Send', node: 'b', packets: ['hi'], flag: 0, type: 0 });
    s.runFor(5_000);
    expect(tags(s, 'a')).toEqual(['Connect']);
    expect(tags(s, 'b')).toEqual(['ConnectionAccepted', 'Send']);
    s.fault({ _tag: 'Heal' });
    s.runUntilIdle();
    expect(tags(s, 'a')).toEqual(['Connect', 'DialSucceeded', 'BytesReceived']);
    expect(received(s, 'a')).toBe('hi');
  });

  it('data in flight when a pause and a hold overlap still arrives in order', () => {
    const s = pair({ latency: { _tag: 'Constant', ms: 50 } });
    s.fault({ _tag: 'Pause', node: 'b' });
    s.command({ _tag: 'Send', node: 'a', packets: ['1'], flag: 0, type: 0 });
    s.runFor(60);
    s.fault({ _tag: 'Hold', from: 'a', to: 'b' });
    s.command({ _tag: 'Send', node: 'a', packets: ['2'], flag: 0, type: 0 });
    s.runFor(60);
    s.fault({ _tag: 'Resume', node: 'b' });
    s.runFor(60);
    expect(received(s, 'b')).toBe('1');
    s.fault({ _tag: 'Release', from: 'a', to: 'b' });
    s.runUntilIdle();
    expect(received(s, 'b')).toBe('12');
  });

  it('a reset closes both ends and loses data in flight', () => {
    const s = pair({ latency: { _tag: 'Constant', ms: 50 } });
    s.command({ _tag: 'Send', node: 'a', packets: ['lost'], flag: 0, type: 0 });
    s.runFor(1);
    s.fault({ _tag: 'Reset', a: 'a', b: 'b' });
    s.runUntilIdle();
    expect(received(s, 'b')).toBe('');
    expect(tags(s, 'a').at(-1)).toBe('ConnectionClosed');
    expect(tags(s, 'b').at(-1)).toBe('ConnectionClosed');
  });

  it('a crash loses the state and closes the peers; a restart starts afresh with the same id', () => {
    const s = pair();
    const id = s.node('b').id;
    s.fault({ _tag: 'Crash', node: 'b' });
    s.runUntilIdle();
    expect(tags(s, 'a').at(-1)).toBe('ConnectionClosed');
    s.connect('a', 'b');
    s.runUntilIdle();
    expect(log(s, 'a').at(-1)).toMatchObject({ _tag: 'DialFailed', error: { _tag: 'ConnectionRefused' } });
    s.fault({ _tag: 'Restart', node: 'b', rejoin: ['a'] });
    s.runUntilIdle();
    expect(s.node('b')).toMatchObject({ alive: true, incarnation: 1, id });
    expect(tags(s, 'b')).toEqual(['Connect', 'DialSucceeded']);
  });

  it('a paused node gets what reached it when it resumes, in order', () => {
    const s = pair({ latency: { _tag: 'Constant', ms: 10 } });
    s.fault({ _tag: 'Pause', node: 'b' });
    for (const w of ['x', 'y']) s.command({ _tag: 'Send', node: 'a', packets: [w], flag: 0, type: 0 });
    s.runFor(1_000);
    expect(received(s, 'b')).toBe('');
    const resumedAt = s.now;
    s.fault({ _tag: 'Resume', node: 'b' });
    s.runUntilIdle();
    expect(received(s, 'b')).toBe('xy');
    expect(log(s, 'b').at(-1)?.at).toBe(SIM_EPOCH_MS + resumedAt);
  });

  it('skew shifts a node clock, and its wake-ups with it', () => {
    const s = sim();
    s.addNode({ name: 'a', skewMs: 5_000 });
    const wakeAt = SIM_EPOCH_MS + 8_000;
    s.command({ _tag: 'Send', node: 'a', packets: ['', wakeAt], flag: 0, type: 0 });
    s.runFor(10_000);
    const tick = log(s, 'a').find((i) => i._tag === 'Tick');
    expect(tick?.at).toBe(wakeAt);
    expect(log(s, 'a')[0]?.at).toBe(SIM_EPOCH_MS + 5_000);
  });

  it('skew faults end: a Skew without an offset, or HealAll, puts a clock back to the offset it was added with', () => {
    const s = sim();
    s.addNode({ name: 'a', skewMs: 5_000 });
    s.addNode({ name: 'b' });
    s.fault({ _tag: 'Skew', node: 'a', skewMs: -30_000 });
    s.fault({ _tag: 'Skew', node: 'a', skewMs: 30_000 });
    s.fault({ _tag: 'Skew', node: 'b', skewMs: 30_000 });
    s.runFor(1);
    expect([s.node('a').skewMs, s.node('b').skewMs]).toEqual([30_000, 30_000]);
    s.fault({ _tag: 'Skew', node: 'b' });
    s.runFor(1);
    expect([s.node('a').skewMs, s.node('b').skewMs]).toEqual([30_000, 0]);
    // A wake-up asked for by a's clock 30 s slow is due 1 s after HealAll puts the clock back.
    s.fault({ _tag: 'Skew', node: 'a', skewMs: -30_000 });
    s.runFor(1);
    const wakeAt = SIM_EPOCH_MS + s.now + 5_000 + 1_000;
    s.command({ _tag: 'Send', node: 'a', packets: ['', wakeAt], flag: 0, type: 0 });
    s.runFor(1);
    s.fault({ _tag: 'HealAll' });
    s.runFor(1);
    expect([s.node('a').skewMs, s.node('b').skewMs]).toEqual([5_000, 0]);
    s.runFor(2_000);
    expect(log(s, 'a').find((i) => i._tag === 'Tick')?.at).toBe(wakeAt);
  });
});

describe('no loss without a reset', () => {
  it('every byte sent arrives, in order, through any mix of holds, partitions and pauses once healed', () => {
    const names = ['a', 'b', 'c'];
    const node = fc.constantFrom(...names);
    const action = fc.oneof(
      fc.record({ _tag: fc.constant('Send' as const), node }),
      fc.record({ _tag: fc.constant('Hold' as const), from: node, to: node }),
      fc.record({ _tag: fc.constant('Release' as const), from: node, to: node }),
      fc.record({ _tag: fc.constant('Partition' as const), side: fc.subarray(names, { minLength: 1, maxLength: 2 }), oneWay: fc.boolean() }),
      fc.constant({ _tag: 'Heal' as const }),
      fc.record({ _tag: fc.constant('Pause' as const), node }),
      fc.record({ _tag: fc.constant('Resume' as const), node }),
    );
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.tuple(action, fc.integer({ min: 0, max: 500 })), { maxLength: 40 }), (seed, actions) => {
        const s = sim({ seed, chunksMax: 3, latency: { _tag: 'Uniform', minMs: 0, maxMs: 80 } });
        for (const n of names) s.addNode({ name: n });
        s.connect('a', 'b');
        s.connect('a', 'c');
        s.connect('b', 'c');
        s.runUntilIdle();
        const sent = new Map(names.map((n) => [n, '']));
        let t = s.now;
        for (const [a, gap] of actions) {
          t += gap;
          s.runUntil(t);
          if (a._tag === 'Send') {
            const word = `${a.node}${sent.get(a.node)?.length ?? 0};`;
            sent.set(a.node, (sent.get(a.node) ?? '') + word);
            s.command({ _tag: 'Send', node: a.node, packets: [word], flag: 0, type: 0 });
          } else if (a._tag === 'Hold' || a._tag === 'Release') {
            if (a.from !== a.to) s.fault(a);
          } else if (a._tag === 'Partition') s.fault({ _tag: 'Partition', groups: [a.side], oneWay: a.oneWay });
          else s.fault(a);
        }
        s.fault({ _tag: 'HealAll' });
        s.runUntilIdle();
        for (const n of names) {
          const byConn = new Map<string, string>();
          for (const i of log(s, n)) if (i._tag === 'BytesReceived') byConn.set(i.conn, (byConn.get(i.conn) ?? '') + text.decode(i.bytes));
          const streams = [...byConn.values()].filter((x) => x !== '').sort();
          const expected = names.filter((m) => m !== n).map((m) => sent.get(m) ?? '').filter((x) => x !== '').sort();
          expect(streams).toEqual(expected);
        }
      }),
      { numRuns: propRuns(60) },
    );
  });
});

describe('running', () => {
  it('is idle when only timers are pending', () => {
    const s = sim();
    s.addNode({ name: 'a' });
    s.command({ _tag: 'Send', node: 'a', packets: ['', SIM_EPOCH_MS + 1_000_000], flag: 0, type: 0 });
    expect(s.runUntilIdle()).toBe(true);
    expect(s.now).toBe(0);
  });

  it('stops a core that keeps wanting a tick at once, instead of spinning', () => {
    const s = sim({ kind: { ...recorder, nextWakeup: () => 0 } });
    s.addNode({ name: 'a' });
    expect(() => s.runFor(60_000)).toThrow(/wanted a tick at once/);
  });

  it('stops a run that exceeds its event budget', () => {
    const s = pair();
    for (let i = 0; i < 50; i++) s.command({ _tag: 'Send', node: 'a', packets: ['x'], flag: 0, type: 0 }, i);
    expect(() => s.runFor(1_000, 10)).toThrow(/more than 10 events/);
  });

  it('gives the same trace for the same seed, another for another seed', () => {
    const run = (seed: number): string => {
      const s = pair({ seed, chunksMax: 4 });
      for (let i = 0; i < 20; i++) s.command({ _tag: 'Send', node: 'a', packets: [`m${i}`], flag: 0, type: 0 }, i);
      s.runUntilIdle();
      return s.traceHash();
    };
    expect(run(3)).toBe(run(3));
    expect(run(3)).not.toBe(run(4));
  });
});
