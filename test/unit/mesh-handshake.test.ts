// The handshake, duplicate resolution, bad input and deadlines of the mesh core.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fromBase58, latin1Bytes } from '../../src/core/ids.js';
import { idGreater } from '../../src/core/mesh/handshake.js';
import { awaitingConnections, cloneNode, initNode, nextWakeup, nodeStatus, routingTable, step } from '../../src/core/node.js';
import { ConnId } from '../../src/core/types.js';
import { COMPRESSION_LIST_MAX } from '../../src/core/wire/codecs.js';
import { addr, countingCaps, decodeWrite, events, frameFrom, go, gzip, handshakeFrom, meshProtocol, mkEnv, only, snappy, T0, withPeers, writes, zlib } from './mesh-env.js';

const me = mkEnv(1, { compression: [zlib] });
const bob = mkEnv(2);
const carol = mkEnv(3);
const a1 = ConnId('a1');

describe('handshake', () => {
  it('sends ours on accept, uncompressed, id as str, protocol id as bin, compression as ints', () => {
    const st = initNode(me, T0);
    const fx = go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: bob.config.outAddr });
    expect(fx).toHaveLength(1);
    const [msg] = decodeWrite(only(fx, 'Write')[0]!.bytes);
    expect([msg!.msgType, msg!.sender, msg!.time, msg!.payload]).toEqual([
      2,
      me.config.id,
      T0 / 1000,
      [5, me.config.id, latin1Bytes(meshProtocol.id), ['10.0.0.1', 4444], [zlib]],
    ]);
    expect(awaitingConnections(st)).toEqual([{ conn: a1, remote: bob.config.outAddr, outgoing: false }]);
  });

  it('routes the peer, announces it and sends our peers list without the recipient', () => {
    const [st] = withPeers(me, [carol]);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a2'), remote: bob.config.outAddr });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a2'), bytes: handshakeFrom(bob, [zlib]) });
    expect(events(fx)).toEqual([{ _tag: 'PeerJoined', peer: bob.config.id, conn: 'a2', address: bob.config.outAddr, outgoing: false }]);
    // Bob offered zlib, so our peers list goes to him compressed.
    expect(writes(fx, [zlib])).toEqual([
      { conn: 'a2', msgType: 2, sender: me.config.id, payload: [7, [[['10.0.0.3', 4444], carol.config.id]]] },
    ]);
    expect(routingTable(st)).toEqual([
      { id: carol.config.id, conn: a1, address: carol.config.outAddr, outgoing: false },
      { id: bob.config.id, conn: 'a2', address: bob.config.outAddr, outgoing: false },
    ]);
  });

  it('the first peer also emits Connected', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: bob.config.outAddr });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: handshakeFrom(bob) });
    expect(events(fx)[0]).toEqual({ _tag: 'Connected', peer: bob.config.id });
  });

  it('closes a wrong subnet and tells the user, failing the Connect that made it', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'Connect', at: T0, cmd: 9, address: bob.config.outAddr });
    go(me, st, { _tag: 'DialSucceeded', at: T0, conn: ConnId('d1') });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('d1'), bytes: handshakeFrom(bob, [], 'OTHER') });
    const reason = { _tag: 'WrongSubnet', theirs: 'OTHER', ours: meshProtocol.id } as const;
    expect(fx).toEqual([
      { _tag: 'Close', conn: 'd1', reason },
      { _tag: 'Emit', event: { _tag: 'ConnectionRejected', conn: 'd1', remote: bob.config.outAddr, reason } },
      { _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd: 9, error: { _tag: 'Closed', reason } } },
    ]);
    expect(nodeStatus(st).connections).toBe(0);
  });

  it('refuses a connection to ourselves, and a Connect to our own address or id up front', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: addr(9) });
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: handshakeFrom(me) }), 'Close')).toEqual([
      { _tag: 'Close', conn: a1, reason: { _tag: 'SelfConnection' } },
    ]);
    const self = { _tag: 'ConnectFailed', cmd: 1, error: { _tag: 'Closed', reason: { _tag: 'SelfConnection' } } };
    expect(go(me, st, { _tag: 'Connect', at: T0, cmd: 1, address: me.config.outAddr })).toEqual([{ _tag: 'Emit', event: self }]);
    expect(go(me, st, { _tag: 'Connect', at: T0, cmd: 1, address: addr(7), expectedId: me.config.id })).toEqual([{ _tag: 'Emit', event: self }]);
  });

  it('closes a dial whose handshake names another id than expected', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'Connect', at: T0, cmd: 3, address: bob.config.outAddr, expectedId: carol.config.id });
    go(me, st, { _tag: 'DialSucceeded', at: T0, conn: ConnId('d1') });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('d1'), bytes: handshakeFrom(bob) });
    expect(only(fx, 'Close')).toEqual([
      { _tag: 'Close', conn: 'd1', reason: { _tag: 'UnexpectedPeer', expected: carol.config.id, got: bob.config.id } },
    ]);
    expect(routingTable(st)).toEqual([]);
  });

  it("tolerates js2p's second handshake on an established connection", () => {
    const [st] = withPeers(me, [bob]);
    const before = cloneNode(st);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: handshakeFrom(bob) })).toEqual([]);
    expect(cloneNode(st)).toEqual({ ...before, counters: { ...before.counters, framesReceived: before.counters.framesReceived + 1 } });
  });

  it('ignores a handshake that arrives as a broadcast on an established connection', () => {
    const [st] = withPeers(me, [bob, carol]);
    const flooded = frameFrom(bob.config.id, 0, [5, 'someone', latin1Bytes(meshProtocol.id), ['10.0.0.9', 1], []]);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: flooded });
    // Relayed like any broadcast, but it closes nothing and changes no route.
    expect(fx.map((e) => e._tag)).toEqual(['Write']);
    expect(routingTable(st).map((r) => r.conn)).toEqual([a1, 'a2']);
  });

  it('closes a connection whose first message is not a handshake', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: bob.config.outAddr });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 0, [0, 'hi']) });
    expect(only(fx, 'Close')).toEqual([{ _tag: 'Close', conn: a1, reason: { _tag: 'IllegalMessage', detail: 'User before the handshake' } }]);
    expect(only(fx, 'Deliver')).toEqual([]);
  });

  it('closes only the connection that sent a bad frame', () => {
    const [st] = withPeers(me, [bob, carol]);
    const bad = new Uint8Array([0, 0, 0, 33, ...new Array<number>(33).fill(7)]);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: bad });
    expect(fx).toEqual([
      { _tag: 'Close', conn: a1, reason: { _tag: 'BadFrame', detail: 'checksum mismatch (tried: raw)' } },
      { _tag: 'Emit', event: { _tag: 'PeerLeft', peer: bob.config.id, conn: a1, reason: { _tag: 'BadFrame', detail: 'checksum mismatch (tried: raw)' } } },
    ]);
    expect(routingTable(st).map((r) => r.id)).toEqual([carol.config.id]);
    const oversize = go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('a2'), bytes: new Uint8Array([0xff, 0xff, 0xff, 0xff]) });
    expect(only(oversize, 'Close')[0]!.reason._tag).toBe('BadFrame');
  });

  it('closes a message of the wrong shape for its sub-flag', () => {
    const [st] = withPeers(me, [bob]);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 2, [7, 'not a list']) });
    expect(only(fx, 'Close').map((c) => c.reason._tag)).toEqual(['BadMessage']);
  });
});

