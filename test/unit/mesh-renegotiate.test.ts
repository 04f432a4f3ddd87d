// Renegotiate (§4.8) within bounds: compression lists kept per connection, and the resend record.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RESEND_BYTES_MAX } from '../../src/core/mesh/send.js';
import { ConnId } from '../../src/core/types.js';
import { COMPRESSION_LIST_MAX } from '../../src/core/wire/codecs.js';
import { concatBytes, countingCaps, frameFrom, go, gzip, mkEnv, only, snappy, T0, withPeers, zlib } from './mesh-env.js';

const me = mkEnv(1, { compression: [zlib] });
const bob = mkEnv(2);
const carol = mkEnv(3);
const [a1, a2] = ['a1', 'a2'].map(ConnId) as [ConnId, ConnId];

/** Bob's renegotiate-compression frame offering `methods`. */
const renegotiate = (methods: ReadonlyArray<number>, at = T0): Uint8Array => frameFrom(bob.config.id, 1, [1, [...methods]], at);

/** Bob's renegotiate-resend frame. */
const resend = (at = T0): Uint8Array => frameFrom(bob.config.id, 1, [9], at);


/** A list of COMPRESSION_LIST_MAX entries: `methods` first, then flags this node does not have. */
const padded = (methods: ReadonlyArray<number>, filler: number): number[] => [
  ...methods,
  ...new Array<number>(COMPRESSION_LIST_MAX - methods.length).fill(filler),
];

describe('renegotiate compression within bounds', () => {
  it('closes a list longer than COMPRESSION_LIST_MAX BadMessage', () => {
    const [st] = withPeers(me, [bob], [zlib]);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: renegotiate(new Array<number>(COMPRESSION_LIST_MAX + 1).fill(zlib)) });
    expect(only(fx, 'Close').map((c) => c.reason._tag)).toEqual(['BadMessage']);
  });

  it('keeps the distinct methods we support however many renegotiates come, newest list first', () => {
    const counted = countingCaps();
    const env = { ...me, caps: counted.caps };
    const [st] = withPeers(env, [bob], [zlib]);
    const c = st.conns.get(a1)!;
    go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: renegotiate(padded([gzip], zlib)) });
    expect(c.recvCompression).toEqual([gzip, zlib]);
    expect(c.sendMethod).toBe(zlib);
    go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: renegotiate(padded([snappy], snappy)) });
    expect(c.recvCompression).toEqual([snappy, gzip, zlib]);
    // We stop compressing: the peer no longer offers our zlib.
    expect(c.sendMethod).toBe(undefined);
    for (let i = 0; i < 6; i++) go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: renegotiate(padded([zlib, gzip], 0x40 + i)) });
    expect(c.recvCompression).toEqual([zlib, gzip, snappy]);
    expect(c.sendList).toEqual([zlib, gzip]);
    expect(c.sendMethod).toBe(zlib);
    // A zlib body that never verifies is inflated once, and the reason names zlib once.
    const body = deflateSync(new Uint8Array(1 << 20));
    const bomb = concatBytes([new Uint8Array([0, 0, 0, 0]), body]);
    new DataView(bomb.buffer).setUint32(0, body.length);
    const fx = go(env, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: bomb });
    expect(counted.calls.get(zlib)).toBe(1);
    const reason = only(fx, 'Close')[0]!.reason;
    expect(reason._tag === 'BadFrame' && reason.detail.match(/0x13/g)).toHaveLength(1);
  });
});

describe('renegotiate resend within bounds', () => {
  const send = (st: Parameters<typeof go>[1], text: string) =>
    only(go(me, st, { _tag: 'Send', at: T0, packets: [text], flag: 2, type: 2 }), 'Write');

  it('a message above RESEND_BYTES_MAX is not kept: a resend after it sends nothing, not an older one', () => {
    const [st] = withPeers(me, [bob]);
    send(st, 'small');
    send(st, 'x'.repeat(RESEND_BYTES_MAX));
    expect(st.conns.get(a1)!.lastSent).toBe(undefined);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: resend() })).toEqual([]);
    // The bound counts the uncompressed body (checksum and msgpack): one at it is kept and resent
    // byte for byte, one a byte above it is not.
    const probe = 'p'.repeat(RESEND_BYTES_MAX - 1000);
    const overhead = send(st, probe)[0]!.bytes.length - 4 - probe.length;
    const [atBound] = send(st, 'y'.repeat(RESEND_BYTES_MAX - overhead));
    expect(atBound!.bytes.length).toBe(4 + RESEND_BYTES_MAX);
    expect(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: resend() })).toEqual([{ _tag: 'Write', conn: a1, bytes: atBound!.bytes }]);
    send(st, 'y'.repeat(RESEND_BYTES_MAX - overhead + 1));
    expect(go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: resend() })).toEqual([]);
  });

  it('a broadcast above the bound is kept on no connection', () => {
    const [st] = withPeers(me, [bob, carol]);
    expect(only(go(me, st, { _tag: 'Send', at: T0, packets: ['z'.repeat(RESEND_BYTES_MAX)], flag: 0, type: 0 }), 'Write')).toHaveLength(2);
    expect([st.conns.get(a1)!.lastSent, st.conns.get(a2)!.lastSent]).toEqual([undefined, undefined]);
  });

  it('any number of resend frames in one read write the last message once', () => {
    const [st] = withPeers(me, [bob]);
    const [sent] = send(st, 'r'.repeat(RESEND_BYTES_MAX - 1000));
    const many = concatBytes(Array.from({ length: 200 }, (_, i) => resend(T0 + i * 1000)));
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 1, conn: a1, bytes: many })).toEqual([{ _tag: 'Write', conn: a1, bytes: sent!.bytes }]);
    // Nothing more until something else is written.
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 2, conn: a1, bytes: resend(T0 + 500_000) })).toEqual([]);
    const [next] = send(st, 'next');
    expect(go(me, st, { _tag: 'BytesReceived', at: T0 + 3, conn: a1, bytes: resend(T0 + 600_000) })).toEqual([{ _tag: 'Write', conn: a1, bytes: next!.bytes }]);
  });

  it('a relayed message that arrived inside a larger read keeps a copy of its own bytes, not the read', () => {
    const [st] = withPeers(me, [bob, carol]);
    const big = frameFrom(bob.config.id, 0, [0, 'b'.repeat(2 * RESEND_BYTES_MAX)]);
    const small = frameFrom(bob.config.id, 0, [0, 'small']);
    const fx = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: concatBytes([big, small]) });
    const relayed = only(fx, 'Write').filter((w) => w.conn === a2);
    expect(relayed).toHaveLength(2);
    const kept = st.conns.get(a2)!.lastSent!;
    expect(kept.msg.plain.buffer.byteLength).toBeLessThan(1024);
    const again = go(me, st, { _tag: 'BytesReceived', at: T0, conn: a2, bytes: frameFrom(carol.config.id, 1, [9]) });
    expect(again).toEqual([{ _tag: 'Write', conn: a2, bytes: relayed[1]!.bytes }]);
  });
});
