// Connection lifecycle and user commands: Connect, Disconnect, closes, dial failures, Send, and
// the duplicate left open at the end that did not initiate both.
import { describe, expect, it } from 'vitest';
import { initNode, isQueuedForUser, nodeStatus, routingTable } from '../../src/core/node.js';
import { ConnId } from '../../src/core/types.js';
import { addr, events, frameFrom, go, handshakeFrom, mkEnv, only, T0, withPeers, writes } from './mesh-env.js';

const me = mkEnv(1);
const bob = mkEnv(2);
const carol = mkEnv(3);
const [a1, a2, d1] = ['a1', 'a2', 'd1'].map(ConnId) as [ConnId, ConnId, ConnId];

describe('connections', () => {
  it('Connect dials with the next d-id; a failed dial fails the Connect', () => {
    const st = initNode(me, T0);
    expect(go(me, st, { _tag: 'Connect', at: T0, cmd: 1, address: bob.config.outAddr })).toEqual([{ _tag: 'Dial', conn: d1, address: bob.config.outAddr }]);
    const error = { _tag: 'ConnectionRefused', detail: 'ECONNREFUSED' } as const;
    expect(go(me, st, { _tag: 'DialFailed', at: T0, conn: d1, error })).toEqual([{ _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd: 1, error } }]);
    expect(only(go(me, st, { _tag: 'Connect', at: T0, cmd: 2, address: bob.config.outAddr }), 'Dial')[0]!.conn).toBe('d2');
    expect(nodeStatus(st)).toMatchObject({ connections: 1, dialing: 1, closedByReason: { DialFailed: 1 } });
  });

  it('never mints a dial id a host already gave an inbound connection', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: d1, remote: addr(7) });
    expect(only(go(me, st, { _tag: 'Connect', at: T0, cmd: 1, address: bob.config.outAddr }), 'Dial')[0]!.conn).toBe('d2');
    expect(nodeStatus(st)).toMatchObject({ connections: 2, dialing: 1 });
  });

  it('Connect to a peer already routed fails with AlreadyConnected, by id or by address', () => {
    const [st] = withPeers(me, [bob]);
    const already = { _tag: 'Emit', event: { _tag: 'ConnectFailed', cmd: 3, error: { _tag: 'AlreadyConnected', peer: bob.config.id } } };
    expect(go(me, st, { _tag: 'Connect', at: T0, cmd: 3, address: addr(8), expectedId: bob.config.id })).toEqual([already]);
    expect(go(me, st, { _tag: 'Connect', at: T0, cmd: 3, address: bob.config.outAddr })).toEqual([already]);
  });

  it('Disconnect closes the peer with UserDisconnect; a peer closing is PeerLeft', () => {
    const [st] = withPeers(me, [bob, carol]);
    expect(go(me, st, { _tag: 'Disconnect', at: T0, peer: bob.config.id })).toEqual([
      { _tag: 'Close', conn: a1, reason: { _tag: 'UserDisconnect' } },
      { _tag: 'Emit', event: { _tag: 'PeerLeft', peer: bob.config.id, conn: a1, reason: { _tag: 'UserDisconnect' } } },
    ]);
    expect(go(me, st, { _tag: 'ConnectionClosed', at: T0, conn: a2, reason: { _tag: 'PeerClosed' } })).toEqual([
      { _tag: 'Emit', event: { _tag: 'PeerLeft', peer: carol.config.id, conn: a2, reason: { _tag: 'PeerClosed' } } },
    ]);
    expect(routingTable(st)).toEqual([]);
    // Late news about a connection already gone changes nothing.
    expect(go(me, st, { _tag: 'ConnectionClosed', at: T0, conn: a2, reason: { _tag: 'PeerClosed' } })).toEqual([]);
  });

  it('keeps both of two connections the peer initiated, routing through the first until it closes one', () => {
    const st = initNode(me, T0);
    for (const conn of [a1, a2]) {
      go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn, remote: bob.config.outAddr });
      go(me, st, { _tag: 'BytesReceived', at: T0, conn, bytes: handshakeFrom(bob) });
    }
    expect(routingTable(st).map((r) => r.conn)).toEqual([a1]);
    expect(nodeStatus(st).connections).toBe(2);
    // Bob closes the first: the peer stays, now through the second, and no PeerLeft.
    expect(go(me, st, { _tag: 'ConnectionClosed', at: T0, conn: a1, reason: { _tag: 'PeerClosed' } })).toEqual([]);
    expect(routingTable(st).map((r) => r.conn)).toEqual([a2]);
  });

  it('closes the newer of two connections we initiated to one peer', () => {
    const st = initNode(me, T0);
    go(me, st, { _tag: 'Connect', at: T0, cmd: 1, address: bob.config.outAddr });
    go(me, st, { _tag: 'Connect', at: T0, cmd: 2, address: bob.config.outAddr });
    for (const conn of ['d1', 'd2'].map(ConnId)) go(me, st, { _tag: 'DialSucceeded', at: T0, conn });
    go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('d1'), bytes: handshakeFrom(bob) });
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: ConnId('d2'), bytes: handshakeFrom(bob) });
    expect(only(fx, 'Close')).toEqual([{ _tag: 'Close', conn: 'd2', reason: { _tag: 'DuplicateConnection', peer: bob.config.id } }]);
    expect(events(fx).filter((e) => e._tag === 'ConnectSucceeded')).toEqual([{ _tag: 'ConnectSucceeded', cmd: 2, peer: bob.config.id }]);
  });
});

describe('send', () => {
  it('a whisper Send goes to every peer and is not remembered as seen', () => {
    const [st] = withPeers(me, [bob, carol]);
    const fx = go(me, st, { _tag: 'Send', at: T0, packets: ['w'], flag: 2, type: 2 });
    expect(writes(fx)).toEqual([
      { conn: a1, msgType: 2, sender: me.config.id, payload: [2, 'w'] },
      { conn: a2, msgType: 2, sender: me.config.id, payload: [2, 'w'] },
    ]);
    expect(nodeStatus(st).seen).toBe(0);
  });

  it('packets msgpack cannot carry are refused without throwing', () => {
    const [st] = withPeers(me, [bob]);
    const huge = 2n ** 80n;
    expect(only(go(me, st, { _tag: 'Send', at: T0, packets: [huge], flag: 0, type: 0 }), 'Write')).toEqual([]);
    expect(events(go(me, st, { _tag: 'Reply', at: T0, cmd: 5, to: bob.config.id, packets: [huge] }))).toEqual([
      { _tag: 'ReplyFailed', cmd: 5, to: bob.config.id, reason: 'Unencodable', detail: 'packets[0] is a bigint beyond 64 bits (msgpack integers are int64 or uint64)' },
    ]);
    expect(events(go(me, st, { _tag: 'Reply', at: T0, cmd: 6, to: carol.config.id, packets: [huge] }))).toEqual([
      { _tag: 'ReplyFailed', cmd: 6, to: carol.config.id, reason: 'Unencodable', detail: 'packets[0] is a bigint beyond 64 bits (msgpack integers are int64 or uint64)' },
    ]);
  });

  it('queues for recv only sub-flags 0x00 and 0x02, as the seeds do', () => {
    const [st] = withPeers(me, [bob]);
    const delivered = [[0, 'a'], [2, 'b'], [0x30, 'c']].flatMap((p) =>
      only(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 2, p) }), 'Deliver').map((d) => d.message),
    );
    expect(delivered.map(isQueuedForUser)).toEqual([true, true, false]);
  });
});
