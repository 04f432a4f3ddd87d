/**
 * The zlib and gzip header tests of the Node capabilities only save work: every body they turn
 * away is one that inflating would refuse anyway, and every stream zlib makes passes them. The
 * latin1 SHA-256 digest hashes exactly the bytes from its start index on.
 */
import * as zlib from 'node:zlib';
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { nodeCapabilities } from '../../src/shell/caps.js';
import { compressionFlags } from '../../src/core/flags.js';
import { propRuns } from '../property/runs.js';

const inflates = (method: number, data: Uint8Array): boolean => {
  try {
    nodeCapabilities.compressors.get(method)!.decompress(data, 1 << 20);
    return true;
  } catch {
    return false;
  }
};

// Real streams (every level, strategy and window size), real streams with a mutated head, and random bytes.
const bodies = (make: (b: Uint8Array, o: zlib.ZlibOptions) => Buffer): fc.Arbitrary<Uint8Array> => {
  const real = fc
    // Random bytes come out as stored or fixed-code blocks; a small alphabet makes dynamic ones.
    .record({ data: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ min: 0, max: 3, minLength: 200, maxLength: 2000 })), level: fc.integer({ min: 0, max: 9 }), strategy: fc.integer({ min: 0, max: 4 }), windowBits: fc.integer({ min: 9, max: 15 }) })
    .map(({ data, level, strategy, windowBits }) => new Uint8Array(make(data, { level, strategy, windowBits })));
  const mutated = fc
    .tuple(real, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
    .map(([b, at, v]) => {
      const c = b.slice();
      if (at < c.length) c[at] = v;
      return c;
    });
  return fc.oneof(real, mutated, fc.uint8Array({ maxLength: 64 }));
};

describe('compression header tests', () => {
  for (const [name, method, make] of [
    ['zlib', compressionFlags.zlib, zlib.deflateSync],
    ['gzip', compressionFlags.gzip, zlib.gzipSync],
  ] as const) {
    test.prop([bodies(make)], { numRuns: propRuns(2000) })(`${name}: a body the header test refuses never inflates`, (body) => {
      const signature = nodeCapabilities.compressors.get(method)!.signature!;
      if (!signature(body)) expect(inflates(method, body)).toBe(false);
    });
  }
});

describe('the latin1 SHA-256 digest', () => {
  // From any start, of a plain array or of a Buffer lying inside a larger one: the digest of
  // exactly the bytes from there to the end.
  test.prop([fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat({ max: 16 }), fc.boolean()])('hashes the bytes from its start index to the end', (bytes, s, pad, asBuffer) => {
    const start = bytes.length === 0 ? 0 : s % (bytes.length + 1);
    const room = new Uint8Array(pad + bytes.length + pad).fill(0xaa);
    room.set(bytes, pad);
    const inside = room.subarray(pad, pad + bytes.length);
    const data = asBuffer ? Buffer.from(inside.buffer, inside.byteOffset, inside.length) : inside;
    const expected = Buffer.from(nodeCapabilities.sha256(bytes.slice(start))).toString('latin1');
    expect(nodeCapabilities.sha256Latin1!(data, start)).toBe(expected);
  });
});
