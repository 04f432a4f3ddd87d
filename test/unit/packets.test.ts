import * as E from 'fp-ts/lib/Either.js';
import { deflateSync } from 'node:zlib';
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import type { DecodeError } from '../../src/core/wire/errors.js';
import { describeDecodeError } from '../../src/core/wire/errors.js';
import { MSGPACK_LIMITS, MSGPACK_MAPS_MAX, MSGPACK_VALUES_MAX, nonWireValue, packValue, scanMsgpack } from '../../src/core/wire/msgpack.js';
import { chooseCompression, decodeBody, encodeFrame, makeMessage, messageMsgpack, msgpackLength, supportedMethods } from '../../src/core/wire/packets.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { nodeCapabilities as caps } from '../../src/shell/caps.js';

const MAX = 1 << 20;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
/** A body with a correct checksum over arbitrary msgpack bytes. */
const checked = (msgpack: Uint8Array): Uint8Array => {
  const body = new Uint8Array(32 + msgpack.length);
  body.set(caps.sha256(msgpack));
  body.set(msgpack, 32);
  return body;
};
const errorOf = (body: Uint8Array, compression: ReadonlyArray<number> = [], max = MAX): DecodeError => {
  const r = decodeBody(caps, body, compression, max);
  if (E.isRight(r)) throw new Error('expected a decode error');
  expect(describeDecodeError(r.left).length).toBeGreaterThan(0);
  return r.left;
};

