// Every Reply ends in exactly one ReplySent or one ReplyFailed, whatever happens meanwhile:
// responses or none, dials that succeed, fail or reach the wrong node, peers leaving, time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestId } from '../../src/core/ids.js';
import { step } from '../../src/core/node.js';
import { ConnId, type Effect, type Input, type NodeEvent } from '../../src/core/types.js';
import { caps, frameFrom, handshakeFrom, mkEnv, T0, withPeers } from '../unit/mesh-env.js';
import { propRuns } from './runs.js';

const me = mkEnv(1, { pendingRequestsMax: 1, requestTimeoutMs: 5000, dialTimeoutMs: 2000, handshakeTimeoutMs: 2000 });
const [bob, carol, dave, erin, fred] = [2, 3, 4, 5, 6].map((i) => mkEnv(i)) as [ReturnType<typeof mkEnv>, ...ReturnType<typeof mkEnv>[]];
const targets = [bob, dave!, erin!, fred!, me];
const byHost = new Map([bob, carol!, dave!, erin!, fred!].map((e) => [e.config.outAddr.host, e]));

type Action =
  | { readonly _tag: 'reply'; readonly target: number }
  | { readonly _tag: 'respond'; readonly which: number; readonly via: number }
  | { readonly _tag: 'dialOk'; readonly dial: number; readonly wrong: boolean }
  | { readonly _tag: 'dialFail'; readonly dial: number }
  | { readonly _tag: 'close'; readonly conn: number }
  | { readonly _tag: 'wait'; readonly ms: number }
  | { readonly _tag: 'shutdown' };

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.nat({ max: targets.length - 1 }).map((target) => ({ _tag: 'reply' as const, target })), weight: 4 },
  { arbitrary: fc.record({ which: fc.nat(), via: fc.nat({ max: 1 }) }).map((r) => ({ _tag: 'respond' as const, ...r })), weight: 4 },
  { arbitrary: fc.record({ dial: fc.nat({ max: 5 }), wrong: fc.boolean() }).map((r) => ({ _tag: 'dialOk' as const, ...r })), weight: 3 },
  fc.nat({ max: 5 }).map((dial) => ({ _tag: 'dialFail' as const, dial })),
  fc.nat({ max: 3 }).map((conn) => ({ _tag: 'close' as const, conn })),
  { arbitrary: fc.nat({ max: 3000 }).map((ms) => ({ _tag: 'wait' as const, ms })), weight: 3 },
  fc.constant({ _tag: 'shutdown' as const }),
);

describe('request/response', () => {
  it('every reply ends in exactly one ReplySent or one ReplyFailed', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40, size: 'max' }), (actions) => {
        const [st] = withPeers(me, [bob, carol!]);
        let at = T0;
        let cmd = 0;
        const issued: { to: string; at: number }[] = [];
        const dials: Effect[] = [];
        const outcomes = new Map<number, NodeEvent[]>();
        const feed = (input: Input) => {
          for (const e of step(me, st, input)[1]) {
            if (e._tag === 'Dial') dials.push(e);
            if (e._tag === 'Emit' && (e.event._tag === 'ReplySent' || e.event._tag === 'ReplyFailed')) {
              outcomes.set(e.event.cmd, [...(outcomes.get(e.event.cmd) ?? []), e.event]);
            }
          }
        };
        for (const a of actions) {
          switch (a._tag) {
            case 'reply': {
              const to = targets[a.target]!.config.id;
              issued.push({ to, at });
              feed({ _tag: 'Reply', at, cmd: cmd++, to, packets: ['r'] });
              break;
            }
            case 'respond': {
              if (issued.length === 0) break;
              const r = issued[a.which % issued.length]!;
              const target = targets.find((e) => e.config.id === r.to)!;
              const rid = requestId(caps, r.to, Math.floor(r.at / 1000));
              const from = a.via === 0 ? bob : carol!;
              const bytes = frameFrom(from.config.id, 0, [10, rid, [[target.config.outAddr.host, target.config.outAddr.port], r.to]], at);
              feed({ _tag: 'BytesReceived', at, conn: ConnId(a.via === 0 ? 'a1' : 'a2'), bytes });
              break;
            }
            case 'dialOk': {
              const d = dials[a.dial % Math.max(1, dials.length)];
              if (d === undefined || d._tag !== 'Dial') break;
              const peer = a.wrong ? carol! : byHost.get(d.address.host)!;
              feed({ _tag: 'DialSucceeded', at, conn: d.conn });
              feed({ _tag: 'BytesReceived', at, conn: d.conn, bytes: handshakeFrom(peer, [], peer.config.protocol.id, at) });
              break;
            }
            case 'dialFail': {
              const d = dials[a.dial % Math.max(1, dials.length)];
              if (d !== undefined && d._tag === 'Dial') feed({ _tag: 'DialFailed', at, conn: d.conn, error: { _tag: 'ConnectionRefused', detail: 'x' } });
              break;
            }
            case 'close':
              feed({ _tag: 'ConnectionClosed', at, conn: ConnId(['a1', 'a2', 'd1', 'd2'][a.conn]!), reason: { _tag: 'PeerClosed' } });
              break;
            case 'wait':
              at += a.ms;
              feed({ _tag: 'Tick', at });
              break;
            case 'shutdown':
              feed({ _tag: 'Shutdown', at });
              break;
          }
        }
        at += me.config.requestTimeoutMs;
        feed({ _tag: 'Tick', at });
        for (let c = 0; c < cmd; c++) expect(outcomes.get(c)?.length, `reply ${c}`).toBe(1);
        expect(st.pendingCount).toBe(0);
      }),
      { numRuns: propRuns(400) },
    );
  });
});
