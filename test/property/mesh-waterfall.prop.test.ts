// The waterfall delivers each broadcast at most once and never relays to its originator, however
// copies of it arrive: duplicated, reordered, on any link, interleaved with other broadcasts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPump, inject, run } from '../../src/core/pump.js';
import { routingTable } from '../../src/core/node.js';
import { addr, frameFrom, go, mkEnv, msgOf, T0, withPeers } from '../unit/mesh-env.js';
import { latin1 } from '../../src/core/ids.js';
import { messageId } from '../../src/core/wire/packets.js';
import { propRuns } from './runs.js';

const me = mkEnv(1);
const peers = [2, 3, 4, 5].map((i) => mkEnv(i));
const far = [6, 7].map((i) => mkEnv(i));
const senders = [...peers, ...far].map((e) => e.config.id);

describe('waterfall properties', () => {
  it('one node: at most once, exactly once when fresh, never back to the originator', () => {
    const arrival = fc.record({
      msg: fc.nat({ max: 7 }),
      conn: fc.nat({ max: 3 }),
      dtMs: fc.nat({ max: 2000 }),
    });
    fc.assert(
      fc.property(fc.array(arrival, { maxLength: 40 }), (arrivals) => {
        const [st, conns] = withPeers(me, peers);
        const msgs = Array.from({ length: 8 }, (_, i) => ({ sender: senders[i % senders.length]!, payload: [0, `m${i}`] }));
        const delivered: string[] = [];
        let at = T0;
        for (const a of arrivals) {
          at += a.dtMs;
          const m = msgs[a.msg]!;
          const fx = go(me, st, { _tag: 'BytesReceived', at, conn: conns[a.conn]!, bytes: frameFrom(m.sender, 0, m.payload) });
          for (const e of fx) {
            if (e._tag === 'Deliver') delivered.push(latin1(e.message.id));
            if (e._tag === 'Write') {
              const to = routingTable(st).find((r) => r.conn === e.conn)!.id;
              expect(to).not.toBe(m.sender);
              expect(e.conn).not.toBe(conns[a.conn]);
            }
          }
        }
        expect(new Set(delivered).size).toBe(delivered.length);
        // Within 60 s nothing expires, so every distinct message that arrived was delivered.
        const sent = new Set(arrivals.map((a) => latin1(messageId(msgOf(msgs[a.msg]!.sender, 0, msgs[a.msg]!.payload)))));
        expect(new Set(delivered)).toEqual(sent);
      }),
      { numRuns: propRuns(200) },
    );
  });

  it('a mesh of cores under any interleaving: every node delivers each broadcast exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 400 }),
        (origins, picks) => {
          const envs = [1, 2, 3, 4, 5].map((i) => mkEnv(i));
          const p = createPump(envs, T0);
          for (let i = 1; i < 5; i++) {
            inject(p, i, { _tag: 'Connect', at: T0, cmd: i, address: addr(1) });
            run(p, 10_000);
          }
          origins.forEach((o, k) => inject(p, o, { _tag: 'Send', at: T0, packets: [`b${k}`], flag: 0, type: 0 }));
          let i = 0;
          run(p, 100_000, (n) => (picks.length === 0 ? 0 : picks[i++ % picks.length]! % n));
          envs.forEach((_, n) => {
            const got = p.nodes[n]!.delivered.map((m) => m.packets[1]).sort();
            const want = origins.flatMap((o, k) => (o === n ? [] : [`b${k}`])).sort();
            expect(got).toEqual(want);
          });
        },
      ),
      { numRuns: propRuns(60) },
    );
  });
});
