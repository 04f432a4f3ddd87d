// ChordSocket on loopback: the dictionary API across three ts2p nodes.
import { afterEach, describe, expect, it } from 'vitest';
import { ChordRequestFailed, ChordSocket } from '../../src/shell/api/chord.js';
import { Ts2pError } from '../../src/shell/api/errors.js';
import { within } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const node = async (): Promise<ChordSocket> => {
  const s = new ChordSocket({ host: '127.0.0.1', debugLevel: 'silent' });
  cleanups.push(() => s.close());
  await within(s.ready, 'listen');
  return s;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ChordSocket', () => {
  it('refuses chord bounds it does not have, or out of range, before anything starts', () => {
    const bad = [
      { peersmax: 3 },
      { peersMax: -1 },
      { getTimeoutMs: NaN },
      { voteQuorum: 0 },
      { voteQuorum: 6 },
      { voteQuorum: 2.5 },
      // a hand-over batch must fit below the send queue bound (8 MiB by default)
      { handoffBatchBytes: 0 },
      { handoffBatchBytes: 8 * 1024 * 1024 },
    ];
    for (const chord of bad) {
      expect(() => new ChordSocket({ host: '127.0.0.1', debugLevel: 'silent', chord: chord as never }), JSON.stringify(chord)).toThrow(expect.objectContaining({ code: 'BadArgument' }));
    }
  });

  it('offers the dictionary API across a three-node ring', async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    await expect(a.get('x')).rejects.toMatchObject({ code: 'NotJoined' });
    await Promise.all([a.join(), b.join(), c.join()]);
    await a.connect('127.0.0.1', b.port);
    await a.connect('127.0.0.1', c.port);
    await b.connect('127.0.0.1', c.port).catch(() => undefined);
    const storing = (s: ChordSocket): number => (s.status as { storingPeers: number }).storingPeers;
    for (let t = 0; t < 100 && [a, b, c].some((s) => storing(s) < 2); t++) await sleep(50);
    // The wait above is bounded; a ring that never formed fails here, not in a later step.
    for (const s of [a, b, c]) expect(storing(s), s.id).toBeGreaterThanOrEqual(2);

    // The ring as each node sees it: every node's own point is owned by that node, and next/prev
    // are the neighbours in ring order (three nodes: next below, prev above, wrapping round).
    const sorted = [a, b, c].sort((x, y) => (x.position! < y.position! ? -1 : 1));
    sorted.forEach((s, i) => {
      for (const t of [a, b, c]) expect(s.find(t.position!)).toBe(t.id);
      expect(s.findPrev(s.position! + 1n)).toBe(sorted[(i + 1) % 3]!.id);
      expect(s.nextPeer).toBe(sorted[(i + 2) % 3]!.id);
      expect(s.prevPeer).toBe(sorted[(i + 1) % 3]!.id);
    });

    await a.update({ one: 1, two: 'zwei', three: new Map([['k', true]]) });
    await sleep(200);
    expect(await within(b.get('one'), 'get')).toBe(1);
    expect(await within(c.get('two'), 'get')).toBe('zwei');
    expect(await within(c.get('missing', 'fallback'), 'get with fallback')).toBe('fallback');
    const missing = await c.get('missing').then(
      () => undefined,
      (e: unknown) => e,
    );
    // A chord failure is a ts2p error like every other the API rejects with.
    expect(missing).toBeInstanceOf(ChordRequestFailed);
    expect(missing).toBeInstanceOf(Ts2pError);
    expect(missing).toMatchObject({ code: 'NotFound', name: 'ChordRequestFailed', message: 'key not found' });
    expect([...c.keys()].sort()).toEqual(['one', 'three', 'two']);
    expect(new Set(await within(a.values(), 'values'))).toEqual(new Set([1, 'zwei', new Map([['k', true]])]));
    expect((await within(b.copy(), 'copy')).size).toBe(3);

    expect(await within(c.applyDelta('three', { extra: 2 }), 'applyDelta')).toEqual(new Map<unknown, unknown>([['k', true], ['extra', 2]]));
    await sleep(200);
    expect(await within(a.get('three'), 'get merged')).toEqual(new Map<unknown, unknown>([['k', true], ['extra', 2]]));

    expect(await within(b.pop('one'), 'pop')).toBe(1);
    await sleep(200);
    await expect(a.get('one')).rejects.toMatchObject({ code: 'NotFound' });
    // popitem takes one of the two keys left, with that key's own value; the other stays.
    const remaining = new Map<string, unknown>([
      ['two', 'zwei'],
      ['three', new Map<unknown, unknown>([['k', true], ['extra', 2]])],
    ]);
    const [key, value] = await within(a.popitem(), 'popitem');
    expect([...remaining.keys()]).toContain(key);
    expect(value).toEqual(remaining.get(key as string));
    remaining.delete(key as string);

    // dumpData: every table entry held somewhere, 5 for the one remaining key.
    await sleep(200);
    const held = [a, b, c].reduce((n, s) => n + Object.values(s.dumpData()).reduce((m, t) => m + t.size, 0), 0);
    expect(held).toBe(5);
    // unjoin hands a's items to the others; the key still reads back.
    await a.unjoin();
    await sleep(300);
    expect(Object.values(a.dumpData()).reduce((m, t) => m + t.size, 0)).toBe(0);
    const [left, leftValue] = [...remaining][0]!;
    expect(await within(b.get(left), 'get after unjoin')).toEqual(leftValue);
  }, 20_000);
});
