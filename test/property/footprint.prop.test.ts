/**
 * The footprint behind the byte bounds (chord tables, notify keys, the `recv` queue): a value's
 * msgpack length plus a fixed overhead per value, larger for bins and maps, so a value of many
 * tiny elements counts what it costs decoded.
 */
import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { footprint, OBJECT_OVERHEAD_BYTES, VALUE_OVERHEAD_BYTES } from '../../src/core/wire/footprint.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import type { WireValue } from '../../src/core/wire/value.js';
import { propRuns } from './runs.js';
import { wireValue } from './wire-values.js';

/** The values in `v`, itself included, and how many of them are bins or maps. */
const count = (v: WireValue): { values: number; objects: number } => {
  if (v instanceof Uint8Array) return { values: 1, objects: 1 };
  const parts: WireValue[] = Array.isArray(v) ? [...(v as ReadonlyArray<WireValue>)] : v instanceof Map ? [...(v as ReadonlyMap<WireValue, WireValue>)].flat() : [];
  return parts.map(count).reduce((a, b) => ({ values: a.values + b.values, objects: a.objects + b.objects }), { values: 1, objects: v instanceof Map ? 1 : 0 });
};

describe('footprint', () => {
  test.prop([wireValue], { numRuns: propRuns(200) })('is the msgpack length plus 64 bytes per value, 256 per bin or map', (v) => {
    const packed = packValue(v).length;
    const { values, objects } = count(v);
    expect(footprint(v, packed)).toBe(packed + (values - objects) * VALUE_OVERHEAD_BYTES + objects * OBJECT_OVERHEAD_BYTES);
  });

  it('counts a message of tiny bins as what it costs decoded, not its msgpack length', () => {
    // 60,000 one-byte bins: 180 kB of msgpack, a few hundred bytes compressed, about 12 MiB decoded
    // (a one-byte bin measured about 195 bytes of heap).
    const packets = [0, ...Array.from({ length: 60_000 }, (_, i) => new Uint8Array([i & 0xff]))];
    const packed = packValue(packets).length;
    expect(packed).toBeLessThan(200_000);
    expect(footprint(packets, packed)).toBeGreaterThan(60_000 * 195);
  });
});
