/**
 * Hostile input for the fuzz suites: valid frames of every message type, and arbitraries that
 * mutate them (bit flips, truncation, extension, length-header edits, re-checksummed wrong
 * shapes, huge and deep values, compression bombs) or replace them with random bytes.
 *
 * For chord, `chordFrame` sends well-formed chord messages whose contents are hostile: unknown
 * tables, malformed or aliased key58s, huge and odd values, deltas that grow a stored map,
 * answers nobody asked for, flipping metas, odd notifies and peers lists.
 *
 * Frames are built at the moment they are fed (`Build`), so their stamps sit near the receiving
 * node's clock and reach the handlers instead of being dropped as stale.
 */
import fc from 'fast-check';
import type { Env } from '../../src/core/node.js';
import { BASE58_ALPHABET, latin1Bytes } from '../../src/core/ids.js';
import { key58Of, keyPositions58, TABLES } from '../../src/core/chord/ring.js';
import type { NodeId } from '../../src/core/types.js';
import { compressionFlags, subFlags } from '../../src/core/flags.js';
import type { Capabilities } from '../../src/core/caps.js';
import {
  chordDeltaPayload,
  chordMetaPayload,
  chordNotifyPayload,
  chordRetrievePayload,
  chordRetrievedPayload,
  chordStorePayload,
  peersPayload,
  peersRequestPayload,
  renegotiateCompressionPayload,
  renegotiateResendPayload,
  routeRequestPayload,
  routeResponsePayload,
} from '../../src/core/wire/messages.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import { encodeFrame, makeMessage } from '../../src/core/wire/packets.js';
import type { IdValue } from '../../src/core/wire/messages.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { caps, concatBytes, mkEnv } from '../unit/mesh-env.js';

/** A frame made at feed time `at` (ms). */
export type Build = (at: number) => Uint8Array;

/** How many inputs a fuzz run feeds: `TS2P_FUZZ_RUNS`, else the quick default. */
export const fuzzRuns = (quick: number): number => {
  const n = Number(process.env.TS2P_FUZZ_RUNS ?? '');
  return Number.isInteger(n) && n > 0 ? n : quick;
};

/** The attacker and the honest peers of the core suite (test node numbers 2…5). */
export const attacker: Env = mkEnv(2);
export const honest: ReadonlyArray<Env> = [mkEnv(3), mkEnv(4)];
const known = [attacker, ...honest, mkEnv(5)].map((e) => e.config.id);

const ALL_COMPRESSION = [compressionFlags.zlib, compressionFlags.gzip, compressionFlags.snappy];

/** A small wire value of any type, ids included. */
export const wireValue: fc.Arbitrary<WireValue> = fc.letrec<{ v: WireValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 12 }),
    fc.constantFrom<WireValue>(...known, latin1Bytes(known[0]!), '*', latin1Bytes('*'), ['10.0.0.3', 4444], ['x', -1], [], 'A'.repeat(200)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }).map((kv) => new Map(kv) as WireValue),
  ),
})).v;

const addr = (i: number): [string, number] => [`10.0.0.${i}`, 4444];

/** `[msgType, payload]` of a valid message of every type the mesh and chord speak. */
export const validMessages = (from: Env): ReadonlyArray<readonly [number, ReadonlyArray<WireValue>]> => [
  [0x00, [0x00, 'hello', 1, new Uint8Array([1, 2])]],
  [0x02, [0x02, 'psst']],
  [0x02, [0x05, from.config.id, latin1Bytes(from.config.protocol.id), addr(2), [...ALL_COMPRESSION]]],
  [0x02, peersPayload([{ address: { host: '10.0.0.5', port: 4444 }, id: known[3]! }])],
  [0x02, peersRequestPayload()],
  [0x00, routeRequestPayload('RID', known[1]!)],
  [0x00, routeResponsePayload('RID', { host: '10.0.0.3', port: 4444 }, known[1]!)],
  [0x01, renegotiateCompressionPayload([compressionFlags.zlib])],
  [0x01, renegotiateResendPayload()],
  [0x02, chordMetaPayload(false)],
  [0x00, chordNotifyPayload(new Uint8Array([1]), false)],
  [0x02, chordStorePayload('sha1', 'key', 'v')],
  [0x02, chordRetrievePayload('sha1', 'key')],
  [0x02, chordRetrievedPayload('sha1', 'key', 'v')],
  [0x02, chordDeltaPayload('sha1', 'key', new Map<WireValue, WireValue>([['a', 1]]))],
  [0x03, [0x00]],
  [0x04, [0x00]],
];

