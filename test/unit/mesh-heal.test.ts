// Self-healing (mesh/known.ts, mesh/heal.ts): the address book, redial back-off with jitter,
// bans for ourselves and other subnets, the '*' peers request while under target, and the
// peers list of a connection being refused dialled once that connection is gone.
import { describe, expect, it } from 'vitest';
import { initNode, nextWakeup, nodeStatus, step, type NodeState } from '../../src/core/node.js';
import { ConnId, type Address, type Effect, type Input } from '../../src/core/types.js';
import { peersPayload } from '../../src/core/wire/messages.js';
import { addr, events, frameFrom, go, handshakeFrom, mkEnv, only, T0, withPeers, writes } from './mesh-env.js';

const me = mkEnv(1);
const bob = mkEnv(2);
const carol = mkEnv(3);
const d = (n: number): ConnId => ConnId(`d${n}`);
const peersFrame = (from = bob, entries: ReadonlyArray<{ address: Address; id: string }>) =>
  frameFrom(from.config.id, 2, peersPayload(entries as never), T0);
const dials = (fx: ReadonlyArray<Effect>): Address[] => only(fx, 'Dial').map((e) => e.address);

/** Steps `inputs` in order, returning every effect. */
const run = (env = me, st: NodeState, inputs: ReadonlyArray<Input>): Effect[] => inputs.flatMap((i) => [...step(env, st, i)[1]]);

/** The node dials bob (d1) and bob handshakes, so bob's address is learnt. */
const reachBob = (env: typeof me, st: NodeState): void => {
  run(env, st, [
    { _tag: 'Connect', at: T0, cmd: 1, address: bob.config.outAddr },
    { _tag: 'DialSucceeded', at: T0, conn: d(1) },
    { _tag: 'BytesReceived', at: T0, conn: d(1), bytes: handshakeFrom(bob) },
  ]);
};

/** Bob is reached (`reachBob`) and then drops: one failure on the book's entry for bob. Returns the time of the drop. */
const reachedThenDropped = (env: typeof me, st: NodeState): number => {
  reachBob(env, st);
  go(env, st, { _tag: 'ConnectionClosed', at: T0, conn: d(1), reason: { _tag: 'PeerClosed' } });
  return T0;
};

describe('redial back-off', () => {
  it('redials a failed address after a delay that doubles, jittered within ±50 %, capped at redialMaxMs', () => {
    const st = initNode(me, T0);
    let at = reachedThenDropped(me, st);
    let conn = 1;
    const delays: number[] = [];
    for (let k = 1; k <= 10; k++) {
      if (k > 1) go(me, st, { _tag: 'DialFailed', at, conn: d(conn), error: { _tag: 'ConnectionRefused', detail: 'x' } });
      const due = nextWakeup(st);
      expect(due).toBeDefined();
      const delay = due! - at;
      delays.push(delay);
      const nominal = Math.min(me.config.redialMaxMs, me.config.redialBaseMs * 2 ** (k - 1));
      expect(delay).toBeGreaterThanOrEqual(nominal / 2);
      expect(delay).toBeLessThan((nominal * 3) / 2);
      // Nothing is dialled before the back-off is over.
      expect(dials(go(me, st, { _tag: 'Tick', at: due! - 1 }))).toEqual([]);
      at = due!;
      expect(go(me, st, { _tag: 'Tick', at })).toEqual([{ _tag: 'Dial', conn: d(++conn), address: bob.config.outAddr }]);
    }
    // The jitter comes from the node's seeded PRNG: not every delay sits at its nominal value.
    expect(new Set(delays.map((x, i) => x / Math.min(me.config.redialMaxMs, me.config.redialBaseMs * 2 ** i))).size).toBeGreaterThan(1);
  });

  it('gives the same schedule for the same seed and a different one for another', () => {
    const schedule = (seed: number): number[] => {
      const env = mkEnv(1, { seed });
      const st = initNode(env, T0);
      reachedThenDropped(env, st);
      const out: number[] = [];
      for (let k = 1; k <= 5; k++) {
        if (k > 1) go(env, st, { _tag: 'DialFailed', at: T0, conn: d(k), error: { _tag: 'ConnectionRefused', detail: 'x' } });
        out.push(nextWakeup(st)!);
        go(env, st, { _tag: 'Tick', at: nextWakeup(st)! });
      }
      return out;
    };
    expect(schedule(5)).toEqual(schedule(5));
    expect(schedule(5)).not.toEqual(schedule(6));
  });
});

