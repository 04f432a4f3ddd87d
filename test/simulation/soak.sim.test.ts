// A shorter soak than `npm run bench:soak`, on its workload: three simulated hours of a 20-node
// mesh with churn, partitions, resets and a broadcast a second, plus bursts of replies to nodes
// out of reach. Every node runs with bounds tight enough for this network to reach each of them
// (the defaults are far beyond what 20 nodes and this load can fill, so checking them would
// prove nothing); after every step of every node, each bounded structure is within its bound,
// and each bound is met at least once. Broadcasts keep being delivered, and outside the
// partition hours almost none is lost because the mesh heals itself. Heap figures are the
// benchmark's job.
import { describe, expect, it } from 'vitest';
import { soak } from '../../bench/soak.js';

// Each bound is small enough to be met under this load, and large enough for the mesh to keep
// working: a node holds its 4 outgoing connections and a few inbound ones, takes one inbound
// handshake at a time (a refused peer is handed our peers list and joins elsewhere), remembers
// about 48 s of broadcasts (copies arrive within a second or two, so none is taken for new), and
// keeps a handful of addresses to redial. With one handshake at a time, inbound connections do
// arrive while one waits, so a bound off by one would be seen.
const limits = { connectionsMax: 8, awaitingMax: 1, seenMax: 48, pendingRequestsMax: 2, knownAddressesMax: 8 };

describe('soak (simulated)', () => {
  it('keeps every bound, and reaches each, through three hours of churn and partitions', () => {
    const r = soak({ hours: 3, nodes: 20, seed: 7, limits, replyBursts: true });
    expect(r.breaches).toEqual([]);
    // The largest size of each structure, over every step of every node, is its bound: never
    // above it, and met at least once.
    expect(r.worst).toEqual({
      connections: limits.connectionsMax,
      awaiting: limits.awaitingMax,
      seen: limits.seenMax,
      pendingReplies: limits.pendingRequestsMax,
      known: limits.knownAddressesMax,
    });
    // One broadcast a second, each from a node that is up when it goes out.
    expect(r.broadcasts).toBe(3 * 3600);
    expect(r.expectedDeliveries - r.lost).toBeGreaterThan(r.expectedDeliveries / 2);
    // The mesh heals itself after crashes and resets: outside the partition hours (when half the
    // network cannot reach the other half) under 1 % of deliveries are lost.
    expect(r.lost - r.lostInPartitionHours).toBeLessThan(r.expectedDeliveries / 100);
  }, 300_000);
});
