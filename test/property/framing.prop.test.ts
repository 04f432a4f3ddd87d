import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { frame, frameDecoder, midFrame, pushBytes } from '../../src/core/wire/framing.js';

/** Cut `bytes` at the given positions. */
const cut = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Uint8Array[] => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.slice(from, p));
    from = p;
  }
  chunks.push(bytes.slice(from));
  return chunks;
};

const run = (max: number, chunks: ReadonlyArray<Uint8Array>): { frames: Uint8Array[]; error: string | undefined; mid: boolean } => {
  let d = frameDecoder(max);
  const frames: Uint8Array[] = [];
  let error: string | undefined;
  for (const c of chunks) {
    const r = pushBytes(d, c);
    d = r.decoder;
    frames.push(...r.frames.map((f) => new Uint8Array(f)));
    error ??= r.error?._tag;
  }
  return { frames, error, mid: midFrame(d) };
};

describe('framing properties', () => {
  test.prop([fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 })])(
    'every chunking gives the same frames',
    (bodies, cuts) => {
      const wire = new Uint8Array(bodies.flatMap((b) => [...frame(b)]));
      const r = run(1000, cut(wire, cuts));
      expect(r.frames).toEqual(bodies.map((b) => new Uint8Array(b)));
      expect(r.error).toBeUndefined();
      expect(r.mid).toBe(false);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 0, max: 600 })])(
    'arbitrary bytes never throw, frames never exceed the maximum, and chunking never changes the outcome',
    (bytes, cuts, max) => {
      const whole = run(max, [bytes]);
      const split = run(max, cut(bytes, cuts));
      expect(split).toEqual(whole);
      for (const f of whole.frames) expect(f.length).toBeLessThanOrEqual(max);
    },
  );
});
