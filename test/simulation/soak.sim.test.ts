// A shorter soak than `npm run bench:soak`: three simulated hours of a 20-node mesh with churn,
// partitions, resets and a broadcast a second. Every bounded structure of every live node stays
// within its bound, and broadcasts keep being delivered. Heap figures are the benchmark's job.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../src/core/config.js';
import { soak } from '../../bench/soak.js';

describe('soak (simulated)', () => {
  it('keeps every bound through three hours of churn and partitions', () => {
    const r = soak({ hours: 3, nodes: 20, seed: 7 });
    expect(r.breaches).toEqual([]);
    expect(r.worst.connections).toBeLessThanOrEqual(defaultLimits.connectionsMax);
    expect(r.worst.seen).toBeLessThanOrEqual(defaultLimits.seenMax);
    expect(r.worst.seen).toBeGreaterThan(0);
    expect(r.broadcasts).toBeGreaterThan(3 * 3000);
    expect(r.expectedDeliveries - r.lost).toBeGreaterThan(r.expectedDeliveries / 2);
  }, 300_000);
});
