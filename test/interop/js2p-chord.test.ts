/**
 * Chord interop with live js2p 0.7.870 ChordSockets on loopback: a mixed ring of two ts2p and two
 * js2p nodes, all joined and fully connected; a value set on ts2p is read on js2p, one set on
 * js2p is read on ts2p, and a deletion on ts2p is seen by the other ts2p node.
 *
 * Allowances (PROTOCOL.md §5, §11): js2p chord works for 2–4 fully connected nodes only (no
 * multi-hop lookup, and a js2p node with 4 outgoing connections throws `distance is not defined`),
 * so the ring is four nodes, fully connected, and js2p dials only before it has peers (its
 * connect() refuses a second loopback peer). js2p's get settles for 2 agreeing tables (its
 * most_common bug) and a missing key ends in a timeout, so only present keys are read on js2p.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChordSocket } from '../../src/shell/api/chord.js';
import { within } from '../shell/helpers.js';
import { closeJs, startJsChord, type JsChord } from '../../bench/js2p.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms until it holds, at most `ms`. */
const until = async (check: () => boolean, what: string, ms = 5000): Promise<void> => {
  for (let t = 0; t < ms; t += 50) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
};

const tsNode = async (): Promise<ChordSocket> => {
  const s = new ChordSocket({ host: '127.0.0.1', debugLevel: 'silent' });
  cleanups.push(() => s.close());
  await within(s.ready, 'ts2p listen');
  return s;
};

const jsNode = async (): Promise<{ node: JsChord; port: number }> => {
  const { node, port } = await startJsChord();
  cleanups.push(() => closeJs(node));
  return { node, port };
};

describe('chord interop with js2p', () => {
  it('a mixed ring of two ts2p and two js2p nodes: values set on either side are read on the other', async () => {
    const [a, b] = [await tsNode(), await tsNode()];
    const [x, y] = [await jsNode(), await jsNode()];
    x.node.join();
    y.node.join();
    await a.join();
    await b.join();
    x.node.connect('127.0.0.1', y.port);
    await until(() => x.node.routing_table.size === 1, 'js2p x–y');
    // A ts2p node may already have dialled a node it heard of in a peers list (AlreadyConnected).
    const link = (s: ChordSocket, port: number): Promise<unknown> => s.connect('127.0.0.1', port).catch((e: Error) => expect(e.name).toBe('AlreadyConnected'));
    await link(a, x.port);
    await link(a, y.port);
    await link(b, x.port);
    await link(b, y.port);
    await link(a, b.port);
    await until(() => x.node.routing_table.size === 3 && y.node.routing_table.size === 3, 'js2p fully connected');
    // Every node knows the other three store.
    await until(() => (a.status as { storingPeers: number }).storingPeers === 3 && (b.status as { storingPeers: number }).storingPeers === 3, 'ts2p sees 3 storing peers');
    await sleep(300);

    await a.set('from-ts2p', 'hello js2p');
    x.node.set('from-js2p', 'hello ts2p');
    await sleep(300);
    expect(await within(x.node.get('from-ts2p'), 'js2p x get', 8000)).toBe('hello js2p');
    expect(await within(y.node.get('from-ts2p'), 'js2p y get', 8000)).toBe('hello js2p');
    expect(await within(b.get('from-js2p'), 'ts2p b get', 8000)).toBe('hello ts2p');
    expect(await within(a.get('from-js2p'), 'ts2p a get', 8000)).toBe('hello ts2p');

    // An update on js2p reaches ts2p; a deletion on ts2p is seen on ts2p.
    y.node.set('from-ts2p', 'changed by js2p');
    await sleep(300);
    expect(await within(b.get('from-ts2p'), 'ts2p get after js2p update', 8000)).toBe('changed by js2p');
    await b.delete('from-ts2p');
    await sleep(300);
    expect(await within(a.get('from-ts2p', 'gone'), 'ts2p get after delete', 8000)).toBe('gone');
  }, 30_000);
});