const compressionChoice = fc.constantFrom<number | undefined>(undefined, ...ALL_COMPRESSION);

/** Valid frames of every message type, plainly or compressed, from `from`. */
export const validFrame = (from: Env): fc.Arbitrary<Build> =>
  fc.tuple(fc.constantFrom(...validMessages(from)), compressionChoice, fc.integer({ min: -30, max: 30 })).map(
    ([[type, payload], z, dt]): Build => (at) => encodeFrame(caps, makeMessage(caps, type, from.config.id, payload, Math.floor(at / 1000) + dt), z),
  );

/** Valid msgpack with a valid checksum, but of the wrong shape for its sub-flag or fields. */
export const wrongShape = (from: Env): fc.Arbitrary<Build> =>
  fc.oneof(
    // A valid message with one packet replaced by a value of any type.
    fc.tuple(fc.constantFrom(...validMessages(from)), fc.nat(), wireValue).map(([[type, payload], i, v]): Build => (at) => {
      const p = [...payload];
      p[i % p.length] = v;
      return encodeFrame(caps, makeMessage(caps, type, from.config.id, p, Math.floor(at / 1000)), undefined);
    }),
    // Any sub-flag with any packets; sender and time of the wrong type or length.
    fc.tuple(fc.nat({ max: 0x30 }), fc.nat({ max: 5 }), fc.array(wireValue, { maxLength: 5 }), wireValue, fc.boolean()).map(
      ([sub, type, rest, odd, badTime]): Build => (at) => {
        const sender = (typeof odd === 'string' || odd instanceof Uint8Array) && !badTime ? odd : from.config.id;
        const time = badTime ? odd : Math.floor(at / 1000);
        return rawFrame([type, sender, time, sub, ...rest]);
      },
    ),
    // Not a packet list at all.
    wireValue.map((v): Build => () => rawFrame(v)),
  );

/** A frame around msgpack bytes of any value (msgType etc. unchecked), checksummed. */
export const rawFrame = (value: WireValue): Uint8Array => checksummed(packValue(value));

/** A body of msgpack bytes with a correct checksum and header. */
export const checksummed = (msgpack: Uint8Array): Uint8Array => {
  const digest = caps.sha256(msgpack);
  const out = new Uint8Array(4 + 32 + msgpack.length);
  new DataView(out.buffer).setUint32(0, 32 + msgpack.length);
  out.set(digest, 4);
  out.set(msgpack, 36);
  return out;
};

/** Huge arrays and strings, deep nesting, and a compression bomb (inflates past `frameMax`). */
export const monsters = (from: Env, frameMax: number): fc.Arbitrary<Build> =>
  fc.oneof(
    fc.nat({ max: 3 }).map((k): Build => (at) => memo(`${from.config.id}/${frameMax}/${k}/${Math.floor(at / 1000)}`, () => monster(from, frameMax, k, at))),
    fc.nat({ max: 3 }).map((k): Build => () => memo(`bomb/${frameMax}/${k}`, () => bombFrame(frameMax, k))),
  );

// Monsters are costly to build (hashing and compressing megabytes), so each is built once.
const built = new Map<string, Uint8Array>();
const memo = (key: string, make: () => Uint8Array): Uint8Array => {
  let f = built.get(key);
  if (f === undefined) {
    if (built.size > 256) built.clear();
    f = make();
    built.set(key, f);
  }
  return f;
};

const monster = (from: Env, frameMax: number, k: number, at: number): Uint8Array => {
      const id = from.config.id;
      const t = Math.floor(at / 1000);
      switch (k) {
        case 0:
          return encodeFrame(caps, makeMessage(caps, 0, id, [0, new Array<WireValue>(Math.floor(frameMax / 2)).fill(0)], t), undefined);
        case 1:
          return encodeFrame(caps, makeMessage(caps, 0, id, [0, 'x'.repeat(Math.floor(frameMax / 2))], t), undefined);
        case 2:
          return deepFrame(frameMax);
        default:
          // A bomb: a few KiB that inflate to 16 frame maxima.
          return encodeFrame(caps, makeMessage(caps, 0, id, [0, 'a'.repeat(frameMax * 16)], t), compressionFlags.zlib);
      }
};

