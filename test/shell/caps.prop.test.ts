/**
 * The zlib and gzip header tests of the Node capabilities only save work: every body they turn
 * away is one that inflating would refuse anyway, and every stream zlib makes passes them.
 */
import * as zlib from 'node:zlib';
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { nodeCapabilities } from '../../src/shell/caps.js';
import { compressionFlags } from '../../src/core/flags.js';

const inflates = (method: number, data: Uint8Array): boolean => {
  try {
    nodeCapabilities.compressors.get(method)!.decompress(data, 1 << 20);
    return true;
  } catch {
    return false;
  }
};

// Real streams (every level and strategy), real streams with a mutated head, and random bytes.
const bodies = (make: (b: Uint8Array, o: zlib.ZlibOptions) => Buffer): fc.Arbitrary<Uint8Array> => {
  const real = fc
    // Random bytes come out as stored or fixed-code blocks; a small alphabet makes dynamic ones.
    .record({ data: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ min: 0, max: 3, minLength: 200, maxLength: 2000 })), level: fc.integer({ min: 0, max: 9 }), strategy: fc.integer({ min: 0, max: 4 }) })
    .map(({ data, level, strategy }) => new Uint8Array(make(data, { level, strategy })));
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
    test.prop([bodies(make)], { numRuns: 2000 })(`${name}: a body the header test refuses never inflates`, (body) => {
      const signature = nodeCapabilities.compressors.get(method)!.signature!;
      if (!signature(body)) expect(inflates(method, body)).toBe(false);
    });
  }
});
