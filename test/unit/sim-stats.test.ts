/**
 * Broadcast statistics and wire keys: payload keys keep str and bin apart and read safe bigints
 * as numbers; a broadcast that cannot reach a cut-off node counts as lost there.
 */
import { describe, expect, it } from 'vitest';
import { Simulation, latency } from '../../src/sim.js';
import { wireKey } from '../../src/shell/sim/stats.js';

describe('wire keys', () => {
  it('tell str from bin, and read safe bigints as numbers', () => {
    expect(wireKey(['ab'])).not.toBe(wireKey([new Uint8Array([0x61, 0x62])]));
    expect(wireKey([5n])).toBe(wireKey([5]));
    expect(wireKey([2n ** 64n])).not.toBe(wireKey([Number(2n ** 64n)]));
    expect(wireKey([[1, 'x'], new Map([[1, null]])])).toBe(wireKey([[1, 'x'], new Map([[1, null]])]));
    expect(wireKey([[1], [2]])).not.toBe(wireKey([[1, 2]]));
  });
});

describe('broadcast statistics', () => {
  it('count writes, deliveries, latency and what a cut-off node lost', () => {
    const sim = new Simulation({ seed: 5, latency: latency.constant(10) });
    for (let i = 0; i < 4; i++) sim.addNode();
    for (let i = 1; i < 4; i++) sim.connect(`n${i}`, 'n0');
    sim.runUntilIdle();
    sim.resetStats();
    sim.fault({ _tag: 'Partition', groups: [['n3']], reset: true });
    sim.runUntilIdle();
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
