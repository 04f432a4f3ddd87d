import { describe, expect, it } from 'vitest';
import { BODY_BLOCK_MIN, frame, frameDecoder, heldBytes, midFrame, pushBytes, writeLength, type FrameDecoder } from '../../src/core/wire/framing.js';

/** Bytes the decoder has allocated for a body in progress: its full blocks and the one being filled. */
const allocated = (d: FrameDecoder): number => d.bodyParts.reduce((n, p) => n + p.byteLength, 0) + (d.block?.byteLength ?? 0);

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);
const feed = (d: FrameDecoder, chunks: ReadonlyArray<Uint8Array>): { frames: Uint8Array[]; error: unknown; d: FrameDecoder } => {
  const frames: Uint8Array[] = [];
  let error: unknown;
  for (const c of chunks) {
    const r = pushBytes(d, c);
    d = r.decoder;
    frames.push(...r.frames);
    error ??= r.error;
  }
  return { frames, error, d };
};

describe('framing', () => {
  it('frame prepends a big-endian length', () => {
    expect(frame(bytes(7, 8, 9))).toEqual(bytes(0, 0, 0, 3, 7, 8, 9));
    expect(frame(new Uint8Array(0x01020304 & 0xffff))).toHaveLength(4 + 0x0304);
    expect([...frame(new Uint8Array(0x010203)).subarray(0, 4)]).toEqual([0, 1, 2, 3]);
  });

  it('decodes several frames from one chunk, as views of it', () => {
    const chunk = new Uint8Array([...frame(bytes(1)), ...frame(bytes()), ...frame(bytes(2, 3))]);
    const r = pushBytes(frameDecoder(100), chunk);
    expect(r.frames).toEqual([bytes(1), bytes(), bytes(2, 3)]);
    expect(r.frames[0]!.buffer).toBe(chunk.buffer);
    expect(r.error).toBeUndefined();
    expect(midFrame(r.decoder)).toBe(false);
  });

  it('reassembles a frame split byte by byte and reports being mid-frame', () => {
    const wire = frame(bytes(1, 2, 3, 4, 5));
    let d = frameDecoder(100);
    const out: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i++) {
      const r = pushBytes(d, wire.subarray(i, i + 1));
      d = r.decoder;
      out.push(...r.frames);
      expect(midFrame(d)).toBe(i < wire.length - 1);
    }
    expect(out).toEqual([bytes(1, 2, 3, 4, 5)]);
  });

  it('handles the split that trips py2p: frame1 + header2, then body2', () => {
    const f1 = frame(bytes(9));
    const f2 = frame(bytes(8, 7));
    const r = feed(frameDecoder(100), [new Uint8Array([...f1, ...f2.subarray(0, 4)]), f2.subarray(4)]);
    expect(r.frames).toEqual([bytes(9), bytes(8, 7)]);
  });

  it('refuses an oversized header as soon as its 4 bytes arrive, and stays dead', () => {
    let d = frameDecoder(10);
    let r = pushBytes(d, bytes(0, 0));
    expect(r.error).toBeUndefined();
    d = r.decoder;
    r = pushBytes(d, bytes(0, 11));
    expect(r.error).toEqual({ _tag: 'FrameTooLarge', length: 11, max: 10 });
    r = pushBytes(r.decoder, frame(bytes(1)));
    expect(r.frames).toEqual([]);
    expect(r.error).toEqual({ _tag: 'FrameTooLarge', length: 11, max: 10 });
  });

  it('returns the frames completed before a bad header in the same chunk', () => {
    const r = pushBytes(frameDecoder(10), new Uint8Array([...frame(bytes(1)), 0xff, 0xff, 0xff, 0xff]));
    expect(r.frames).toEqual([bytes(1)]);
    expect(r.error).toEqual({ _tag: 'FrameTooLarge', length: 0xffffffff, max: 10 });
  });

  it('accepts a body of exactly the maximum', () => {
    const r = pushBytes(frameDecoder(5), frame(bytes(1, 2, 3, 4, 5)));
    expect(r.frames).toHaveLength(1);
    expect(r.error).toBeUndefined();
  });

  it('does not allocate the body of a huge header (refused first)', () => {
    const r = pushBytes(frameDecoder(16 * 1024 * 1024), bytes(0x7f, 0xff, 0xff, 0xff));
    expect(r.error?._tag).toBe('FrameTooLarge');
    expect(heldBytes(r.decoder)).toBe(0);
  });

  it('holds about the bytes received of a body that promises more: one small block, not the promised size', () => {
    // A header announcing the maximum, then three bytes: three bytes held, not 16 MiB.
    const d = frameDecoder(16 * 1024 * 1024);
    const r = pushBytes(d, bytes(0x01, 0x00, 0x00, 0x00, 9, 9, 9));
    expect(r.frames).toEqual([]);
    expect(midFrame(r.decoder)).toBe(true);
    expect(heldBytes(r.decoder)).toBe(3);
    expect(allocated(r.decoder)).toBe(BODY_BLOCK_MIN);
  });

  it('copies a body trickled a byte per chunk into a few blocks of at most twice the bytes received', () => {
    // One object per piece cost some 200 bytes of heap per byte received.
    const body = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const header = new Uint8Array(4);
    writeLength(header, body.length);
    let d = pushBytes(frameDecoder(1 << 20), header).decoder;
    for (let i = 0; i < body.length - 1; i++) {
      d = pushBytes(d, body.subarray(i, i + 1)).decoder;
      if (i === 999 || i === 49_999) {
        expect(allocated(d)).toBeLessThanOrEqual(2 * heldBytes(d) + BODY_BLOCK_MIN);
        expect(d.bodyParts.length).toBeLessThan(12);
      }
    }
    const r = pushBytes(d, body.subarray(body.length - 1));
    expect(r.frames).toEqual([body]);
    expect(heldBytes(r.decoder)).toBe(0);
  });

  it('assembles a body from many pieces in order', () => {
    const body = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    let d = frameDecoder(1 << 20);
    const whole = frame(body);
    const got: Uint8Array[] = [];
    for (let i = 0; i < whole.length; i += 7) {
      const r = pushBytes(d, whole.subarray(i, i + 7));
      d = r.decoder;
      got.push(...r.frames);
    }
    expect(got).toEqual([body]);
    expect(midFrame(d)).toBe(false);
  });
});
