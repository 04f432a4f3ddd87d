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
  // `size: 'max'`: bodies up to 300 bytes, so header byte 2 is not always zero.
  test.prop([fc.array(fc.uint8Array({ maxLength: 300, size: 'max' }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 })])(
    'every chunking gives the same frames',
    (bodies, cuts) => {
      const wire = new Uint8Array(bodies.flatMap((b) => [...frame(b)]));
      const r = run(1000, cut(wire, cuts));
      expect(r.frames).toEqual(bodies.map((b) => new Uint8Array(b)));
      expect(r.error).toBeUndefined();
      expect(r.mid).toBe(false);
    },
  );

  // Whole frames of lengths near the maximum (some just above it), then arbitrary bytes.
  const nearMax = fc.integer({ min: 0, max: 600 }).chain((max) =>
    fc.tuple(
      fc.constant(max),
      fc.array(fc.tuple(fc.integer({ min: Math.max(0, max - 8), max: max + 8 }), fc.nat({ max: 255 })), { maxLength: 3 }),
      fc.uint8Array({ maxLength: 2000, size: 'max' }),
    ),
  );
  test.prop([nearMax, fc.array(fc.nat(), { maxLength: 10 })])(
    'arbitrary bytes never throw, frames never exceed the maximum, and chunking never changes the outcome',
    ([max, lengths, tail], cuts) => {
      const bytes = new Uint8Array([...lengths.flatMap(([n, fill]) => [...frame(new Uint8Array(n).fill(fill))]), ...tail]);
      const whole = run(max, [bytes]);
      const split = run(max, cut(bytes, cuts));
      expect(split).toEqual(whole);
      for (const f of whole.frames) expect(f.length).toBeLessThanOrEqual(max);
      // The first header, read here apart from the code under test.
      if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0) > max) {
        expect(whole.error).toBe('FrameTooLarge');
        expect(whole.frames).toEqual([]);
      }
    },
  );
});
