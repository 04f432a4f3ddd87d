/**
 * Broadcast statistics and wire keys: payload keys keep str and bin apart and read safe bigints
 * as numbers; a broadcast that cannot reach a cut-off node counts as lost there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIM_EPOCH_MS, Simulation, latency } from '../../src/sim.js';
import { quantiles, STATS_HORIZON_MS, wireKey } from '../../src/shell/sim/stats.js';

describe('wire keys', () => {
  it('tell str from bin, and read safe bigints as numbers', () => {
    expect(wireKey(['ab'])).not.toBe(wireKey([new Uint8Array([0x61, 0x62])]));
    expect(wireKey([5n])).toBe(wireKey([5]));
    expect(wireKey([2n ** 64n])).not.toBe(wireKey([Number(2n ** 64n)]));
    expect(wireKey([[1, 'x'], new Map([[1, null]])])).toBe(wireKey([[1, 'x'], new Map([[1, null]])]));
    expect(wireKey([[1], [2]])).not.toBe(wireKey([[1, 2]]));
  });

  it('describe what is not a wire value without throwing', () => {
    expect(wireKey([{ x: 1 }, undefined, [() => 1]] as never)).toBe('?object,?undefined,[?function]');
    expect(wireKey({ x: 1 } as never)).toBe('?object');
  });
});

/** A star of four nodes around n0, with n3 then cut off, and the statistics reset. */
const starWithOneCutOff = (seed: number): Simulation => {
  const sim = new Simulation({ seed, latency: latency.constant(10) });
  for (let i = 0; i < 4; i++) sim.addNode();
  for (let i = 1; i < 4; i++) sim.connect(`n${i}`, 'n0');
  sim.runUntilIdle();
  sim.fault({ _tag: 'Partition', groups: [['n3']], reset: true });
  sim.runUntilIdle();
  sim.resetStats();
  return sim;
};

describe('broadcast statistics', () => {
  it('count writes, deliveries, latency and what a cut-off node lost', () => {
    const sim = starWithOneCutOff(5);
    sim.broadcast('n1', ['one']);
    sim.runUntilIdle();
    const s = sim.stats();
    expect(s).toMatchObject({ broadcasts: 1, deliveries: 2, expectedDeliveries: 3, lost: 1 });
    expect(s.writes).toBeGreaterThanOrEqual(2);
    expect(s.latencyMs).toMatchObject({ count: 2, p50: expect.any(Number) });
    expect(s.latencyMs.p50).toBeGreaterThanOrEqual(10);
    sim.resetStats();
    expect(sim.stats()).toMatchObject({ broadcasts: 0, deliveries: 0, writes: 0, lost: 0 });
  });
});

/** Four nodes all linked to each other over links of a constant 2 s, the statistics reset; clocks start on a whole second. */
const slowMesh = (): Simulation => {
  const sim = new Simulation({ seed: 11, latency: latency.constant(2_000), startAtMs: SIM_EPOCH_MS });
  for (let i = 0; i < 4; i++) sim.addNode();
  for (let i = 1; i < 4; i++) for (let j = 0; j < i; j++) sim.connect(`n${i}`, `n${j}`);
  sim.runUntilIdle();
  sim.resetStats();
  return sim;
};

describe('a payload broadcast twice', () => {
  it('in different seconds: two messages, each matched to its own send', () => {
    const sim = slowMesh();
    const start = sim.now - (sim.now % 1_000);
    sim.at(start + 10_000, () => sim.broadcast('n0', ['tick']));
    sim.at(start + 11_500, () => sim.broadcast('n0', ['tick']));
    sim.runUntilIdle();
    for (const n of ['n1', 'n2', 'n3']) expect(sim.delivered(n).filter((d) => d.message.packets[1] === 'tick')).toHaveLength(2);
    const s = sim.stats();
    expect(s).toMatchObject({ broadcasts: 2, deliveries: 6, expectedDeliveries: 6, lost: 0 });
    expect(s.latencyMs).toMatchObject({ count: 6, mean: 2_000, max: 2_000 });
  });

  it('in the same second of the sender\'s clock: one message id, delivered once, and nothing counted lost', () => {
    const sim = slowMesh();
    const start = sim.now - (sim.now % 1_000);
    sim.at(start + 10_100, () => sim.broadcast('n0', ['tick']));
    sim.at(start + 10_600, () => sim.broadcast('n0', ['tick']));
    sim.runUntilIdle();
    for (const n of ['n1', 'n2', 'n3']) expect(sim.delivered(n).filter((d) => d.message.packets[1] === 'tick')).toHaveLength(1);
    const s = sim.stats();
    expect(s).toMatchObject({ broadcasts: 2, deliveries: 3, expectedDeliveries: 3, lost: 0 });
    expect(s.latencyMs).toMatchObject({ count: 3, mean: 2_000 });
  });
});

describe('long runs', () => {
  it('fold broadcasts older than the horizon into exact totals, holding only the last quarter hour', () => {
    const sim = starWithOneCutOff(7);
    const start = sim.now;
    const count = 720; // one every 10 s for two simulated hours: eight horizons
    let mostHeld = 0;
    for (let k = 0; k < count; k++) {
      sim.broadcast(`n${k % 3}`, ['tick', k]);
      sim.runUntil(start + (k + 1) * 10_000);
      mostHeld = Math.max(mostHeld, sim.broadcastStats.held());
    }
    sim.runUntilIdle();
    // n3 is cut off: each broadcast reaches the two other connected nodes and is lost at n3.
    expect(sim.stats()).toMatchObject({ broadcasts: count, deliveries: 2 * count, expectedDeliveries: 3 * count, lost: count });
    expect(sim.stats().latencyMs.count).toBe(2 * count);
    // Records and ids of the last horizon only (90 broadcasts in 15 minutes here), not all 720.
    const perHorizon = STATS_HORIZON_MS / 10_000;
    expect(mostHeld).toBeLessThanOrEqual(3 * perHorizon);
  });
});

describe('latency quantiles', () => {
  it('from counts per value equal those of the sorted list of every sample', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat({ max: 300 }), fc.double({ min: 0, max: 1e5, noNaN: true })), { minLength: 1, maxLength: 200 }), (xs) => {
        const counts = new Map<number, number>();
        for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
        const sorted = [...xs].sort((a, b) => a - b);
        const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
        const s = quantiles(counts);
        expect(s).toMatchObject({ count: xs.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] });
        expect(s.mean).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / xs.length, 6);
      }),
    );
  });

  it('of nothing are zero', () => {
    expect(quantiles(new Map())).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });
});

