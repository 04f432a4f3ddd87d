/**
 * A tiny in-memory network for a handful of cores: the simulator's precursor, for tests.
 *
 * Owns: a set of nodes, the links between their connections, and per-link FIFO channels of
 * pending inputs. A step takes the head of one channel (the oldest by default, or the one a
 * `choose` function picks, so tests can explore interleavings while each link stays in order)
 * and feeds it to that node's `step`; the effects become inputs for the other end: `Dial` opens
 * a link (ConnectionAccepted at the target, DialSucceeded at the dialler, or DialFailed when
 * nobody listens there), `Write` becomes BytesReceived, `Close` becomes ConnectionClosed.
 * `Deliver` and `Emit` are recorded per node.
 * Invariants: deterministic; no real time (the clock moves only by `advance`); every run is
 * bounded by a step limit.
 * Deliberately not: faults, latency, bandwidth (the simulator's job).
 */
import type { Address, ConnId, DeliveredMessage, Effect, Input, NodeEvent } from './types.js';
import { ConnId as mkConnId } from './types.js';
import { initNode, nextWakeup, step, type Env, type NodeState } from './node.js';

/** One node on the pump. */
export interface PumpNode {
  readonly env: Env;
  state: NodeState;
  readonly delivered: DeliveredMessage[];
  readonly events: NodeEvent[];
  readonly closes: Effect[];
}

interface Item {
  readonly seq: number;
  readonly node: number;
  readonly input: Input;
}

/** The whole in-memory network. */
export interface Pump {
  at: number;
  readonly nodes: PumpNode[];
  /** Channel key (`node|conn`) → pending inputs, in order. */
  readonly channels: Map<string, Item[]>;
  /** `node|conn` → the other end. */
  readonly links: Map<string, { readonly node: number; readonly conn: ConnId }>;
  seq: number;
  acceptSeq: number;
  steps: number;
}

/** A pump over nodes built from `envs`, the clock at `at`. */
export const createPump = (envs: ReadonlyArray<Env>, at: number): Pump => ({
  at,
  nodes: envs.map((env) => ({ env, state: initNode(env, at), delivered: [], events: [], closes: [] })),
  channels: new Map(),
  links: new Map(),
  seq: 0,
  acceptSeq: 0,
  steps: 0,
});

const key = (node: number, conn: ConnId | undefined): string => `${node}|${conn ?? '-'}`;

/** Queue an input for a node (its `at` is replaced by the pump's clock when it is stepped). */
export const inject = (p: Pump, node: number, input: Input): void => {
  const conn = 'conn' in input ? input.conn : undefined;
  const k = key(node, conn);
  const q = p.channels.get(k);
  const item = { seq: p.seq++, node, input };
  if (q === undefined) p.channels.set(k, [item]);
  else q.push(item);
};

const nodeAt = (p: Pump, address: Address): number =>
  p.nodes.findIndex((n) => n.env.config.outAddr.host === address.host && n.env.config.outAddr.port === address.port);

const apply = (p: Pump, from: number, e: Effect): void => {
  const at = p.at;
  switch (e._tag) {
    case 'Dial': {
      const target = nodeAt(p, e.address);
      if (target < 0) {
        inject(p, from, { _tag: 'DialFailed', at, conn: e.conn, error: { _tag: 'ConnectionRefused', detail: 'nobody there' } });
        return;
      }
      const accepted = mkConnId(`a${++p.acceptSeq}`);
      p.links.set(key(from, e.conn), { node: target, conn: accepted });
      p.links.set(key(target, accepted), { node: from, conn: e.conn });
      inject(p, target, { _tag: 'ConnectionAccepted', at, conn: accepted, remote: p.nodes[from]!.env.config.outAddr });
      inject(p, from, { _tag: 'DialSucceeded', at, conn: e.conn });
      return;
    }
    case 'Write': {
      const other = p.links.get(key(from, e.conn));
      if (other !== undefined) inject(p, other.node, { _tag: 'BytesReceived', at, conn: other.conn, bytes: e.bytes });
      return;
    }
    case 'Close': {
      p.nodes[from]!.closes.push(e);
      const other = p.links.get(key(from, e.conn));
      p.links.delete(key(from, e.conn));
      if (other === undefined) return;
      p.links.delete(key(other.node, other.conn));
      inject(p, other.node, { _tag: 'ConnectionClosed', at, conn: other.conn, reason: { _tag: 'PeerClosed' } });
      return;
    }
    case 'Deliver':
      p.nodes[from]!.delivered.push(e.message);
      return;
    case 'Emit':
      p.nodes[from]!.events.push(e.event);
      return;
  }
};

/** Feed one input to a node now and route its effects; returns the effects. */
export const feed = (p: Pump, node: number, input: Input): ReadonlyArray<Effect> => {
  const n = p.nodes[node]!;
  const [state, effects] = step(n.env, n.state, { ...input, at: p.at });
  n.state = state;
  for (const e of effects) apply(p, node, e);
  p.steps++;
  return effects;
};

/** Non-empty channels, oldest head first. */
const readyChannels = (p: Pump): string[] =>
  [...p.channels.entries()].filter(([, q]) => q.length > 0).sort((a, b) => a[1][0]!.seq - b[1][0]!.seq).map(([k]) => k);

/**
 * Deliver queued inputs until none is left or `maxSteps` is reached; `choose(n)` picks which of
 * the n ready channels goes next (default: the oldest). Returns the number of steps taken.
 */
export const run = (p: Pump, maxSteps = 100_000, choose?: (n: number) => number): number => {
  let taken = 0;
  while (taken < maxSteps) {
    const ready = readyChannels(p);
    if (ready.length === 0) break;
    const k = ready[choose === undefined ? 0 : Math.min(ready.length - 1, Math.max(0, choose(ready.length)))]!;
    const q = p.channels.get(k)!;
    const item = q.shift()!;
    if (q.length === 0) p.channels.delete(k);
    feed(p, item.node, item.input);
    taken++;
  }
  return taken;
};

/** Move the clock by `ms` and tick every node whose wake-up is due, then run. */
export const advance = (p: Pump, ms: number, maxSteps = 100_000): number => {
  p.at += ms;
  p.nodes.forEach((n, i) => {
    const due = nextWakeup(n.state);
    if (due !== undefined && due <= p.at) inject(p, i, { _tag: 'Tick', at: p.at });
  });
  return run(p, maxSteps);
};