/**
 * A frame of nested one-element arrays, checksummed, whose body is `frameMax` bytes long (or
 * holds 100,000 levels, if that is less): far deeper than the decoder's bound, under a length
 * header the receiver accepts, so the nesting itself reaches the decoder and is what gets refused.
 */
export const deepFrame = (frameMax: number): Uint8Array => checksummed(deepArray(Math.min(100_000, frameMax - 32 - 1)));

/** `n` nested one-element arrays (0x91 …) around a nil. */
export const deepArray = (n: number): Uint8Array => {
  const b = new Uint8Array(n + 1).fill(0x91);
  b[n] = 0xc0;
  return b;
};

/** A bomb with no valid checksum at all, in each compression format. */
const bombFrame = (frameMax: number, k: number): Uint8Array => {
  const method = [compressionFlags.zlib, compressionFlags.gzip, compressionFlags.snappy, compressionFlags.zlib][k]!;
  const body = (caps.compressors.get(method)!.compress)(new Uint8Array(frameMax * 8));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
};

/** One mutation of a frame. */
export type Mutation =
  | { readonly _tag: 'Keep' }
  | { readonly _tag: 'Flip'; readonly i: number; readonly bit: number }
  | { readonly _tag: 'Truncate'; readonly i: number }
  | { readonly _tag: 'Extend'; readonly tail: Uint8Array }
  | { readonly _tag: 'Header'; readonly length: number };

/** Mutations, with length headers biased to the edges (0, the max, 4 GiB). */
export const mutation = (frameMax: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.constant<Mutation>({ _tag: 'Keep' }),
    fc.record({ i: fc.nat(), bit: fc.nat({ max: 7 }) }).map((r): Mutation => ({ _tag: 'Flip', ...r })),
    fc.nat().map((i): Mutation => ({ _tag: 'Truncate', i })),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((tail): Mutation => ({ _tag: 'Extend', tail })),
    fc
      .oneof(fc.constantFrom(0, 1, 31, 32, frameMax, frameMax + 1, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff }))
      .map((length): Mutation => ({ _tag: 'Header', length })),
  );

/** Apply a mutation (never in place). */
export const mutate = (f: Uint8Array, m: Mutation): Uint8Array => {
  switch (m._tag) {
    case 'Keep':
      return f;
    case 'Flip': {
      const g = f.slice();
      if (g.length > 0) g[m.i % g.length]! ^= 1 << m.bit;
      return g;
    }
    case 'Truncate':
      return f.subarray(0, f.length === 0 ? 0 : m.i % f.length);
    case 'Extend': {
      const g = new Uint8Array(f.length + m.tail.length);
      g.set(f);
      g.set(m.tail, f.length);
      return g;
    }
    case 'Header': {
      const g = f.slice();
      if (g.length >= 4) new DataView(g.buffer, g.byteOffset).setUint32(0, m.length);
      return g;
    }
  }
};

/** Any hostile frame from `from`: random bytes, valid, wrong-shaped or monstrous, then mutated. */
export const hostileFrame = (from: Env, frameMax: number): fc.Arbitrary<{ build: Build; mutation: Mutation }> =>
  fc.record({
    build: fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 96 }).map((b): Build => () => b), weight: 2 },
      { arbitrary: validFrame(from), weight: 4 },
      { arbitrary: wrongShape(from), weight: 4 },
      { arbitrary: monsters(from, frameMax), weight: 1 },
    ),
    mutation: mutation(frameMax),
  });

/** Capabilities that record every decompression's limit and output size. */
export const watchedCaps = (): { caps: Capabilities; worst: { limit: number; output: number } } => {
  const worst = { limit: 0, output: 0 };
  const compressors = new Map(
    [...caps.compressors].map(([flag, c]) => [
      flag,
      {
        compress: c.compress,
        decompress: (data: Uint8Array, maxBytes: number) => {
          worst.limit = Math.max(worst.limit, maxBytes);
          const out = c.decompress(data, maxBytes);
          worst.output = Math.max(worst.output, out.length);
          return out;
        },
      },
    ]),
  );
  return { caps: { ...caps, compressors }, worst };
};

// ---------------------------------------------------------------------------------------------
// Chord: well-formed messages with hostile contents

