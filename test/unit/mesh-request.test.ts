// Replies, route requests and responses, peers lists and renegotiate.
import { describe, expect, it } from 'vitest';
import { latin1Bytes, requestId } from '../../src/core/ids.js';
import { initNode, nextWakeup, nodeStatus, routingTable } from '../../src/core/node.js';
import { ConnId, NodeId } from '../../src/core/types.js';
import { NODE_ID_CHARS_MAX } from '../../src/core/wire/codecs.js';
import { caps, decodeWrite, events, frameFrom, go, handshakeFrom, mkEnv, only, T0, withPeers, writes, zlib } from './mesh-env.js';

const me = mkEnv(1, { compression: [zlib] });
const [bob, carol, dave, erin, fred, gina] = [2, 3, 4, 5, 6, 7].map((i) => mkEnv(i)) as [ReturnType<typeof mkEnv>, ...ReturnType<typeof mkEnv>[]];
const [a1, a2] = ['a1', 'a2'].map(ConnId) as [ConnId, ConnId];

describe('reply', () => {
  it('whispers directly to a connected sender', () => {
    const [st] = withPeers(me, [bob]);
    const fx = go(me, st, { _tag: 'Reply', at: T0, cmd: 1, to: bob.config.id, packets: ['pong'] });
    expect(writes(fx)).toEqual([{ conn: a1, msgType: 2, sender: me.config.id, payload: [2, 'pong'] }]);
    expect(events(fx)).toEqual([{ _tag: 'ReplySent', cmd: 1, to: bob.config.id, routed: false }]);
  });

  it('finds a route: request broadcast, response, dial with the expected id, then the deferred reply', () => {
    const [st] = withPeers(me, [bob]);
    const target = carol!.config.id;
    const rid = requestId(caps, target, T0 / 1000);
    let fx = go(me, st, { _tag: 'Reply', at: T0, cmd: 1, to: target, packets: ['late'] });
    expect(writes(fx)).toEqual([{ conn: a1, msgType: 0, sender: me.config.id, payload: [8, rid, target] }]);
    expect(nodeStatus(st).pendingReplies).toBe(1);
    // A second reply to the same target in the same second shares the request: no new broadcast.
    expect(go(me, st, { _tag: 'Reply', at: T0 + 500, cmd: 2, to: target, packets: ['later'] })).toEqual([]);
    fx = go(me, st, { _tag: 'BytesReceived', at: T0 + 10, conn: a1, bytes: frameFrom(bob.config.id, 0, [10, rid, [['10.0.0.3', 4444], target]]) });
    expect(only(fx, 'Dial')).toEqual([{ _tag: 'Dial', conn: 'd1', address: carol!.config.outAddr }]);
    go(me, st, { _tag: 'DialSucceeded', at: T0 + 20, conn: ConnId('d1') });
    fx = go(me, st, { _tag: 'BytesReceived', at: T0 + 30, conn: ConnId('d1'), bytes: handshakeFrom(carol!) });
    expect(writes(fx).filter((w) => w.payload[0] === 2)).toEqual([
      { conn: 'd1', msgType: 2, sender: me.config.id, payload: [2, 'late'] },
      { conn: 'd1', msgType: 2, sender: me.config.id, payload: [2, 'later'] },
    ]);
    expect(events(fx).filter((e) => e._tag === 'ReplySent')).toEqual([
      { _tag: 'ReplySent', cmd: 1, to: target, routed: true },
      { _tag: 'ReplySent', cmd: 2, to: target, routed: true },
    ]);
    expect(nodeStatus(st).pendingReplies).toBe(0);
  });

  it('times out with a typed reason, and the wake-up says when', () => {
    // Self-healing timers (mesh/heal.ts) off: this test reads the deadline wake-ups alone.
    const me = mkEnv(1, { compression: [zlib], outgoingMax: 0 });
    const [st] = withPeers(me, [bob]);
    go(me, st, { _tag: 'Reply', at: T0, cmd: 7, to: carol!.config.id, packets: [] });
    expect(nextWakeup(st)).toBe(T0 + me.config.requestTimeoutMs);
    expect(go(me, st, { _tag: 'Tick', at: T0 + me.config.requestTimeoutMs })).toEqual([
      { _tag: 'Emit', event: { _tag: 'ReplyFailed', cmd: 7, to: carol!.config.id, reason: 'Timeout' } },
    ]);
    expect(nodeStatus(st).pendingReplies).toBe(0);
  });

  it('bounds the pending replies, and fails at once with no peer at all', () => {
    const env = mkEnv(1, { pendingRequestsMax: 1 });
    const [st] = withPeers(env, [bob]);
    go(env, st, { _tag: 'Reply', at: T0, cmd: 1, to: carol!.config.id, packets: [] });
    expect(events(go(env, st, { _tag: 'Reply', at: T0, cmd: 2, to: dave!.config.id, packets: [] }))).toEqual([
      { _tag: 'ReplyFailed', cmd: 2, to: dave!.config.id, reason: 'TooManyPending' },
    ]);
    const lonely = initNode(env, T0);
    expect(events(go(env, lonely, { _tag: 'Reply', at: T0, cmd: 3, to: dave!.config.id, packets: [] }))).toEqual([
      { _tag: 'ReplyFailed', cmd: 3, to: dave!.config.id, reason: 'Unreachable' },
    ]);
  });

  it('fails Unreachable, sending nothing, for an id longer than any node id (peers refuse a route request naming one)', () => {
    const [st] = withPeers(me, [bob]);
    const to = NodeId('S'.repeat(NODE_ID_CHARS_MAX + 1));
    const fx = go(me, st, { _tag: 'Reply', at: T0, cmd: 4, to, packets: ['pong'] });
    expect(writes(fx)).toEqual([]);
    expect(events(fx)).toEqual([{ _tag: 'ReplyFailed', cmd: 4, to, reason: 'Unreachable' }]);
    expect(nodeStatus(st).pendingReplies).toBe(0);
  });
});