describe('duplicate connections', () => {
  it('compares ids as base58-decoded integers, not as text', () => {
    // '2' is 1 and '1z' is 57: text order says '2' > '1z', the integers say otherwise.
    expect(idGreater('1z' as never, '2' as never)).toBe(true);
    expect(fromBase58('1z')).toEqual({ _tag: 'Right', right: 57n });
  });

  // Bob and Carol each dial the other and each accepts the other's dial: two connections.
  const [big, small] = idGreater(bob.config.id, carol.config.id) ? [bob, carol] : [carol, bob];
  const crossed = (self: typeof bob, other: typeof bob, outgoingFirst: boolean) => {
    const st = initNode(self, T0);
    go(self, st, { _tag: 'Connect', at: T0, cmd: 1, address: other.config.outAddr });
    go(self, st, { _tag: 'DialSucceeded', at: T0, conn: ConnId('d1') });
    go(self, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: other.config.outAddr });
    const order = outgoingFirst ? ['d1', 'a1'] : ['a1', 'd1'];
    const fx = order.flatMap((c) => go(self, st, { _tag: 'BytesReceived', at: T0, conn: ConnId(c), bytes: handshakeFrom(other) }));
    return { st, fx };
  };

  it.each([true, false])('both ends keep the connection the larger id initiated (outgoing first: %s)', (outgoingFirst) => {
    const atBig = crossed(big, small, outgoingFirst);
    const atSmall = crossed(small, big, outgoingFirst);
    // The larger id's dial is d1 at the larger end and a1 at the smaller end.
    expect(routingTable(atBig.st).map((r) => r.conn)).toEqual(['d1']);
    expect(routingTable(atSmall.st).map((r) => r.conn)).toEqual(['a1']);
    expect(only(atBig.fx, 'Close')).toEqual([{ _tag: 'Close', conn: 'a1', reason: { _tag: 'DuplicateConnection', peer: small.config.id } }]);
    expect(only(atSmall.fx, 'Close')).toEqual([{ _tag: 'Close', conn: 'd1', reason: { _tag: 'DuplicateConnection', peer: big.config.id } }]);
    // The Connect succeeds at both ends, whichever connection carried it.
    expect(events(atBig.fx).filter((e) => e._tag === 'ConnectSucceeded')).toEqual([{ _tag: 'ConnectSucceeded', cmd: 1, peer: small.config.id }]);
    expect(events(atSmall.fx).filter((e) => e._tag === 'ConnectSucceeded')).toEqual([{ _tag: 'ConnectSucceeded', cmd: 1, peer: big.config.id }]);
  });
});