/** The names a chord table may travel under: the five as str or bin, and names no node knows. */
export const chordTable: fc.Arbitrary<IdValue> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom<IdValue>(...TABLES) },
  { weight: 6, arbitrary: fc.constantFrom(...TABLES).map((t): IdValue => latin1Bytes(t)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<IdValue>('md5', 'SHA1', 'sha1 ', '', 'sha1\u0000', '*', 'sha', 'x'.repeat(300), new Uint8Array([0xff, 0xfe]), latin1Bytes('sha')),
  },
);

/** Key58 offsets from a ring point: a few fixed ones (so messages meet on one key), or any 64-bit one. */
const offset = fc.oneof(fc.constantFrom(0n, 1n, 2n, 3n), fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }));

/**
 * Key58 text a hostile peer may send: near one of the ring points `near` (on the ring, or aliased
 * above 2^384 onto the same point, or with leading zero digits), anywhere, a key of the user keys
 * `atk-0…7`, as str or bin, or malformed (empty, outside the alphabet, too long, too large).
 */
export const chordKey58 = (near: ReadonlyArray<bigint>): fc.Arbitrary<IdValue> => {
  const onRing = fc.tuple(fc.constantFrom(...near), offset).map(([p, d]) => BigInt.asUintN(384, p + d));
  const text = fc.oneof(
    { weight: 12, arbitrary: onRing.map(key58Of) },
    { weight: 4, arbitrary: fc.tuple(onRing, fc.bigInt({ min: 1n, max: (1n << 128n) - 1n })).map(([p, k]) => key58Of(p + (k << 384n))) },
    { weight: 2, arbitrary: fc.tuple(onRing, fc.integer({ min: 1, max: 30 })).map(([p, n]) => '1'.repeat(n) + key58Of(p)) },
    { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: (1n << 384n) - 1n }).map(key58Of) },
    { weight: 4, arbitrary: fc.tuple(fc.nat({ max: 7 }), fc.constantFrom(...TABLES)).map(([n, t]) => keyPositions58(caps, `atk-${n}`)[t]) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom('', '0', '0OIl', 'z'.repeat(89), 'z'.repeat(88), key58Of(1n << 512n), '1'.repeat(88), ' z', 'z\u0000'),
        fc.string({ maxLength: 12 }),
      ),
    },
  );
  return fc.tuple(text, fc.nat({ max: 3 })).map(([s, bin]): IdValue => (bin === 0 ? latin1Bytes(s) : s));
};

/** Values worth storing badly: any value, nil (a delete), long text up to near the frame maximum, many values, many maps. */
export const chordValue = (frameMax: number): fc.Arbitrary<WireValue> =>
  fc.oneof(
    { weight: 5, arbitrary: wireValue },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom(1000, Math.floor(frameMax / 4), frameMax - 400).map((n) => 'v'.repeat(n)) },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 53, -0, Number.NaN, 2n ** 64n - 1n, -(2n ** 63n), '', new Uint8Array(0), [], new Map()) },
    { weight: 1, arbitrary: fc.nat({ max: 2 }).map((k): WireValue => new Array<WireValue>([100, 4000, 20_000][k]!).fill(k)) },
  );

/**
 * Delta maps: empty, any entries, a str and a bin key of the same text, nested maps, and large
 * maps of fresh keys (`salt` keeps the keys of two deltas apart, so merging them grows the map).
 */
export const chordDelta: fc.Arbitrary<ReadonlyMap<WireValue, WireValue>> = fc.oneof(
  fc.constant(new Map<WireValue, WireValue>()),
  fc.array(fc.tuple(wireValue, wireValue), { maxLength: 6 }).map((kv) => new Map(kv)),
  fc.string({ maxLength: 4 }).map((s) => new Map<WireValue, WireValue>([[s, 1], [latin1Bytes(s), 2]])),
  fc.tuple(wireValue, wireValue).map(([k, v]) => new Map<WireValue, WireValue>([[k, new Map([[k, v]])], [new Map([[k, v]]), k]])),
  fc.tuple(fc.nat({ max: 2 }), fc.nat()).map(([k, salt]) => {
    const n = [200, 1500, 3000][k]!;
    return new Map<WireValue, WireValue>(Array.from({ length: n }, (_, i) => [`${salt}-${i}`, k === 2 ? new Map() : 'x'.repeat(24)]));
  }),
);

