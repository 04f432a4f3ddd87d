/**
 * Interop with live js2p 0.7.870 nodes on loopback: handshakes in both directions, broadcast,
 * whisper and reply both ways, and a mixed four-node mesh (ts2p, js2p, ts2p, js2p) where every
 * broadcast reaches every node exactly once — over TCP and over TLS; and a ts2p reply routed to a
 * node two hops away through a js2p node's request handling.
 *
 * Allowances (PROTOCOL.md §11): js2p's connect() makes at most one loopback connection once it has
 * a peer, so js2p dials before it has peers and otherwise is dialled; js2p stamps a broadcast per
 * link, so copies of a js2p broadcast that carry a different timestamp are not counted as
 * duplicates (copies with the same timestamp are).
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import { AlreadyConnected } from '../../src/shell/api/errors.js';
import type { NodeId } from '../../src/core/types.js';
import { waitUntil, within } from '../shell/helpers.js';
import { closeJs, startJsMesh, type JsMesh } from '../../bench/js2p.js';

/** A uniform view of either kind of node for the tests. */
interface Peer {
  readonly kind: 'ts2p' | 'js2p';
  readonly id: string;
  readonly port: number;
  /** Every user message received: sender, payload (with sub-flag), time. */
  readonly got: Array<{ sender: string; packets: unknown[]; time: number; reply: (text: string) => unknown }>;
  readonly changed: EventEmitter;
  broadcast(text: string): void;
  routes(id: string): boolean;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tsPeer = async (ssl: boolean, outgoingMax?: number): Promise<Peer & { socket: MeshSocket }> => {
  const socket = new MeshSocket({
    host: '127.0.0.1',
    debugLevel: 'silent',
    protocol: { subnet: 'mesh', encryption: ssl ? 'SSL' : 'Plaintext' },
    ...(outgoingMax === undefined ? {} : { limits: { outgoingMax } }),
  });
  cleanups.push(() => socket.close());
  await within(socket.ready, 'ts2p listen');
  const changed = new EventEmitter();
  const got: Peer['got'] = [];
  socket.on('message', () => {
    for (let m = socket.recv(); m !== undefined; m = socket.recv()) {
      const msg = m;
      got.push({ sender: m.sender, packets: [...m.packets], time: m.time, reply: (text) => msg.reply(text) });
    }
    changed.emit('change');
  });
  socket.on('peer-joined', () => changed.emit('change'));
  return {
    kind: 'ts2p',
    id: socket.id,
    port: socket.port,
    got,
    changed,
    socket,
    broadcast: (text) => socket.send(text),
    routes: (id) => socket.routingTable.some((p) => p.id === id),
  };
};

const jsPeer = async (ssl: boolean): Promise<Peer & { node: JsMesh }> => {
  const { node, port } = await startJsMesh(ssl);
  cleanups.push(() => closeJs(node));
  const changed = new EventEmitter();
  const got: Peer['got'] = [];
  node.on('message', () => {
    for (let m = node.recv(); m !== undefined; m = node.recv()) {
      const msg = m;
      got.push({ sender: m.sender.toString(), packets: m.packets, time: m.time, reply: (text) => msg.reply([text]) });
    }
    changed.emit('change');
  });
  return {
    kind: 'js2p',
    id: node.id,
    port,
    got,
    changed,
    node,
    broadcast: (text) => node.send([text]),
    routes: (id) => [...node.routing_table.keys()].some((k) => String(k) === id),
  };
};

/** Waits until `p` routes `id`; js2p has no join event, so its table is polled on a short timer. */
const routed = async (p: Peer, id: string, what: string): Promise<void> => {
  if (p.kind === 'ts2p') return waitUntil(p.changed, ['change'], () => p.routes(id), what);
  const poll = setInterval(() => p.changed.emit('poll'), 10);
  try {
    await waitUntil(p.changed, ['poll', 'change'], () => p.routes(id), what);
  } finally {
    clearInterval(poll);
  }
};

const connectTs = async (from: MeshSocket, to: Peer): Promise<void> => {
  await within(
    from.connect('127.0.0.1', to.port).catch((e: unknown) => {
      if (!(e instanceof AlreadyConnected)) throw e;
      return to.id as NodeId;
    }),
    `ts2p connect to ${to.kind}`,
  );
};

const twoWay = (ssl: boolean) => async (direction: 'ts dials js' | 'js dials ts') => {
  const t = await tsPeer(ssl);
  const j = await jsPeer(ssl);
  if (direction === 'ts dials js') expect(await within(t.socket.connect('127.0.0.1', j.port), 'connect')).toBe(j.id);
  else j.node.connect('127.0.0.1', t.port);
  await routed(t, j.id, 'ts2p to route js2p');
  await routed(j, t.id, 'js2p to route ts2p');

  // broadcast both ways
  t.broadcast('from ts');
  await waitUntil(j.changed, ['change'], () => j.got.length >= 1, 'js2p to get the broadcast');
  expect(j.got[0]).toMatchObject({ sender: t.id, packets: [0, 'from ts'] });
  j.broadcast('from js');
  await waitUntil(t.changed, ['change'], () => t.got.length >= 1, 'ts2p to get the broadcast');
  expect(t.got[0]).toMatchObject({ sender: j.id, packets: [0, 'from js'] });

  // whisper both ways
  t.socket.send('quiet ts', { flag: 0x02, type: 0x02 });
  await waitUntil(j.changed, ['change'], () => j.got.length >= 2, 'js2p to get the whisper');
  expect(j.got[1]).toMatchObject({ sender: t.id, packets: [2, 'quiet ts'] });
  j.node.send(['quiet js'], 0x02, 0x02);
  await waitUntil(t.changed, ['change'], () => t.got.length >= 2, 'ts2p to get the whisper');
  expect(t.got[1]).toMatchObject({ sender: j.id, packets: [2, 'quiet js'] });

  // reply both ways, each to the other's broadcast
  await within(Promise.resolve(t.got[0]!.reply('ts answers')), 'ts2p reply to be sent');
  await waitUntil(j.changed, ['change'], () => j.got.length >= 3, 'js2p to get ts2p’s reply');
  expect(j.got[2]).toMatchObject({ sender: t.id, packets: [2, 'ts answers'] });
  j.got[0]!.reply('js answers');
  await waitUntil(t.changed, ['change'], () => t.got.length >= 3, 'ts2p to get js2p’s reply');
  expect(t.got[2]).toMatchObject({ sender: j.id, packets: [2, 'js answers'] });
};

describe('ts2p ↔ js2p 0.7.870 on loopback', () => {
  for (const ssl of [false, true]) {
    const label = ssl ? 'TLS' : 'TCP';
    it(`${label}: ts2p dials js2p`, () => twoWay(ssl)('ts dials js'), 15_000);
    it(`${label}: js2p dials ts2p`, () => twoWay(ssl)('js dials ts'), 15_000);
  }
});

/** Copies of one broadcast at a node: for js2p senders, copies stamped with another second are allowed. */
const copies = (p: Peer, sender: Peer, text: string): { count: number; sameStamp: number } => {
  const hits = p.got.filter((g) => g.sender === sender.id && g.packets[0] === 0 && g.packets[1] === text);
  const stamps = new Set(hits.map((h) => h.time));
  return { count: hits.length, sameStamp: hits.length - stamps.size };
};

const fourNodeMesh = async (ssl: boolean): Promise<void> => {
  const t1 = await tsPeer(ssl);
  const j1 = await jsPeer(ssl);
  const t2 = await tsPeer(ssl);
  const j2 = await jsPeer(ssl);
  // js2p dials only before it has peers (§11): j1 → j2 first, then the ts2p nodes dial everyone.
  j1.node.connect('127.0.0.1', j2.port);
  await routed(j1, j2.id, 'j1 to route j2');
  await routed(j2, j1.id, 'j2 to route j1');
  for (const to of [j1, j2]) await connectTs(t1.socket, to);
  for (const to of [j1, j2, t1]) await connectTs(t2.socket, to);
  const nodes: Peer[] = [t1, j1, t2, j2];
  for (const a of nodes) for (const b of nodes) if (a !== b) await routed(a, b.id, `${a.kind} ${a.port} to route ${b.kind} ${b.port}`);

  for (const [i, n] of nodes.entries()) n.broadcast(`hello from ${i}`);
  // A second round marks the end of the first: once every marker is in, no first-round copy is still on its way.
  for (const [i, n] of nodes.entries()) n.broadcast(`end ${i}`);
  for (const n of nodes)
    await waitUntil(n.changed, ['change'], () => nodes.every((o, i) => o === n || copies(n, o, `end ${i}`).count > 0), `${n.kind} ${n.port} to see every marker`);

  for (const n of nodes)
    for (const [i, o] of nodes.entries()) {
      if (o === n) continue;
      const c = copies(n, o, `hello from ${i}`);
      expect(c.count, `${n.kind}:${n.port} copies of ${o.kind}:${o.port}'s broadcast`).toBeGreaterThanOrEqual(1);
      if (o.kind === 'ts2p') expect(c.count, `${n.kind}:${n.port} copies of ts2p ${o.port}'s broadcast`).toBe(1);
      else expect(c.sameStamp, `${n.kind}:${n.port} same-stamp copies of js2p ${o.port}'s broadcast`).toBe(0);
    }
  // ts2p never delivers its own broadcast back to itself
  for (const n of [t1, t2]) expect(n.got.filter((g) => g.sender === n.id)).toEqual([]);
};

describe('mixed four-node mesh (ts2p, js2p, ts2p, js2p)', () => {
  it('TCP: every broadcast reaches every node exactly once', () => fourNodeMesh(false), 20_000);
  it('TLS: every broadcast reaches every node exactly once', () => fourNodeMesh(true), 20_000);
});

describe('a ts2p reply routed through a js2p node', () => {
  it('finds its target through js2p’s request handling and delivers', async () => {
    // T1 — J — T2, and the ts2p nodes do not mesh from peer lists.
    const j = await jsPeer(false);
    const t1 = await tsPeer(false, 0);
    const t2 = await tsPeer(false, 0);
    await connectTs(t1.socket, j);
    await connectTs(t2.socket, j);
    await routed(j, t1.id, 'js2p to route t1');
    await routed(j, t2.id, 'js2p to route t2');
    expect(t1.routes(t2.id)).toBe(false);
    t2.broadcast('anyone?');
    await waitUntil(t1.changed, ['change'], () => t1.got.some((g) => g.packets[1] === 'anyone?'), 't1 to get t2’s broadcast through js2p');
    const outcome = await within(Promise.resolve(t1.got.find((g) => g.packets[1] === 'anyone?')!.reply('t1 here')), 'the routed reply', 10_000);
    expect(outcome).toEqual({ routed: true });
    await waitUntil(t2.changed, ['change'], () => t2.got.some((g) => g.packets[1] === 't1 here'), 't2 to get the routed reply');
    expect(t2.got.find((g) => g.packets[1] === 't1 here')).toMatchObject({ sender: t1.id, packets: [2, 't1 here'] });
  }, 20_000);
});