describe('route requests', () => {
  it('answers for a peer we hold, on the connection the request came on, echoing the ids as they came', () => {
    const [st] = withPeers(me, [bob, carol!]);
    const rid = latin1Bytes('RID');
    const target = latin1Bytes(carol!.config.id); // bin, py2p style
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(erin!.config.id, 0, [8, rid, target]) });
    // Relayed to Carol first (waterfall), then our response to Bob only.
    expect(writes(fx, [])).toEqual([
      { conn: a2, msgType: 0, sender: erin!.config.id, payload: [8, rid, target] },
      { conn: a1, msgType: 0, sender: me.config.id, payload: [10, rid, [['10.0.0.3', 4444], target]] },
    ]);
  });

  it("answers '*' (str or bin) with our peers", () => {
    const [st] = withPeers(me, [bob, carol!]);
    ['*', latin1Bytes('*')].forEach((star, i) => {
      const fx = go(me, st, { _tag: 'BytesReceived', at: T0 + i, conn: a1, bytes: frameFrom(bob.config.id, 2, [8, star]) });
      expect(writes(fx)).toEqual([{ conn: a1, msgType: 2, sender: me.config.id, payload: [7, [[['10.0.0.3', 4444], carol!.config.id]]] }]);
    });
  });

  it('answers a read of many peers requests with one list, and asks in a later millisecond anew', () => {
    // A list can be tens of kB: hundreds of requests in one read must not make hundreds of them.
    const [st] = withPeers(me, [bob, carol!]);
    const request = frameFrom(bob.config.id, 2, [8, '*']);
    const read = new Uint8Array(Buffer.concat(Array.from({ length: 300 }, () => request)));
    expect(writes(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: read }))).toHaveLength(1);
    expect(writes(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: request }))).toHaveLength(0);
    expect(writes(go(me, st, { _tag: 'BytesReceived', at: T0 + 1, conn: a1, bytes: request }))).toHaveLength(1);
    // Another connection is answered on its own.
    expect(writes(go(me, st, { _tag: 'BytesReceived', at: T0 + 1, conn: a2, bytes: frameFrom(carol!.config.id, 2, [8, '*']) }))).toHaveLength(1);
  });

  it('RequestPeers whispers bin "*" to every peer', () => {
    const [st] = withPeers(me, [bob, carol!]);
    expect(writes(go(me, st, { _tag: 'RequestPeers', at: T0 }))).toEqual([
      { conn: a1, msgType: 2, sender: me.config.id, payload: [8, latin1Bytes('*')] },
      { conn: a2, msgType: 2, sender: me.config.id, payload: [8, latin1Bytes('*')] },
    ]);
  });
});

describe('peers lists', () => {
  it('dials listed peers we lack, never ourselves or known ones, up to outgoingMax', () => {
    const [st] = withPeers(me, [bob]);
    const entry = (e: typeof bob) => [[e.config.outAddr.host, e.config.outAddr.port], e.config.id];
    const list = [entry(me), entry(bob), entry(carol!), entry(dave!), entry(erin!), entry(fred!), entry(gina!)];
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 2, [7, list]) });
    const dials = only(fx, 'Dial');
    expect(dials.map((d) => d.conn)).toEqual(['d1', 'd2', 'd3', 'd4']);
    const wanted = [carol!, dave!, erin!, fred!, gina!].map((e) => e.config.outAddr.host);
    for (const d of dials) expect(wanted).toContain(d.address.host);
    // A second copy of the list dials nothing more: the bound is reached and the rest are known.
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 2, [7, list], T0 + 1000) }), 'Dial')).toEqual([]);
  });
});

describe('renegotiate', () => {
  it('compression: sends uncompressed after an empty list, never answers, still decodes the old method', () => {
    const [st] = withPeers(me, [bob], [zlib]);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 1, [1, []], T0, zlib) })).toEqual([]);
    const fx = go(me, st, { _tag: 'Send', at: T0, packets: ['p'], flag: 0, type: 0 });
    expect(writes(fx, [])).toEqual([{ conn: a1, msgType: 0, sender: me.config.id, payload: [0, 'p'] }]);
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 2, [2, 'z'], T0, zlib) }), 'Deliver')).toHaveLength(1);
  });

  it('resend: the last frame again, same msgpack, no sub-flag promotion', () => {
    const [st] = withPeers(me, [bob]);
    const sent = only(go(me, st, { _tag: 'Send', at: T0, packets: ['again'], flag: 2, type: 2 }), 'Write')[0]!;
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0 + 5000, conn: a1, bytes: frameFrom(bob.config.id, 1, [9]) });
    expect(fx).toEqual([{ _tag: 'Write', conn: a1, bytes: sent.bytes }]);
    expect(decodeWrite(sent.bytes)[0]!.payload).toEqual([2, 'again']);
  });

  it('leaves routing untouched', () => {
    const [st] = withPeers(me, [bob]);
    go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 1, [1, [zlib]]) });
    expect(routingTable(st).map((r) => r.id)).toEqual([bob.config.id]);
  });
});
