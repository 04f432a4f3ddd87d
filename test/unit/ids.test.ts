import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  bytesToBigInt, distance, fromBase58, idText, keyPosition, latin1, latin1Bytes, nodeId, protocolId, requestId, RING_SIZE, timeSeconds, toBase58,
} from '../../src/core/ids.js';
import { flags, msgTypes, subFlags, compressionFlags } from '../../src/core/flags.js';
import { nodeCapabilities as caps } from '../../src/shell/caps.js';

describe('base58', () => {
  it('round-trips across the chunk boundaries', () => {
    for (const n of [58n ** 9n - 1n, 58n ** 9n, 58n ** 9n + 1n, 58n ** 18n, 2n ** 384n - 1n, 2n ** 512n + 12345n]) {
      expect(fromBase58(toBase58(n))).toEqual(E.right(n));
    }
    expect(toBase58(58n ** 9n)).toBe('2' + '1'.repeat(9));
  });
  it('is strict', () => {
    expect(fromBase58('')).toEqual(E.left({ _tag: 'BadBase58', index: 0, char: '' }));
    expect(fromBase58('abc ')).toEqual(E.left({ _tag: 'BadBase58', index: 3, char: ' ' }));
    expect(fromBase58('é')).toEqual(E.left({ _tag: 'BadBase58', index: 0, char: 'é' }));
    expect(() => toBase58(-1n)).toThrow(RangeError);
  });
});

describe('ids', () => {
  it('idText reads bin as latin1, one character per byte', () => {
    expect(idText('abc')).toBe('abc');
    expect(idText(new Uint8Array([0x61, 0xff, 0]))).toBe('a\xff\x00');
    const big = new Uint8Array(10000).map((_, i) => i % 256);
    expect(latin1Bytes(latin1(big))).toEqual(big);
  });
  it('node ids differ by salt and address and decode to a ring position', () => {
    const p = protocolId(caps, 'mesh', 'Plaintext');
    const a = nodeId(caps, { host: '127.0.0.1', port: 1 }, p, 's1');
    expect(nodeId(caps, { host: '127.0.0.1', port: 1 }, p, 's2')).not.toBe(a);
    expect(nodeId(caps, { host: '127.0.0.1', port: 2 }, p, 's1')).not.toBe(a);
    const n = fromBase58(a);
    expect(E.isRight(n) && n.right < RING_SIZE).toBe(true);
  });
  it('request id is base58(SHA-384(sender + base58(time)))', () => {
    const expected = toBase58(bytesToBigInt(caps.sha384(new TextEncoder().encode('NODEID' + '3HYtjy'))));
    expect(requestId(caps, 'NODEID', 1500000000)).toBe(expected);
  });
  it('time is whole seconds', () => {
    expect(timeSeconds(1500000000999)).toBe(1500000000);
    expect(timeSeconds(0)).toBe(0);
  });
  it('ring positions: sha1 shifted by 224, sha512 unshifted', () => {
    const k = new Uint8Array([1]);
    expect(keyPosition(caps, 'sha1', k)).toBe(bytesToBigInt(caps.sha1(k)) << 224n);
    expect(keyPosition(caps, 'sha512', k)).toBe(bytesToBigInt(caps.sha512(k)));
    expect(distance(0n, 0n)).toBe(0n);
    expect(distance(RING_SIZE - 1n, 0n)).toBe(1n);
  });
});

describe('flags', () => {
  it('names every flag of §2 with its value', () => {
    expect(msgTypes).toEqual({ broadcast: 0, renegotiate: 1, whisper: 2, ping: 3, pong: 4 });
    expect(Object.values(subFlags)).toEqual([0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(Object.values(compressionFlags)).toEqual([...Array.from({ length: 16 }, (_, i) => 0x10 + i), 0x20]);
    expect(flags).toMatchObject({ bz2: 0x10, gzip: 0x11, lzma: 0x12, zlib: 0x13, snappy: 0x20, delta: 0x11, revoke_paths: 0x10, pong: 4 });
  });
});