describe('deadlines and bounds', () => {
  it('closes a connection that never handshakes, and a dial that never connects', () => {
    // Self-healing timers (mesh/heal.ts) off: this test reads the deadline wake-ups alone.
    const me = mkEnv(1, { compression: [zlib], outgoingMax: 0 });
    const st = initNode(me, T0);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: bob.config.outAddr });
    go(me, st, { _tag: 'Connect', at: T0 + 1, cmd: 5, address: carol.config.outAddr });
    expect(nextWakeup(st)).toBe(T0 + 1 + me.config.dialTimeoutMs);
    expect(go(me, st, { _tag: 'Tick', at: T0 + 1 + me.config.dialTimeoutMs })).toEqual([
      { _tag: 'Close', conn: 'd1', reason: { _tag: 'HandshakeTimeout', afterMs: me.config.dialTimeoutMs } },
      { _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd: 5, error: { _tag: 'Timeout', afterMs: me.config.dialTimeoutMs } } },
    ]);
    expect(nextWakeup(st)).toBe(T0 + me.config.handshakeTimeoutMs);
    const reason = { _tag: 'HandshakeTimeout', afterMs: me.config.handshakeTimeoutMs } as const;
    expect(go(me, st, { _tag: 'Tick', at: T0 + me.config.handshakeTimeoutMs })).toEqual([
      { _tag: 'Close', conn: a1, reason },
      { _tag: 'Emit', event: { _tag: 'ConnectionRejected', conn: a1, remote: bob.config.outAddr, reason } },
    ]);
    expect(nextWakeup(st)).toBe(undefined);
  });

  it('closes a connection stalled in the middle of a frame', () => {
    // Self-healing timers (mesh/heal.ts) off: this test reads the deadline wake-ups alone.
    const me = mkEnv(1, { compression: [zlib], outgoingMax: 0 });
    const [st] = withPeers(me, [bob]);
    const frame = frameFrom(bob.config.id, 0, [0, 'x']);
    go(me, st, { _tag: 'BytesReceived', at: T0 + 10, conn: a1, bytes: frame.subarray(0, 6) });
    const due = T0 + 10 + me.config.frameStallTimeoutMs;
    expect(nextWakeup(st)).toBe(due);
    expect(go(me, st, { _tag: 'Tick', at: due - 1 })).toEqual([]);
    expect(only(go(me, st, { _tag: 'Tick', at: due }), 'Close')).toEqual([
      { _tag: 'Close', conn: a1, reason: { _tag: 'StalledFrame', afterMs: me.config.frameStallTimeoutMs } },
    ]);
  });

  it('refuses connections beyond awaitingMax and connectionsMax, after telling them our peers', () => {
    const env = mkEnv(1, { awaitingMax: 1, connectionsMax: 2 });
    const st = initNode(env, T0);
    go(env, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: addr(5) });
    const fx = go(env, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a2'), remote: addr(6) });
    // Our handshake and an (empty) peers list, then the close: nothing is kept of a2.
    expect(writes(fx)).toEqual([
      { conn: 'a2', msgType: 2, sender: env.config.id, payload: [5, env.config.id, expect.any(Uint8Array), [env.config.outAddr.host, env.config.outAddr.port], env.config.compression] },
      { conn: 'a2', msgType: 2, sender: env.config.id, payload: [7, []] },
    ]);
    expect(fx.filter((e) => e._tag !== 'Write')).toEqual([
      { _tag: 'Close', conn: 'a2', reason: { _tag: 'TooManyConnections', limit: 1 } },
      { _tag: 'Emit', event: { _tag: 'ConnectionRejected', conn: 'a2', remote: addr(6), reason: { _tag: 'TooManyConnections', limit: 1 } } },
    ]);
    expect(nodeStatus(st)).toMatchObject({ connections: 1, awaiting: 1 });
    go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: handshakeFrom(bob) });
    go(env, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a3'), remote: addr(7) });
    const full = go(env, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a4'), remote: addr(8) });
    expect(only(full, 'Close')[0]!.reason).toEqual({ _tag: 'TooManyConnections', limit: 2 });
    // The newcomer learns of Bob, so it can join the network through him.
    expect(writes(full)[1]!.payload).toEqual([7, [[[bob.config.outAddr.host, bob.config.outAddr.port], bob.config.id]]]);
    expect(nodeStatus(st).connections).toBe(2);
    expect(go(env, st, { _tag: 'Connect', at: T0, cmd: 4, address: addr(9) })).toEqual([
      { _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd: 4, error: { _tag: 'Closed', reason: { _tag: 'TooManyConnections', limit: 2 } } } },
    ]);
  });

  it('ignores everything after Shutdown, which closes every connection', () => {
    const [st] = withPeers(me, [bob]);
    expect(step(me, st, { _tag: 'Shutdown', at: T0 })[1]).toEqual([
      { _tag: 'Close', conn: a1, reason: { _tag: 'Shutdown' } },
      { _tag: 'Emit', event: { _tag: 'PeerLeft', peer: bob.config.id, conn: a1, reason: { _tag: 'Shutdown' } } },
    ]);
    expect(go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: ConnId('a9'), remote: addr(4) })).toEqual([]);
    expect(nextWakeup(st)).toBe(undefined);
  });
});