describe('a user connect that never reaches a node', () => {
  it('leaves nothing behind: the address is not remembered and never redialled', () => {
    const st = initNode(me, T0);
    const fx = run(me, st, [
      { _tag: 'Connect', at: T0, cmd: 1, address: bob.config.outAddr },
      { _tag: 'DialFailed', at: T0, conn: d(1), error: { _tag: 'ConnectionRefused', detail: 'x' } },
      ...Array.from({ length: 30 }, (_, i): Input => ({ _tag: 'Tick', at: T0 + (i + 1) * 60_000 })),
    ]);
    expect(only(fx, 'Emit').map((e) => e.event._tag)).toContain('ConnectFailed');
    expect(dials(fx)).toEqual([bob.config.outAddr]);
    expect(nodeStatus(st).known).toBe(0);
  });
});

describe('what is never dialled', () => {
  it('bans an address that answered with another subnet, even when a peers list names it again', () => {
    const [st] = withPeers(me, [bob]);
    const other = mkEnv(4, { protocol: { subnet: 'other', encryption: 'Plaintext', id: 'zzz' } });
    const listed = [{ address: other.config.outAddr, id: other.config.id }];
    expect(dials(go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: peersFrame(bob, listed) }))).toEqual([other.config.outAddr]);
    go(me, st, { _tag: 'DialSucceeded', at: T0, conn: d(1) });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: d(1), bytes: handshakeFrom(other) });
    expect(only(fx, 'Close').map((c) => c.reason._tag)).toEqual(['WrongSubnet']);
    const later = run(me, st, [
      { _tag: 'BytesReceived', at: T0 + 10, conn: ConnId('a1'), bytes: peersFrame(bob, listed) },
      ...Array.from({ length: 20 }, (_, i): Input => ({ _tag: 'Tick', at: T0 + (i + 1) * 60_000 })),
    ]);
    expect(dials(later)).toEqual([]);
  });

  it('never dials its own address or its own id from a peers list', () => {
    const [st] = withPeers(me, [bob]);
    const listed = [
      { address: me.config.outAddr, id: carol.config.id },
      { address: addr(9), id: me.config.id },
    ];
    const fx = run(me, st, [
      { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: peersFrame(bob, listed) },
      ...Array.from({ length: 10 }, (_, i): Input => ({ _tag: 'Tick', at: T0 + (i + 1) * 30_000 })),
    ]);
    expect(dials(fx)).toEqual([]);
    expect(nodeStatus(st).known).toBe(1);
  });

  it('forgets the address of a peer the user disconnected', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'Connect', at: T0, cmd: 1, address: bob.config.outAddr });
    go(me, st, { _tag: 'DialSucceeded', at: T0, conn: d(1) });
    go(me, st, { _tag: 'BytesReceived', at: T0, conn: d(1), bytes: handshakeFrom(bob) });
    go(me, st, { _tag: 'Disconnect', at: T0 + 1, peer: bob.config.id });
    const fx = run(me, st, Array.from({ length: 10 }, (_, i): Input => ({ _tag: 'Tick', at: T0 + (i + 1) * 30_000 })));
    expect(dials(fx)).toEqual([]);
    expect(nodeStatus(st).known).toBe(0);
  });

  it('keeps at most knownAddressesMax addresses from a huge peers list, and dials at most outgoingMax', () => {
    const [st] = withPeers(me, [bob]);
    const listed = Array.from({ length: 1000 }, (_, i) => ({ address: { host: `10.1.${i >> 8}.${i & 255}`, port: 4444 }, id: `id${i}` }));
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: peersFrame(bob, listed) });
    expect(dials(fx)).toHaveLength(me.config.outgoingMax);
    expect(nodeStatus(st).known).toBe(me.config.knownAddressesMax);
  });
});