/** A node id as a peers list may name it: valid base58 of any length, a known node's, or not base58. */
const listedId: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...BASE58_ALPHABET), minLength: 1, maxLength: 66 }) },
  { weight: 2, arbitrary: fc.constantFrom(...known) },
  { weight: 1, arbitrary: fc.constantFrom('', '0OIl', 'z'.repeat(89), 'x'.repeat(300)) },
);

/** A peers list of up to 12 nodes at odd or plain addresses. */
const peersList = fc
  .array(fc.tuple(listedId, fc.constantFrom('10.0.0.7', '127.0.0.1', '', '::1', 'x'.repeat(64)), fc.constantFrom(0, 1, 4444, 65_535)), { maxLength: 12 })
  .map((rows) => peersPayload(rows.map(([id, host, port]) => ({ address: { host, port }, id: id as NodeId }))));

/**
 * One chord message from `from` with hostile contents, whispered (or, now and then, broadcast as
 * chord messages never are; a notify mostly broadcast), plainly or compressed by a method of
 * `compression` (the link's, so that the message reaches the chord handlers): metas flipping
 * (as str or bin), notifies of odd keys, stores, retrieves, answers nobody asked for, deltas and
 * peers lists. Keys are steered near the ring points `near` (the receiver's, the peers').
 */
export const chordFrame = (from: Env, near: ReadonlyArray<bigint>, frameMax: number, compression: ReadonlyArray<number>): fc.Arbitrary<Build> => {
  const key = chordKey58(near);
  type Sent = readonly [number, ReadonlyArray<WireValue>];
  const one = (a: fc.Arbitrary<Sent>): fc.Arbitrary<ReadonlyArray<Sent>> => a.map((x) => [x]);
  const messages: fc.Arbitrary<ReadonlyArray<Sent>> = fc.oneof(
    {
      weight: 2,
      arbitrary: one(
        fc
          .constantFrom(chordMetaPayload(false), chordMetaPayload(true), [subFlags.handshake, latin1Bytes('0')], [subFlags.handshake, latin1Bytes('1')])
          .map((p): Sent => [2, p]),
      ),
    },
    // Notifies, a few in one read: keys appear (and now and then go) faster than a bound allows.
    {
      weight: 2,
      arbitrary: fc.array(
        fc
          .tuple(fc.oneof(fc.constantFrom<IdValue>('k0', 'k1', latin1Bytes('k0'), ''), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })), fc.nat({ max: 3 }), fc.nat({ max: 3 }))
          .map(([k, del, ty]): Sent => [ty === 0 ? 2 : 0, chordNotifyPayload(k, del === 0)]),
        { minLength: 1, maxLength: 4 },
      ),
    },
    { weight: 4, arbitrary: one(fc.tuple(chordTable, key, chordValue(frameMax)).map(([t, k, v]): Sent => [2, chordStorePayload(t, k, v)])) },
    { weight: 3, arbitrary: one(fc.tuple(chordTable, key).map(([t, k]): Sent => [2, chordRetrievePayload(t, k)])) },
    { weight: 3, arbitrary: one(fc.tuple(chordTable, key, chordValue(frameMax)).map(([t, k, v]): Sent => [2, chordRetrievedPayload(t, k, v)])) },
    { weight: 3, arbitrary: one(fc.tuple(chordTable, key, chordDelta).map(([t, k, d]): Sent => [2, chordDeltaPayload(t, k, d)])) },
    // A burst of deltas on one key, in one read: merged, they grow one stored map.
    {
      weight: 2,
      arbitrary: fc
        .tuple(chordTable, key, fc.array(chordDelta, { minLength: 2, maxLength: 4 }))
        .map(([t, k, ds]) => ds.map((d): Sent => [2, chordDeltaPayload(t, k, d)])),
    },
    { weight: 1, arbitrary: one(peersList.map((p): Sent => [2, p])) },
  );
  return fc
    .tuple(messages, fc.nat({ max: 15 }), fc.constantFrom<number | undefined>(undefined, ...compression), fc.integer({ min: -2, max: 2 }))
    .map(([sent, broadcast, z, dt]): Build => (at) => {
      const frames = sent.map(([type, p]) =>
        encodeFrame(caps, makeMessage(caps, broadcast === 0 && type === 2 ? 0 : type, from.config.id, p, Math.floor(at / 1000) + dt), z),
      );
      return frames.length === 1 ? frames[0]! : concatBytes(frames);
    });
};

