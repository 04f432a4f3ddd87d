// The waterfall: relay original bytes, de-duplicate, expire, bound the seen-set, stamp once.
import { describe, expect, it } from 'vitest';
import { nodeStatus, step } from '../../src/core/node.js';
import { ConnId } from '../../src/core/types.js';
import { SEEN_REBASE_AT } from '../../src/core/mesh/waterfall.js';
import { NODE_ID_CHARS_MAX } from '../../src/core/wire/codecs.js';
import { encodeFrame, makeMessage, messageId } from '../../src/core/wire/packets.js';
import { caps, decodeWrite, frameFrom, go, gzip, mkEnv, msgOf, only, T0, withPeers, writes, zlib } from './mesh-env.js';

const me = mkEnv(1, { compression: [zlib, gzip], compressMinBytes: 0 });
const [bob, carol, dave, erin] = [2, 3, 4, 5].map((i) => mkEnv(i));
const [a1, a2, a3, a4] = ['a1', 'a2', 'a3', 'a4'].map(ConnId);

describe('waterfall', () => {
  it('relays the original bytes to every peer but the originator and the sender link, then delivers', () => {
    const [st] = withPeers(me, [bob!, carol!, dave!]);
    // Erin originated it; Bob relays it to us.
    const frame = frameFrom(erin!.config.id, 0, [0, 'news']);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frame });
    expect(fx.map((e) => e._tag)).toEqual(['Write', 'Write', 'Deliver']);
    // Uncompressed links: the relayed frame is byte-identical to the one received.
    expect(only(fx, 'Write')).toEqual([
      { _tag: 'Write', conn: a2, bytes: frame },
      { _tag: 'Write', conn: a3, bytes: frame },
    ]);
    const msg = msgOf(erin!.config.id, 0, [0, 'news']);
    const delivered = only(fx, 'Deliver').map((d) => ({ ...d.message, id: Buffer.from(d.message.id).toString('hex') }));
    expect(delivered).toEqual([
      { conn: a1, msgType: 0, sender: erin!.config.id, time: T0 / 1000, packets: [0, 'news'], id: Buffer.from(messageId(msg)).toString('hex'), msgpackBytes: frame.length - 36 },
    ]);
  });

  it('delivers values that share no memory with the relayed bytes, however large the message', () => {
    // A handler may change what it is given; the frame being relayed (its bytes may still wait in
    // a socket's queue) must not change with it. 8 KiB: beyond the decoder's small-message path.
    const me2 = mkEnv(1);
    const [st] = withPeers(me2, [bob!, carol!]);
    const frame = frameFrom(erin!.config.id, 0, [0, new Uint8Array(8192).fill(7)]);
    const before = frame.slice();
    const fx = go(me2, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frame });
    const [relayed] = only(fx, 'Write');
    const [delivered] = only(fx, 'Deliver');
    (delivered!.message.packets[1] as Uint8Array).fill(9);
    expect(Buffer.from(relayed!.bytes).equals(Buffer.from(before))).toBe(true);
  });

  it('never relays back to the originator', () => {
    const [st] = withPeers(me, [bob!, carol!]);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a2!, bytes: frameFrom(bob!.config.id, 0, [0, 'x']) });
    // Bob wrote it and Carol relayed it: nobody is left to relay to.
    expect(only(fx, 'Write')).toEqual([]);
    expect(only(fx, 'Deliver')).toHaveLength(1);
  });

  it('drops a duplicate, whichever link it comes on', () => {
    const [st] = withPeers(me, [bob!, carol!, dave!]);
    const frame = frameFrom(erin!.config.id, 0, [0, 'once']);
    go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frame });
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 5, conn: a2!, bytes: frame })).toEqual([]);
    expect(nodeStatus(st).duplicatesDropped).toBe(1);
  });

  it('drops broadcasts older than the expiry, unrelayed', () => {
    const [st] = withPeers(me, [bob!, carol!], [], T0 + 61_000);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 61_000, conn: a1!, bytes: frameFrom(erin!.config.id, 0, [0, 'old']) })).toEqual([]);
    expect(nodeStatus(st).staleDropped).toBe(1);
    // Exactly 60 s old is still accepted, as in the seeds (time < now - 60 is stale); on a node
    // of its own, for staleness goes by the latest clock reading, and this one has read 61 s.
    const [edge] = withPeers(me, [bob!, carol!], [], T0 + 60_999);
    expect(only(go(me, edge, { _tag: 'BytesReceived', at: T0 + 60_999, conn: a1!, bytes: frameFrom(erin!.config.id, 0, [0, 'edge']) }), 'Deliver')).toHaveLength(1);
  });

  it('bounds the seen-set by capacity, and forgets an id once its stamp is stale', () => {
    const env = mkEnv(1, { seenMax: 3, seenTtlMs: 1000 });
    const [st] = withPeers(env, [bob!]);
    const ahead = T0 + 240_000; // a sender four minutes ahead: within the tolerance
    for (let i = 0; i < 5; i++) go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frameFrom(erin!.config.id, 0, [0, i], ahead) });
    // The bound forgot the two oldest while their time ran: counted, for they could come back as new.
    expect(nodeStatus(st)).toMatchObject({ seen: 3, seenForgottenEarly: 2 });
    const again = go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frameFrom(erin!.config.id, 0, [0, 0], ahead) });
    expect(only(again, 'Deliver')).toHaveLength(1);
    expect(nodeStatus(st)).toMatchObject({ seen: 3, seenForgottenEarly: 3 });
    // Past the arrival TTL but not past the stamp's expiry: still remembered.
    go(env, st, { _tag: 'Tick', at: T0 + 1000 });
    expect(nodeStatus(st).seen).toBe(3);
    // Once the stamp is stale (stamp + 1 s + 60 s), the ids go, in their time: not counted.
    go(env, st, { _tag: 'Tick', at: ahead + 61_000 });
    expect(nodeStatus(st)).toMatchObject({ seen: 0, seenForgottenEarly: 3 });
  });

  it.each([
    ['', 0],
    [', and positions are counted from 0 again', SEEN_REBASE_AT - 100],
  ])('forgets an id remembered twice only at its later entry, also after the queue is compacted%s', (_, base) => {
    const env = mkEnv(1, { seenTtlMs: 120_000 });
    const [st] = withPeers(env, [bob!]);
    st.seen.base = base;
    const send = (at: number): void => void go(env, st, { _tag: 'Send', at, flag: 0, type: 0, packets: ['twice'] });
    send(T0); // ours, remembered until T0 + 120 s
    for (let i = 0; i < 1100; i++) go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frameFrom(erin!.config.id, 0, [0, i]) });
    send(T0 + 900); // the same bytes in the same wire second: the same id, remembered again until T0 + 120.9 s
    expect(nodeStatus(st).seen).toBe(1101);
    // The first 1,101 entries go and the queue is compacted; the id's later entry keeps it.
    go(env, st, { _tag: 'Tick', at: T0 + 120_500 });
    expect(nodeStatus(st).seen).toBe(1);
    expect(st.seen.base).toBe(base === 0 ? 1101 : 0);
    expect(Math.max(...st.seen.latest.values())).toBeLessThan(SEEN_REBASE_AT);
    go(env, st, { _tag: 'Tick', at: T0 + 121_000 });
    expect(nodeStatus(st).seen).toBe(0);
  });

  it('never delivers a broadcast twice when its clock is set back after forgetting it', () => {
    const [st] = withPeers(me, [bob!, carol!]);
    const frame = frameFrom(erin!.config.id, 0, [0, 'once']);
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frame }), 'Deliver')).toHaveLength(1);
    // The clock jumps 62 s ahead: the id is forgotten, its stamp stale by that reading.
    go(me, st, { _tag: 'Tick', at: T0 + 92_000 });
    expect(nodeStatus(st).seen).toBe(0);
    // Set back by 62 s, the stamp is 30 s old by the clock now: stale by the latest reading all the same.
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 30_000, conn: a2!, bytes: frame })).toEqual([]);
    expect(nodeStatus(st)).toMatchObject({ delivered: 1, staleDropped: 1 });
  });

  it('drops a copy that arrives after the arrival TTL while its stamp is still fresh', () => {
    const env = mkEnv(1, { seenTtlMs: 1000 });
    const [st] = withPeers(env, [bob!, carol!]);
    const frame = frameFrom(erin!.config.id, 0, [0, 'late'], T0 + 10_000); // sender 10 s ahead
    expect(only(go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frame }), 'Deliver')).toHaveLength(1);
    // 65 s later the stamp is 55 s old by our clock: not stale, so it must still count as seen.
    expect(go(env, st, { _tag: 'BytesReceived', at: T0 + 65_000, conn: a2!, bytes: frame })).toEqual([]);
    expect(nodeStatus(st).duplicatesDropped).toBe(1);
  });

  it('counts a remembered copy by its stamp: stale once the stamp is, a duplicate before', () => {
    // Held in flight: it arrives 50 s after its stamp and is remembered for the 60 s TTL beyond that.
    const [st] = withPeers(me, [bob!, carol!, dave!], [], T0 + 50_000);
    const frame = frameFrom(erin!.config.id, 0, [0, 'held']);
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0 + 50_000, conn: a1!, bytes: frame }), 'Deliver')).toHaveLength(1);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 55_000, conn: a2!, bytes: frame })).toEqual([]);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 70_000, conn: a3!, bytes: frame })).toEqual([]);
    expect(nodeStatus(st)).toMatchObject({ duplicatesDropped: 1, staleDropped: 1 });
  });

  it('drops a duplicate whose time is a float, as one with an integer time', () => {
    const [st] = withPeers(me, [bob!, carol!]);
    const frame = encodeFrame(caps, makeMessage(caps, 0, erin!.config.id, [0, 'float'], T0 / 1000 + 0.5), undefined);
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0 + 1000, conn: a1!, bytes: frame }), 'Deliver')).toHaveLength(1);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 1000, conn: a2!, bytes: frame })).toEqual([]);
    expect(nodeStatus(st).duplicatesDropped).toBe(1);
  });

  it('drops broadcasts stamped beyond the future tolerance, unrelayed and unremembered', () => {
    const [st] = withPeers(me, [bob!, carol!]);
    const far = frameFrom(erin!.config.id, 0, [0, 'far'], T0 + me.config.futureToleranceMs + 1000);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: far })).toEqual([]);
    expect(nodeStatus(st)).toMatchObject({ futureDropped: 1, seen: 0 });
    const near = frameFrom(erin!.config.id, 0, [0, 'near'], T0 + me.config.futureToleranceMs);
    expect(only(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: near }), 'Deliver')).toHaveLength(1);
  });

  it('sends messages under compressMinBytes uncompressed on a compressed link, larger ones compressed', () => {
    const env = mkEnv(1, { compression: [zlib], compressMinBytes: 512 });
    const [st] = withPeers(env, [bob!], [zlib]);
    const small = only(go(env, st, { _tag: 'Send', at: T0, packets: ['x'.repeat(100)], flag: 0, type: 0 }), 'Write')[0]!;
    const large = only(go(env, st, { _tag: 'Send', at: T0, packets: ['x'.repeat(2000)], flag: 0, type: 0 }), 'Write')[0]!;
    // The small frame is the plain msgpack (decodes with no method); the large one is zlib (0x78 header).
    expect(writes([small])).toEqual([{ conn: a1, msgType: 0, sender: env.config.id, payload: [0, 'x'.repeat(100)] }]);
    expect(large.bytes[4]).toBe(0x78);
    expect(large.bytes.length).toBeLessThan(2000);
    expect(writes([large], [zlib])).toEqual([{ conn: a1, msgType: 0, sender: env.config.id, payload: [0, 'x'.repeat(2000)] }]);
  });

  it('stamps a broadcast of ours once: one frame for every peer on a method, remembered as seen', () => {
    const [st] = withPeers(me, [bob!, carol!, dave!], [zlib]);
    go(me, st, { _tag: 'ConnectionAccepted', at: T0, conn: a4!, remote: erin!.config.outAddr });
    go(me, st, { _tag: 'BytesReceived', at: T0, conn: a4!, bytes: frameFrom(erin!.config.id, 2, [5, erin!.config.id, new TextEncoder().encode(me.config.protocol.id), ['10.0.0.5', 4444], []]) });
    const fx = go(me, st, { _tag: 'Send', at: T0 + 999, packets: ['hi'], flag: 0, type: 0 });
    const ws = only(fx, 'Write');
    expect(ws.map((w) => w.conn)).toEqual([a1, a2, a3, a4]);
    // The three zlib links share one compressed frame; Erin (no compression) gets the plain one.
    expect(ws[1]!.bytes).toBe(ws[0]!.bytes);
    expect(ws[2]!.bytes).toBe(ws[0]!.bytes);
    expect(ws[3]!.bytes).not.toBe(ws[0]!.bytes);
    const [z] = decodeWrite(ws[0]!.bytes, [zlib]);
    const [plain] = decodeWrite(ws[3]!.bytes);
    expect(Buffer.from(messageId(z!)).toString('hex')).toBe(Buffer.from(messageId(plain!)).toString('hex'));
    expect(writes([ws[3]!])).toEqual([{ conn: a4, msgType: 0, sender: me.config.id, payload: [0, 'hi'] }]);
    // Our own broadcast echoed back is dropped.
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 999, conn: a1!, bytes: ws[3]!.bytes })).toEqual([]);
  });

  it('never relays a whisper', () => {
    const [st] = withPeers(me, [bob!, carol!]);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frameFrom(bob!.config.id, 2, [2, 'secret']) });
    expect(fx.map((e) => e._tag)).toEqual(['Deliver']);
  });

  it('drops a malformed broadcast relayed by a neighbour that did not write it, and closes its author', () => {
    const [st] = withPeers(me, [bob!, carol!]);
    const bad = frameFrom(erin!.config.id, 0, [10, 'req-id', 'not an address pair']);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: bad });
    expect(fx.map((e) => e._tag)).toEqual(['Emit']);
    expect(nodeStatus(st).connections).toBe(2);
    const own = frameFrom(bob!.config.id, 0, [10, 'req-id', 'not an address pair']);
    expect(only(step(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: own })[1], 'Close').map((c) => c.reason._tag)).toEqual(['BadMessage']);
  });

  it('drops, unrelayed and undelivered, a broadcast whose sender id is longer than any node id', () => {
    // A reply to it would name that id in a route request, which every ts2p peer refuses.
    const [st] = withPeers(me, [bob!, carol!]);
    const long = 'S'.repeat(NODE_ID_CHARS_MAX + 1);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frameFrom(long, 0, [0, 'hi']) });
    expect(fx.map((e) => e._tag)).toEqual(['Emit']);
    expect(nodeStatus(st).badBroadcastsDropped).toBe(1);
    expect(nodeStatus(st).connections).toBe(2);
    // At the bound it is an ordinary broadcast.
    const fine = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1!, bytes: frameFrom('S'.repeat(NODE_ID_CHARS_MAX), 0, [0, 'hi']) });
    expect(fine.map((e) => e._tag)).toEqual(['Write', 'Deliver']);
  });
});
