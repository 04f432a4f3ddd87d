// Core-level attacks that need exact clocks: a slowloris trickle, far-future and far-past stamps,
// and a flood of fresh broadcast ids against the seen-set bound.
import { describe, expect, it } from 'vitest';
import { nextWakeup, nodeStatus, step } from '../../src/core/node.js';
import { ConnId } from '../../src/core/types.js';
import { frameFrom, mkEnv, only, T0, withPeers } from '../unit/mesh-env.js';

const me = mkEnv(1, { frameStallTimeoutMs: 1_000, seenMax: 50 });
const bob = mkEnv(2);
const carol = mkEnv(3);
const a1 = ConnId('a1');

describe('hostile: core bounds', () => {
  it('closes a slowloris peer a stall timeout after its frame began, however often it trickles', () => {
    const [st] = withPeers(me, [bob]);
    const f = frameFrom(bob.config.id, 0, [0, 'x'.repeat(100)], T0);
    let at = T0;
    let closedAt: number | undefined;
    for (let i = 0; i < f.length - 1 && closedAt === undefined; i++) {
      at += 200;
      const fx = [...step(me, st, { _tag: 'BytesReceived', at, conn: a1, bytes: f.subarray(i, i + 1) })[1], ...step(me, st, { _tag: 'Tick', at })[1]];
      const close = only(fx, 'Close');
      if (close.length > 0) {
        expect(close[0]!.reason).toEqual({ _tag: 'StalledFrame', afterMs: 1_000 });
        closedAt = at;
      }
    }
    expect(closedAt).toBe(T0 + 200 + 1_000);
    expect(nodeStatus(st).connections).toBe(0);
  });

  it('drops far-future and stale broadcasts without remembering them', () => {
    const [st] = withPeers(me, [bob]);
    for (const skewMs of [10 * 60_000, -10 * 60_000]) {
      for (let i = 0; i < 20; i++) step(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 0, [0, 'skew', i], T0 + skewMs) });
    }
    const s = nodeStatus(st);
    expect(s.futureDropped).toBe(20);
    expect(s.staleDropped).toBe(20);
    expect(s.seen).toBe(0);
    expect(s.delivered).toBe(0);
    expect(s.connections).toBe(1);
    // A peer five minutes ahead is still inside the tolerance; its ids go once stale.
    step(me, st, { _tag: 'BytesReceived', at: T0, conn: a1, bytes: frameFrom(bob.config.id, 0, [0, 'ahead'], T0 + 4 * 60_000) });
    expect(nodeStatus(st).seen).toBe(1);
    // Tick at every wake-up up to the bound (a self-healing timer may come first): the id is gone by then.
    const bound = T0 + 4 * 60_000 + me.config.broadcastExpiryMs + 1_000;
    for (let k = 0, wake = nextWakeup(st); k < 20 && wake !== undefined && wake <= bound; k++, wake = nextWakeup(st)) step(me, st, { _tag: 'Tick', at: wake });
    expect(nodeStatus(st).seen).toBe(0);
  });

  it('holds the seen-set at seenMax under a flood of fresh ids', () => {
    const [st] = withPeers(me, [bob, carol]);
    let worst = 0;
    for (let i = 0; i < 500; i++) {
      step(me, st, { _tag: 'BytesReceived', at: T0 + i, conn: a1, bytes: frameFrom(bob.config.id, 0, [0, 'flood', i], T0 + i) });
      worst = Math.max(worst, nodeStatus(st).seen);
    }
    expect(worst).toBe(50);
    // Every id past the bound went before its time, and says so.
    expect(nodeStatus(st).seenForgottenEarly).toBe(450);
    expect(nodeStatus(st).connections).toBe(2);
  });
});
