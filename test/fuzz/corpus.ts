/**
 * Hostile input for the fuzz suites: valid frames of every message type, and arbitraries that
 * mutate them (bit flips, truncation, extension, length-header edits, re-checksummed wrong
 * shapes, huge and deep values, compression bombs) or replace them with random bytes.
 *
 * Frames are built at the moment they are fed (`Build`), so their stamps sit near the receiving
 * node's clock and reach the handlers instead of being dropped as stale.
 */
import fc from 'fast-check';
import type { Env } from '../../src/core/node.js';
import { latin1Bytes } from '../../src/core/ids.js';
import { compressionFlags } from '../../src/core/flags.js';
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
import type { WireValue } from '../../src/core/wire/value.js';
import { caps, mkEnv } from '../unit/mesh-env.js';

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