describe('a full address book', () => {
  const small = mkEnv(1, { knownAddressesMax: 3, outgoingMax: 1 });
  const listed = (from: number, n: number): Array<{ address: Address; id: string }> =>
    Array.from({ length: n }, (_, i) => ({ address: { host: `10.2.0.${from + i}`, port: 4444 }, id: `id${from + i}` }));

  it('keeps the address it is dialling and the ones backing off, so a failure is never forgotten and redialled at once', () => {
    const [st] = withPeers(small, [bob]);
    const first = listed(1, 1);
    const key = (a: Address): string => `${a.port}@${a.host}`;
    // The first address listed is dialled; then newcomers fill the book, and more arrive.
    expect(dials(go(small, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: peersFrame(bob, first) }))).toEqual([first[0]!.address]);
    const dialling = [...st.conns.values()].find((c) => c.phase === 'dialing')!;
    go(small, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: peersFrame(bob, listed(2, 6)) });
    expect(st.known.has(key(first[0]!.address))).toBe(true);
    // The dial fails, and the address is listed again at once: it waits out its back-off.
    go(small, st, { _tag: 'DialFailed', at: T0, conn: dialling.conn, error: { _tag: 'ConnectionRefused', detail: 'x' } });
    const again = go(small, st, { _tag: 'BytesReceived', at: T0 + 1, conn: ConnId('a1'), bytes: peersFrame(bob, first) });
    expect(dials(again)).not.toContainEqual(first[0]!.address);
    // Newcomers replace only what is idle and due: the entry backing off and the one dialled stay.
    const redialled = [...st.conns.values()].find((c) => c.phase === 'dialing')!;
    go(small, st, { _tag: 'BytesReceived', at: T0 + 2, conn: ConnId('a1'), bytes: peersFrame(bob, listed(20, 3)) });
    expect(st.known.has(key(first[0]!.address))).toBe(true);
    expect(st.known.has(key(redialled.remote!))).toBe(true);
    expect(st.known.size).toBe(small.config.knownAddressesMax);
  });
});

describe('a refused join', () => {
  it('dials the peers a refusing node named once the refused connection has closed (outgoingMax 1)', () => {
    const env = mkEnv(1, { outgoingMax: 1 });
    const st = initNode(env, T0);
    reachBob(env, st);
    const listed = [{ address: carol.config.outAddr, id: carol.config.id }];
    // While the refused connection is open it is the one outgoing connection allowed.
    expect(dials(go(env, st, { _tag: 'BytesReceived', at: T0, conn: d(1), bytes: peersFrame(bob, listed) }))).toEqual([]);
    const fx = go(env, st, { _tag: 'ConnectionClosed', at: T0 + 5, conn: d(1), reason: { _tag: 'PeerClosed' } });
    expect(only(fx, 'Dial')).toEqual([{ _tag: 'Dial', conn: d(2), address: carol.config.outAddr }]);
  });
});