describe('integers stay integers', () => {
  const cases: ReadonlyArray<readonly [WireValue, string]> = [
    [2 ** 31 - 1, 'ce7fffffff'],
    [2 ** 31, 'ce80000000'], // js2p would write float64 here
    [2 ** 32 - 1, 'ceffffffff'],
    [2 ** 32, 'd30000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'd3001fffffffffffff'],
    [-(2 ** 31), 'd280000000'],
    [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
    [2n ** 63n, 'cf8000000000000000'],
    [2n ** 64n - 1n, 'cfffffffffffffffff'],
    [-(2n ** 63n), 'd38000000000000000'],
    [5n, '05'],
    [2 ** 60, 'd31000000000000000'], // integer-valued, beyond 2^53: still an int
    [2 ** 63, 'cf8000000000000000'],
    [1e20, 'cb4415af1d78b58c40'], // beyond uint64: only a float can carry it
    [1.5, 'cb3ff8000000000000'],
  ];
  it.each(cases)('%s -> %s', (v, h) => {
    expect(hex(packValue(v))).toBe(h);
  });
  it('inside containers too', () => {
    expect(hex(packValue([2 ** 40, new Map<WireValue, WireValue>([[2 ** 40, 1]])]))).toBe('92d3000001000000000081d3000001000000000001');
  });
  it('refuses a bigint msgpack cannot hold (local misuse)', () => {
    expect(() => packValue(2n ** 64n)).toThrow(RangeError);
  });
  it('decodes int64 to bigint when unsafe and number when safe, and float times', () => {
    const m = makeMessage(caps, 0, 'S', [0, 2n ** 63n, 2 ** 40, -(2n ** 60n)], 1500000000.5);
    const r = decodeBody(caps, encodeFrame(caps, m, undefined).subarray(4), [], MAX);
    expect(E.isRight(r) && r.right.packets).toEqual([0, 'S', 1500000000.5, 0, 2n ** 63n, 2 ** 40, -(2n ** 60n)]);
    expect(E.isRight(r) && r.right.time).toBe(1500000000.5);
  });
  it('a time beyond 2^53 (an int64 on the wire) still decodes to a number', () => {
    const m = makeMessage(caps, 0, 'S', [0], 2 ** 53 + 2);
    const r = decodeBody(caps, encodeFrame(caps, m, undefined).subarray(4), [], MAX);
    expect(E.isRight(r) && r.right.time).toBe(2 ** 53 + 2);
  });
  it('keeps a returned msgpack buffer intact across later encodings', () => {
    const a = makeMessage(caps, 0, 'A', [0, 'first'], 1);
    const before = hex(encodeFrame(caps, a, undefined));
    let b = a;
    for (let i = 0; i < 3000; i++) {
      // Now and then one bigger than the packer's buffer, which makes it grow into a new one.
      if (i === 1500) b = makeMessage(caps, 0, 'C', [0, 'before the big one'], 3);
      makeMessage(caps, 0, 'B', [0, 'x'.repeat(i % 500 === 0 ? 20_000 : i % 50)], 2);
    }
    expect(hex(encodeFrame(caps, a, undefined))).toBe(before);
    const back = decodeBody(caps, encodeFrame(caps, b, undefined).subarray(4), [], 1 << 20);
    expect(E.isRight(back) && back.right.payload).toEqual([0, 'before the big one']);
  });
});

describe('nonWireValue', () => {
  it('passes every wire value, nested or not', () => {
    const good: WireValue[] = [null, true, 0, -1.5, NaN, 2n ** 63n, -(2n ** 63n), '', 'é', new Uint8Array(2), Buffer.from('ab'), [], [[1, ['x']]], new Map<WireValue, WireValue>([[new Uint8Array(1), [1]]])];
    for (const v of good) expect(nonWireValue(v, 'v')).toBeUndefined();
  });

  it('names the first part that is not one, and where it lies', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const cases: Array<[unknown, string]> = [
      [undefined, 'v is undefined (nil is null)'],
      [[1, () => 1], 'v[1] is a function'],
      [[Symbol('s')], 'v[0] is a symbol'],
      [2n ** 64n, 'v is a bigint beyond 64 bits (msgpack integers are int64 or uint64)'],
      [-(2n ** 63n) - 1n, 'v is a bigint beyond 64 bits (msgpack integers are int64 or uint64)'],
      [{ a: 1 }, 'v is a plain object (a msgpack map is a Map)'],
      [Object.create(null), 'v is a plain object (a msgpack map is a Map)'],
      [[new Date(0)], 'v[0] is an instance of Date'],
      [new Set([1]), 'v is an instance of Set'],
      [new Float32Array(1), 'v is an instance of Float32Array (bin is a Uint8Array)'],
      [new Uint8ClampedArray(1), 'v is an instance of Uint8ClampedArray (bin is a Uint8Array)'],
      [new ArrayBuffer(1), 'v is an instance of ArrayBuffer (bin is a Uint8Array)'],
      [new (class {})(), 'v is an instance of an unnamed class'],
      [new Map([[1, [2, undefined]]]), 'v.get(1)[1] is undefined (nil is null)'],
      [new Map<unknown, unknown>([['k', 0], [new Uint8Array(1), () => 1]]), 'the value of key #1 of v is a function'],
      [new Map([[{}, 1]]), 'key #0 of v is a plain object (a msgpack map is a Map)'],
      [cyclic, 'v holds arrays and maps nested deeper than 64 (or holds itself)'],
    ];
    for (const [v, said] of cases) expect(nonWireValue(v, 'v')).toBe(said);
  });
});

describe('decodeBody', () => {
  it('keeps str/bin typing, maps with bin keys, and the exact bytes', () => {
    const key = new Uint8Array([1, 2]);
    const m = makeMessage(caps, 2, new Uint8Array([65]), [0, new Map<WireValue, WireValue>([[key, 'v'], ['k', null]]), true], 7);
    const r = decodeBody(caps, encodeFrame(caps, m, undefined).subarray(4), [], MAX);
    if (E.isLeft(r)) throw new Error('decode failed');
    expect(r.right.sender).toBeInstanceOf(Uint8Array);
    expect(r.right.senderId).toBe('A');
    const map = r.right.payload[1] as ReadonlyMap<WireValue, WireValue>;
    expect(map).toBeInstanceOf(Map);
    expect([...map.keys()]).toEqual([key, 'k']);
    expect(hex(messageMsgpack(r.right))).toBe(hex(messageMsgpack(m)));
    expect(r.right.idKey).toBe(m.idKey);
    expect(r.right.idKey).toHaveLength(32);
  });

  it('never lets a message pin a large packer buffer', () => {
    const big = makeMessage(caps, 0, 'S', [0, 'x'.repeat(100_000)], 1);
    const small = makeMessage(caps, 0, 'S', [0, 'after the big one'], 1);
    // The packer grew a buffer of over 64 KiB for the big one and writes the next ones into it.
    for (const m of [big, small]) expect(m.frame!.buffer.byteLength).toBe(m.frame!.length);
    const r = decodeBody(caps, encodeFrame(caps, small, undefined).subarray(4), [], MAX);
    expect(E.isRight(r) && r.right.payload).toEqual([0, 'after the big one']);
  });

  it('re-frames a decompressed body from its own bytes, never from the memory in front of it', () => {
    const m = makeMessage(caps, 0, 'S', [0, 'pooled'], 1);
    const frame = encodeFrame(caps, m, undefined);
    // A decompressor whose output sits in a larger buffer right after bytes that look like its
    // header (as a pooled Buffer may): those bytes are someone else's and may change.
    const pool = new Uint8Array(frame.length + 8);
    pool.set(frame, 8);
    const pooled = { ...caps, compressors: new Map([[0x13, { compress: (d: Uint8Array) => d, decompress: () => pool.subarray(12) }]]) };
    const r = decodeBody(pooled, new Uint8Array([1, 2, 3]), [0x13], MAX);
    if (E.isLeft(r)) throw new Error(describeDecodeError(r.left));
    const again = encodeFrame(pooled, r.right, undefined);
    expect(hex(again)).toBe(hex(frame));
    expect(again.buffer).not.toBe(pool.buffer);
  });

  it('tries the peer\'s methods in order, then raw', () => {
    const m = makeMessage(caps, 0, 'S', [0, 'z'.repeat(200)], 1);
    for (const sent of [0x13, 0x11, 0x20, undefined]) {
      const body = encodeFrame(caps, m, sent).subarray(4);
      const r = decodeBody(caps, body, [0x20, 0x10, 0x11, 0x13], MAX);
      expect(E.isRight(r) && r.right.idKey).toBe(m.idKey);
    }
  });

  it('accepts a raw frame that also happens to snappy-decompress (checksum decides)', () => {
    // 0x35 0xd0 … is the py2p snappy frame; the same bytes raw fail the checksum, snappy passes.
    const m = makeMessage(caps, 0, 'SENDER', [0, 'hello'], 1500000000);
    const raw = encodeFrame(caps, m, undefined).subarray(4);
    expect(E.isRight(decodeBody(caps, raw, [0x20], MAX))).toBe(true);
  });

  it('tries header-tested methods, then raw, then the rest: a raw frame never reaches a decompressor', () => {
    const calls: string[] = [];
    const spy = (name: string, signature?: (d: Uint8Array) => boolean) => ({
      compress: (d: Uint8Array) => d,
      decompress: (): Uint8Array => {
        calls.push(name);
        throw new RangeError(`${name} refused`);
      },
      ...(signature === undefined ? {} : { signature }),
    });
    const spied = {
      ...caps,
      compressors: new Map([
        [0x13, spy('zlib', (d) => d[0] === 0x78)],
        [0x20, spy('snappy')],
      ]),
    };
    const m = makeMessage(caps, 0, 'SENDER', [0, 'hello'], 1500000000);
    const plain = encodeFrame(caps, m, undefined).subarray(4);
    expect(E.isRight(decodeBody(spied, plain, [0x20, 0x13], MAX))).toBe(true);
    expect(calls).toEqual(plain[0] === 0x78 ? ['zlib'] : []);
    // A body no method verifies: header-tested methods whose header fits, raw, then the others.
    calls.length = 0;
    const junk = new Uint8Array(40).fill(0x78);
    expect(decodeBody(spied, junk, [0x20, 0x13], MAX)).toEqual(
      E.left({ _tag: 'ChecksumMismatch', tried: ['0x13: zlib refused', '0x20: snappy refused', 'raw'] }),
    );
    expect(calls).toEqual(['zlib', 'snappy']);
    // A method the list names again is not tried again, and the reason names it once.
    calls.length = 0;
    const repeated = [...new Array<number>(1000).fill(0x13), ...new Array<number>(1000).fill(0x20)];
    expect(decodeBody(spied, junk, repeated, MAX)).toEqual(
      E.left({ _tag: 'ChecksumMismatch', tried: ['0x13: zlib refused', '0x20: snappy refused', 'raw'] }),
    );
    expect(calls).toEqual(['zlib', 'snappy']);
  });

  it('keeps of a peer list the distinct methods it can decompress, in the peer order', () => {
    expect(supportedMethods(caps, [0x99, 0x11, 0x13, 0x11, 0x10, 0x20, 0x13, 0x12])).toEqual([0x11, 0x13, 0x20]);
    expect(supportedMethods(caps, [])).toEqual([]);
  });

  it('types every failure', () => {
    expect(errorOf(new Uint8Array(31))).toEqual({ _tag: 'TooShort', length: 31, need: 32 });
    expect(errorOf(new Uint8Array(40))).toEqual({ _tag: 'ChecksumMismatch', tried: ['raw'] });
    expect(errorOf(new Uint8Array(40), [0x13, 0x99])._tag).toBe('ChecksumMismatch');
    expect(errorOf(checked(unhex('92cd01')))).toEqual({ _tag: 'NotMsgpack', detail: 'truncated at byte 2' });
    expect(errorOf(checked(unhex('0101')))).toEqual({ _tag: 'NotMsgpack', detail: '1 trailing bytes' });
    expect(errorOf(checked(unhex('c1')))._tag).toBe('NotMsgpack');
    expect(errorOf(checked(unhex('dd7fffffff00')))._tag).toBe('NotMsgpack');
    expect(errorOf(checked(unhex('93d6ff000000000102')))).toEqual({ _tag: 'ExtensionType', offset: 1 });
    expect(errorOf(checked(unhex('c70100ff')))).toEqual({ _tag: 'ExtensionType', offset: 0 });
    expect(errorOf(checked(new Uint8Array([...new Array(70).fill(0x91), 0])))).toEqual({ _tag: 'TooDeep', depthMax: 64 });
    expect(errorOf(checked(unhex('81a161a162')))._tag).toBe('NotAnArray');
    expect(errorOf(checked(unhex('920001')))._tag).toBe('NotAnArray');
    expect(errorOf(checked(packValue(['0', 'S', 1])))).toEqual({ _tag: 'BadField', index: 0, expected: 'an integer message type' });
    expect(errorOf(checked(packValue([0, 5, 1])))).toMatchObject({ _tag: 'BadField', index: 1 });
    expect(errorOf(checked(packValue([0, 'S', '1'])))).toMatchObject({ _tag: 'BadField', index: 2 });
    expect(errorOf(checked(packValue([0, 'S', NaN])))).toMatchObject({ _tag: 'BadField', index: 2 });
  });

  it('stops a zlib bomb at the limit instead of inflating it', () => {
    const inner = new Uint8Array(64 * 1024 * 1024); // 64 MiB of zeros, a few KiB compressed
    const bomb = deflateSync(inner);
    expect(bomb.length).toBeLessThan(100_000);
    const before = process.memoryUsage().arrayBuffers;
    const e = errorOf(bomb, [0x13], MAX);
    expect(e._tag).toBe('ChecksumMismatch');
    expect(JSON.stringify(e)).toMatch(/0x13: .*(larger|buffer|length)/i);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a snappy stream declaring more than the limit before allocating', () => {
    const big = snappy.compress(new Uint8Array(MAX + 1));
    const e = errorOf(big, [0x20], MAX);
    expect(JSON.stringify(e)).toMatch(/0x20: .*too big/);
  });

  it('refuses a snappy length no snappy block can expand to, before allocating', () => {
    // Declares 1 MiB (varint 80 80 40) from 8 bytes: within the limit, but beyond any real expansion.
    const e = errorOf(new Uint8Array([0x80, 0x80, 0x40, 1, 2, 3, 4, 5]), [0x20], 16 * MAX);
    expect(JSON.stringify(e)).toMatch(/0x20: .*impossible expansion/);
    // The most compressible real input still decodes.
    const m = makeMessage(caps, 0, 'S', [0, new Uint8Array(200_000)], 1);
    expect(E.isRight(decodeBody(caps, encodeFrame(caps, m, 0x20).subarray(4), [0x20], MAX))).toBe(true);
  });

  it('decompresses output of exactly the limit', () => {
    const m = makeMessage(caps, 0, 'S', [0, 'q'.repeat(1000)], 1);
    const body = encodeFrame(caps, m, 0x13).subarray(4);
    const size = 32 + msgpackLength(m);
    expect(E.isRight(decodeBody(caps, body, [0x13], size))).toBe(true);
    expect(E.isLeft(decodeBody(caps, body, [0x13], size - 1))).toBe(true);
  });
});

describe('scanMsgpack', () => {
  it('accepts every form the protocol uses', () => {
    const v: WireValue = [null, true, false, 0, -1, 127, 128, -33, 65536, -70000, 2n ** 63n, 1.25, 'a', 'b'.repeat(40), 'c'.repeat(300), 'd'.repeat(70000),
      new Uint8Array(3), new Uint8Array(300), new Uint8Array(70000), new Array(20).fill(1), new Array(70000).fill(0),
      new Map<WireValue, WireValue>([[1, 2]]), new Map<WireValue, WireValue>(Array.from({ length: 20 }, (_, i) => [i, i]))];
    // array32 (70,000 elements) holds more values than a peer may send: this scan allows it.
    expect(scanMsgpack(packValue(v), 0, { ...MSGPACK_LIMITS, valuesMax: 100_000 })).toBeUndefined();
  });

  it('bounds the values and maps one value may hold', () => {
    // The top value counts too: an array of valuesMax - 1 elements is the largest accepted.
    expect(scanMsgpack(packValue(new Array(MSGPACK_VALUES_MAX - 1).fill(0)))).toBeUndefined();
    expect(scanMsgpack(packValue(new Array(MSGPACK_VALUES_MAX).fill(0)))).toEqual({ _tag: 'TooManyValues', what: 'values', max: MSGPACK_VALUES_MAX });
    // Elements of nested containers count alike, and each map entry counts its key and its value.
    const nested = new Array(MSGPACK_VALUES_MAX / 4).fill([1, 2, 3]);
    expect(scanMsgpack(packValue(nested))).toEqual({ _tag: 'TooManyValues', what: 'values', max: MSGPACK_VALUES_MAX });
    const entries = new Map<WireValue, WireValue>(Array.from({ length: MSGPACK_VALUES_MAX / 2 }, (_, i) => [i, i]));
    expect(scanMsgpack(packValue(entries))).toEqual({ _tag: 'TooManyValues', what: 'values', max: MSGPACK_VALUES_MAX });
    const maps = (k: number): WireValue => Array.from({ length: k }, () => new Map<WireValue, WireValue>());
    expect(scanMsgpack(packValue(maps(MSGPACK_MAPS_MAX)))).toBeUndefined();
    expect(scanMsgpack(packValue(maps(MSGPACK_MAPS_MAX + 1)))).toEqual({ _tag: 'TooManyValues', what: 'maps', max: MSGPACK_MAPS_MAX });
    expect(scanMsgpack(packValue(maps(3)), 0, { ...MSGPACK_LIMITS, mapsMax: 2 })).toEqual({ _tag: 'TooManyValues', what: 'maps', max: 2 });
  });

  it('refuses a container bomb: 16 MiB of empty maps, 16 KiB compressed', () => {
    const count = 16 * 1024 * 1024 - 64;
    const msgpack = new Uint8Array(6 + 5 + count).fill(0x80);
    msgpack.set(unhex('9500a1530100dd'), 0); // [0, 'S', 1, 0, array32 of…]
    new DataView(msgpack.buffer).setUint32(7, count);
    const body = deflateSync(checked(msgpack));
    expect(body.length).toBeLessThan(32 * 1024);
    expect(errorOf(body, [0x13], 16 * 1024 * 1024)).toEqual({ _tag: 'TooManyValues', what: 'values', max: MSGPACK_VALUES_MAX });
    const maps = new Uint8Array(6 + 3 + 5000).fill(0x80);
    maps.set(unhex('9500a1530100dc1388'), 0); // [0, 'S', 1, 0, array16 of 5,000 empty maps]
    expect(errorOf(deflateSync(checked(maps)), [0x13])).toEqual({ _tag: 'TooManyValues', what: 'maps', max: MSGPACK_MAPS_MAX });
  });
});

describe('chooseCompression', () => {
  it('picks our first method that they offer', () => {
    expect(chooseCompression([0x13, 0x11, 0x20], [0x20, 0x11])).toBe(0x11);
    expect(chooseCompression([0x13], [0x20])).toBeUndefined();
    expect(chooseCompression([], [0x13])).toBeUndefined();
  });
  it('encodeFrame refuses a method we do not have', () => {
    expect(() => encodeFrame(caps, makeMessage(caps, 0, 'S', [0], 1), 0x12)).toThrow(RangeError);
  });
});