describe('compression lists in handshakes', () => {
  // A zlib body whose output never verifies: each attempt inflates 1 MiB and fails the checksum.
  const bomb = (): Uint8Array => {
    const body = deflateSync(new Uint8Array(1 << 20));
    const f = new Uint8Array(4 + body.length);
    new DataView(f.buffer).setUint32(0, body.length);
    f.set(body, 4);
    return f;
  };

  it('closes a handshake whose list is longer than COMPRESSION_LIST_MAX, first or repeated', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a1, remote: bob.config.outAddr });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: handshakeFrom(bob, new Array<number>(65_500).fill(zlib)) });
    expect(only(fx, 'Close').map((c) => c.reason._tag)).toEqual(['BadMessage']);
    expect(routingTable(st)).toEqual([]);
    const [ready] = withPeers(me, [bob], [zlib]);
    const again = go(me, ready, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: handshakeFrom(bob, new Array<number>(COMPRESSION_LIST_MAX + 1).fill(zlib)) });
    expect(only(again, 'Close').map((c) => c.reason._tag)).toEqual(['BadMessage']);
  });

  it('keeps the distinct methods we support, in the peer order; the seeds\' lists as they come', () => {
    const list = [0x77, gzip, ...new Array<number>(10).fill(zlib), gzip, 0x10, snappy, zlib];
    expect(list.length).toBeLessThanOrEqual(COMPRESSION_LIST_MAX);
    const [st] = withPeers(me, [bob], list);
    expect(st.conns.get(a1)!.recvCompression).toEqual([gzip, zlib, snappy]);
    // We send with our first method the peer offers.
    expect(st.conns.get(a1)!.sendMethod).toBe(zlib);
    const [js] = withPeers(me, [bob], [zlib, gzip]);
    expect(js.conns.get(a1)!.recvCompression).toEqual([zlib, gzip]);
    // py2p also offers bz2 and lzma, which this node cannot decompress.
    const [py] = withPeers(me, [bob], [snappy, zlib, gzip, 0x10, 0x12]);
    expect(py.conns.get(a1)!.recvCompression).toEqual([snappy, zlib, gzip]);
  });

  it('a bomb costs one inflate per method however often the list names it, and the reason stays short', () => {
    const counted = countingCaps();
    const env = { ...me, caps: counted.caps };
    const [st] = withPeers(env, [bob], new Array<number>(COMPRESSION_LIST_MAX).fill(zlib));
    const fx = go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: bomb() });
    expect(counted.calls.get(zlib)).toBe(1);
    const reason = only(fx, 'Close')[0]!.reason;
    expect(reason._tag).toBe('BadFrame');
    const detail = reason._tag === 'BadFrame' ? reason.detail : '';
    expect(detail.match(/0x13/g)).toHaveLength(1);
    expect(detail.length).toBeLessThan(300);
  });
});
