// A malformed snappy block whose 4-byte literal length has its top bit set: snappyjs alone never
// returns on it (its read position moves backwards); the capability must throw instead.
import { describe, expect, it } from 'vitest';
import { nodeCapabilities } from '../../src/shell/caps.js';

describe('snappy decompression of malformed blocks', () => {
  const snappy = nodeCapabilities.compressors.get(0x20);
  it('throws on a literal length beyond the block instead of looping', () => {
    const bad = new Uint8Array([0x05, 0xfc, 0xf0, 0xff, 0xff, 0xff, ...new Array<number>(16).fill(0)]);
    expect(() => snappy?.decompress(bad, 1 << 20)).toThrow('malformed snappy block');
  });
  it('still round-trips real snappy data', () => {
    const data = new TextEncoder().encode('chord '.repeat(500));
    expect(snappy?.decompress(snappy.compress(data), 1 << 20)).toEqual(data);
  });
});
