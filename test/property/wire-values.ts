// Arbitraries for wire values and messages, shared by the wire property tests.
import fc from 'fast-check';
import type { NodeId } from '../../src/core/types.js';
import type { IdValue, WireMessage } from '../../src/core/wire/messages.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { idText } from '../../src/core/ids.js';

/** Integers of every msgpack width, as numbers when safe and bigints beyond. */
export const wireInt: fc.Arbitrary<WireValue> = fc.oneof(
  fc.integer({ min: -64, max: 200 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).filter((n) => n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)),
);

/** Any value a packet can hold: str and bin kept apart, big ints, floats, nested arrays and maps. */
export const wireValue: fc.Arbitrary<WireValue> = fc.letrec<{ value: WireValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    wireInt,
    fc.double(),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((es) => new Map(es) as ReadonlyMap<WireValue, WireValue>),
    // Past the 8-bit and 4-bit length forms: str16, bin16, array16, map16.
    fc.string({ minLength: 256, maxLength: 300 }),
    fc.uint8Array({ minLength: 256, maxLength: 300 }),
    fc.array(wireInt, { minLength: 16, maxLength: 40 }),
    fc
      .uniqueArray(fc.integer(), { minLength: 16, maxLength: 40 })
      .chain((keys) => fc.array(wireInt, { minLength: keys.length, maxLength: keys.length }).map((vs) => new Map(keys.map((k, i) => [k, vs[i]!])))),
  ),
})).value;

const TWO_53 = 2n ** 53n;

/**
 * What a value decodes to. Integers are written as msgpack ints whatever their JS type, and ints
 * come back as numbers up to ±2^53 and bigints beyond; -0 becomes 0 (ints have no signed zero).
 */
export const decodedForm = (v: WireValue): WireValue => {
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return 0;
    const wide = Number.isInteger(v) && Math.abs(v) > 2 ** 53 && v >= -(2 ** 63) && v < 2 ** 64;
    return wide ? BigInt(v) : v;
  }
  if (typeof v === 'bigint') return v >= -TWO_53 && v <= TWO_53 ? Number(v) : v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return (v as ReadonlyArray<WireValue>).map(decodedForm);
  if (v instanceof Map) return new Map([...(v as ReadonlyMap<WireValue, WireValue>)].map(([k, x]) => [decodedForm(k), decodedForm(x)]));
  return v;
};

/** Bin values as plain Uint8Array (a decoded bin may be a Buffer view), for comparison. */
export const plainBytes = (v: WireValue): WireValue => {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return (v as ReadonlyArray<WireValue>).map(plainBytes);
  if (v instanceof Map) return new Map([...(v as ReadonlyMap<WireValue, WireValue>)].map(([k, x]) => [plainBytes(k), plainBytes(x)]));
  return v;
};

/** An id as it may travel: str or bin (bins are any bytes). */
export const idValue: fc.Arbitrary<IdValue> = fc.oneof(fc.string({ minLength: 1, maxLength: 66 }), fc.uint8Array({ minLength: 1, maxLength: 66 }));
const text = (v: IdValue): string => idText(v);
const nodeId = fc.string({ minLength: 1, maxLength: 66 }).map((s) => s as NodeId);
const address = fc.record({ host: fc.string({ maxLength: 40 }), port: fc.integer({ min: 0, max: 65535 }) });
const flagList = fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 6 });
const wireMap = fc.array(fc.tuple(wireValue, wireValue), { maxLength: 3 }).map((es) => new Map(es) as ReadonlyMap<WireValue, WireValue>);
const tableKey = fc.tuple(idValue, idValue).map(([t, k]) => ({ table: text(t), tableRaw: t, key: text(k), keyRaw: k }));
/**
 * A user key as it may travel: str (any Unicode) or bin; its canonical text worked out here with
 * Node's Buffer, apart from the code under test: the key's bytes (a str as UTF-8) read as latin1.
 */
const userKey: fc.Arbitrary<IdValue> = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.uint8Array({ minLength: 1, maxLength: 66 }));
const keyBytesText = (k: IdValue): string => (typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k)).toString('latin1');
const keyOnly = userKey.map((k) => ({ key: keyBytesText(k), keyRaw: k }));

/** Any message of §4–6, consistent (text fields are the canonical form of the raw ones). */
export const wireMessage: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ id: nodeId, protocolId: fc.string({ unit: 'binary-ascii' }), address, compression: flagList }).map((r) => ({ _tag: 'Handshake' as const, ...r })),
  fc.array(fc.record({ address, id: nodeId }), { maxLength: 4 }).map((peers) => ({ _tag: 'Peers' as const, peers })),
  fc.constant({ _tag: 'PeersRequest' as const }),
  fc.tuple(idValue, idValue).map(([r, t]) => ({ _tag: 'RouteRequest' as const, requestId: text(r), requestIdRaw: r, target: text(t) as NodeId, targetRaw: t })),
  fc.tuple(idValue, address, idValue).map(([r, a, t]) => ({
    _tag: 'RouteResponse' as const, requestId: text(r), requestIdRaw: r, address: a, target: text(t) as NodeId, targetRaw: t,
  })),
  flagList.map((methods) => ({ _tag: 'RenegotiateCompression' as const, methods })),
  fc.constant({ _tag: 'RenegotiateResend' as const }),
  fc.boolean().map((leeching) => ({ _tag: 'ChordMeta' as const, leeching })),
  fc.tuple(keyOnly, fc.boolean()).map(([k, deleted]) => ({ _tag: 'ChordNotify' as const, ...k, deleted })),
  fc.tuple(tableKey, wireValue).map(([tk, value]) => ({ _tag: 'ChordStore' as const, ...tk, value })),
  tableKey.map((tk) => ({ _tag: 'ChordRetrieve' as const, ...tk })),
  fc.tuple(tableKey, wireValue).map(([tk, value]) => ({ _tag: 'ChordRetrieved' as const, ...tk, value })),
  fc.tuple(tableKey, wireMap).map(([tk, delta]) => ({ _tag: 'ChordDelta' as const, ...tk, delta })),
  fc.tuple(keyOnly, wireValue).map(([k, value]) => ({ _tag: 'SyncStore' as const, ...k, value })),
  fc.tuple(keyOnly, wireValue, idValue, fc.oneof(fc.integer({ min: 0 }), fc.double({ noNaN: true, noDefaultInfinity: true }))).map(([k, value, o, timestamp]) => ({
    _tag: 'SyncState' as const, ...k, value, owner: text(o) as NodeId, ownerRaw: o, timestamp,
  })),
  fc.tuple(keyOnly, wireMap).map(([k, delta]) => ({ _tag: 'SyncDelta' as const, ...k, delta })),
  fc
    .tuple(fc.oneof(fc.constantFrom(0, 2, 3, 4, 0x0e, 0x0f, 0x10), fc.integer({ min: 0x12, max: 1000 })), fc.array(wireValue, { maxLength: 4 }))
    .map(([subFlag, packets]) => ({ _tag: 'User' as const, subFlag, payload: [subFlag, ...packets] })),
  fc.tuple(fc.oneof(fc.string(), fc.uint8Array(), fc.constant(null)), fc.array(wireValue, { maxLength: 3 })).map(([head, packets]) => ({
    _tag: 'User' as const, subFlag: undefined, payload: [head, ...packets],
  })),
);