describe('peers requests', () => {
  const isStar = (p: ReadonlyArray<unknown>): boolean => p[0] === 8 && p[1] instanceof Uint8Array && new TextDecoder().decode(p[1]) === '*';

  it("asks its peers for theirs ('*' as bin) while under target, at doubling intervals, and stops at target", () => {
    const [st] = withPeers(me, [bob]);
    const times: number[] = [];
    for (let k = 0; k < 9; k++) {
      const due = nextWakeup(st)!;
      expect(due).toBeDefined();
      const sent = writes(go(me, st, { _tag: 'Tick', at: due })).filter((w) => isStar(w.payload));
      expect(sent.map((w) => w.conn)).toEqual(['a1']);
      times.push(due);
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    gaps.forEach((g, i) => {
      const nominal = Math.min(me.config.peersRequestMaxMs, me.config.peersRequestBaseMs * 2 ** (i + 1));
      expect(g).toBeGreaterThanOrEqual(nominal / 2);
      expect(g).toBeLessThan((nominal * 3) / 2);
    });
    // The user connects outgoingMax peers: at target, the request timer is off and no tick asks again.
    let at = times[times.length - 1]!;
    const reached: string[] = [];
    for (let i = 0; i < me.config.outgoingMax; i++) {
      const peer = mkEnv(10 + i);
      const conn = d(i + 1);
      at += 1;
      const fx = run(me, st, [
        { _tag: 'Connect', at, cmd: i + 1, address: peer.config.outAddr },
        { _tag: 'DialSucceeded', at, conn },
        { _tag: 'BytesReceived', at, conn, bytes: handshakeFrom(peer) },
      ]);
      reached.push(...events(fx).flatMap((e) => (e._tag === 'ConnectSucceeded' ? [e.peer] : [])));
    }
    expect(reached).toHaveLength(me.config.outgoingMax);
    expect(nodeStatus(st).outgoing).toBe(me.config.outgoingMax);
    expect(nextWakeup(st)).toBeUndefined();
    const later = run(me, st, Array.from({ length: 10 }, (_, i): Input => ({ _tag: 'Tick', at: at + (i + 1) * me.config.peersRequestMaxMs })));
    expect(writes(later).filter((w) => isStar(w.payload))).toEqual([]);
  });

  it('asks at most peersRequestFanout peers per request, picked at random', () => {
    const peers = [2, 3, 4, 5, 6, 7, 8, 9].map((i) => mkEnv(i));
    const [st] = withPeers(me, peers);
    const asked = new Set<string>();
    for (let k = 0; k < 4; k++) {
      const sent = writes(go(me, st, { _tag: 'Tick', at: nextWakeup(st)! })).filter((w) => isStar(w.payload));
      expect(new Set(sent.map((w) => w.conn)).size).toBe(me.config.peersRequestFanout);
      for (const w of sent) asked.add(w.conn);
    }
    expect(asked.size).toBeGreaterThan(me.config.peersRequestFanout);
  });

  it('wakes for nothing once it holds outgoingMax outgoing connections', () => {
    const env = mkEnv(1, { outgoingMax: 1 });
    const st = initNode(env, T0);
    reachBob(env, st);
    expect(nextWakeup(st)).toBeUndefined();
  });
});

describe('a slot kept for lost peers', () => {
  const dave = mkEnv(4);
  const eve = mkEnv(5);
  const frank = mkEnv(6);
  const listed = [dave, eve, frank].map((e) => ({ address: e.config.outAddr, id: e.config.id }));

  /** outgoingMax 2; carol joined inbound; bob dialled and reached at T0, dropped at T0 + 70 s. */
  const lostBob = (): [ReturnType<typeof mkEnv>, NodeState] => {
    const env = mkEnv(1, { outgoingMax: 2 });
    const st = initNode(env, T0);
    go(env, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a1'), remote: carol.config.outAddr });
    go(env, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a1'), bytes: handshakeFrom(carol) });
    reachBob(env, st);
    go(env, st, { _tag: 'ConnectionClosed', at: T0 + 70_000, conn: d(1), reason: { _tag: 'PeerClosed', detail: 'reset' } });
    return [env, st];
  };

  it('fills at most outgoingMax - 1 slots from elsewhere while a lasting peer it lost is unreached, and redials that peer in the last', () => {
    const [env, st] = lostBob();
    const isBob = (a: Address | undefined): boolean => a?.host === bob.config.outAddr.host;
    const elsewhere = (): number => [...st.conns.values()].filter((c) => c.outgoing && !isBob(c.remote)).length;
    expect(dials(go(env, st, { _tag: 'BytesReceived', at: T0 + 70_001, conn: ConnId('a1'), bytes: peersFrame(carol, listed) }))).toHaveLength(1);
    expect(elsewhere()).toBe(1);
    // Every dial fails; through the back-offs the others never hold more than one slot.
    let at = T0 + 70_001;
    let bobDials = 0;
    for (let k = 0; k < 40; k++) {
      const pending = [...st.conns.values()].find((c) => c.outgoing && c.phase === 'dialing');
      const input: Input = pending === undefined ? { _tag: 'Tick', at: (at = Math.max(at, nextWakeup(st)!)) } : { _tag: 'DialFailed', at, conn: pending.conn, error: { _tag: 'Timeout', afterMs: 1 } };
      bobDials += dials(go(env, st, input)).filter(isBob).length;
      expect(elsewhere()).toBeLessThanOrEqual(1);
      expect(nodeStatus(st).outgoing).toBeLessThanOrEqual(2);
    }
    expect(bobDials).toBeGreaterThan(2);
  });

  it('gives the slot back lostPeerRetryMs after the loss', () => {
    const [env, st] = lostBob();
    const at = T0 + 70_000 + env.config.lostPeerRetryMs;
    // Bob is tried (and fails) just before, so he is not due when the list comes.
    expect(only(go(env, st, { _tag: 'Tick', at: at - 500 }), 'Dial')).toEqual([{ _tag: 'Dial', conn: d(2), address: bob.config.outAddr }]);
    go(env, st, { _tag: 'DialFailed', at: at - 500, conn: d(2), error: { _tag: 'Timeout', afterMs: 1 } });
    const fx = go(env, st, { _tag: 'BytesReceived', at, conn: ConnId('a1'), bytes: peersFrame(carol, listed) });
    expect(dials(fx)).toHaveLength(2);
    expect(dials(fx).some((a) => a.host === bob.config.outAddr.host)).toBe(false);
  });
});

