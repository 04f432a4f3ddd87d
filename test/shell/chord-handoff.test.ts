// ChordSocket on loopback: a node holding far more than a peer's send queue takes hands items over
// (to a peer that starts storing, and on unjoin) without the peer being dropped as slow and
// without losing what was handed over; and a user's sets, each done once its stores have left,
// do not overflow the queue either.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ChordSocket } from '../../src/shell/api/chord.js';
import * as E from 'fp-ts/lib/Either.js';
import { distance, nodePosition } from '../../src/core/chord/ring.js';
import { footprint } from '../../src/core/wire/footprint.js';
import { packValue } from '../../src/core/wire/msgpack.js';
import { within } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

// Each send queue holds 256 KiB (room for a get's five answers); the node holds 200 values of 5 kB
// in each of its five tables (5 MB), so what it hands over is many times what a queue holds.
const QUEUE = 256 * 1024;
const KEYS = 200;
const node = async (): Promise<ChordSocket> => {
  const s = new ChordSocket({ host: '127.0.0.1', debugLevel: 'silent', sendQueueBytesMax: QUEUE });
  cleanups.push(() => s.close());
  await within(s.ready, 'listen');
  return s;
};

interface Status {
  readonly storingPeers: number;
  readonly storeBytes: number;
  readonly handingOver: number;
  readonly closedByReason: Readonly<Record<string, number>>;
  readonly chord: { readonly migrated: number };
}
const status = (s: ChordSocket): Status => s.status as Status;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until `done` holds; false if it never did. */
const until = async (done: () => boolean, ms = 15_000): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (done()) return true;
  return done();
};

// Random, so compression cannot shrink them under the queue bound.
const values = Array.from({ length: KEYS }, (_, i) => `${i}:${randomBytes(4_000).toString('base64')}`);

/** How many keys `s` reads back with the value set. */
const readable = async (s: ChordSocket): Promise<number> => {
  let ok = 0;
  for (let i = 0; i < KEYS; i++) if ((await s.get(`k${i}`, null)) === values[i]) ok++;
  return ok;
};

/** Bytes of `a`'s tables that a node at `id` would own once both store (positions and sizes from a's own tables). */
const shareOf = (a: ChordSocket, id: string): number => {
  const pa = position(a.id);
  const pb = position(id);
  let bytes = 0;
  for (const table of Object.values(a.dumpData())) {
    for (const [key58, value] of table) {
      const k = position(key58);
      if (distance(pb, k) < distance(pa, k)) bytes += footprint(value, packValue(value).length);
    }
  }
  return bytes;
};
const position = (text: string): bigint => {
  const p = nodePosition(text);
  if (E.isLeft(p)) throw new Error(p.left._tag);
  return p.right;
};

/**
 * A joined node holding every value in all five tables, and a second node (not yet connected) that
 * will own more than four send queues' worth of it: node ids are random, so candidates that would
 * own less are closed and another is made (bounded).
 */
const pair = async (): Promise<{ a: ChordSocket; b: ChordSocket; held: number }> => {
  const a = await node();
  await a.join();
  for (let i = 0; i < KEYS; i++) await a.set(`k${i}`, values[i]!);
  const held = status(a).storeBytes;
  for (let tries = 0; tries < 20; tries++) {
    const b = await node();
    if (shareOf(a, b.id) > 4 * QUEUE) {
      await b.join();
      return { a, b, held };
    }
    await b.close();
  }
  throw new Error('no node id owning enough of the ring in 20 tries');
};

describe('handing items over on loopback', () => {
  it('migrates megabytes to a peer that starts storing, in paced batches, with nothing lost', { timeout: 60_000 }, async () => {
    const { a, b, held } = await pair();
    const share = shareOf(a, b.id);
    await b.connect('127.0.0.1', a.port);
    expect(await until(() => status(a).chord.migrated > 0 && status(a).handingOver === 0)).toBe(true);
    // what left a arrives at b: every byte is held once, by one of them, b holding its share
    expect(await until(() => status(b).storeBytes === share)).toBe(true);
    expect(status(a).storeBytes).toBe(held - share);
    expect(status(a).closedByReason).toEqual({});
    expect(status(b).closedByReason).toEqual({});
    expect(await readable(a)).toBe(KEYS);
    expect(await readable(b)).toBe(KEYS);
  });

  it('hands everything to the ring on unjoin, in paced batches, with nothing lost', { timeout: 60_000 }, async () => {
    const { a, b, held } = await pair();
    await b.connect('127.0.0.1', a.port);
    // b's share has moved over (as in the test above)
    expect(await until(() => status(a).chord.migrated > 0 && status(a).handingOver === 0 && status(a).storeBytes + status(b).storeBytes === held)).toBe(true);
    await a.unjoin();
    expect(await until(() => status(a).handingOver === 0 && status(a).storeBytes === 0)).toBe(true);
    expect(await until(() => status(b).storeBytes === held)).toBe(true);
    expect(status(a).closedByReason).toEqual({});
    expect(status(b).closedByReason).toEqual({});
    expect(await readable(b)).toBe(KEYS);
    expect(await readable(a)).toBe(KEYS);
  });

  it('a set is done once its stores have left, or fails: sets flooding a send queue lose nothing silently', { timeout: 60_000 }, async () => {
    const a = await node();
    const b = await node();
    await a.join();
    await b.join();
    await b.connect('127.0.0.1', a.port);
    expect(await until(() => status(a).storingPeers === 1 && status(b).storingPeers === 1)).toBe(true);
    // 5 MB of sets at once into 256 KiB queues: the peer is dropped as slow part way
    const results = await Promise.allSettled(values.map((v, i) => a.set(`k${i}`, v)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code?: string }] : []));
    for (const e of failed) expect(e.code).toBe('Disconnected');
    // every set reported done reads back, once the two are linked again
    expect(await until(() => status(a).storingPeers === 1 && status(b).storingPeers === 1)).toBe(true);
    let missing = 0;
    for (let i = 0; i < KEYS; i++) if (results[i]!.status === 'fulfilled' && (await a.get(`k${i}`, null)) !== values[i]) missing++;
    expect(missing).toBe(0);
  });
});
