/**
 * Invariants of a simulated network, checked as it runs (safety) and after it settles
 * (liveness). They read only what the simulation observes: commands issued, messages delivered,
 * routing tables, links going down and faults.
 *
 * Safety, after every step: no node (incarnation) delivers a message id twice; nothing is
 * delivered that no node sent; a whisper reaches only its target; no routing table holds a node
 * of another subnet.
 * Liveness (`BroadcastReach`): a broadcast reaches every node that stayed connected to its
 * sender, through links and nodes undisturbed while it spread.
 */
import { timeSeconds } from '../../core/ids.js';
import type { NodeId } from '../../core/types.js';
import type { Fault } from './faults.js';
import { idHex, keyOf, stampedKey } from './stats.js';
import type { Observation, Simulation } from './simulation.js';

/** A broken invariant. */
export interface Violation {
  readonly at: number;
  readonly node: string;
  readonly what: string;
}

/** Thrown by a monitor set to fail fast. */
export class InvariantViolated extends Error {
  /** The broken invariant. */
  constructor(readonly violation: Violation) {
    super(`at ${violation.at} ms on ${violation.node}: ${violation.what}`);
    this.name = 'InvariantViolated';
  }
}

/** Watches a simulation and records (or throws on) every safety violation, step by step. */
export class SafetyMonitor {
  /** What went wrong, in order. */
  readonly violations: Violation[] = [];
  private readonly sent = new Set<string>();
  /** Whisper key → the ids it was sent to (`*`: any direct peer). */
  private readonly whispers = new Map<string, Set<string>>();
  private readonly seen = new Set<string>();

  /** Starts watching `sim`; with `failFast` the first violation throws out of the step. */
  constructor(
    private readonly sim: Simulation,
    private readonly failFast = false,
  ) {
    sim.observe((o) => this.on(o));
  }

  private on(o: Observation): void {
    switch (o._tag) {
      case 'Command':
        return this.onCommand(o);
      case 'Delivered':
        return this.onDelivered(o.delivery);
      case 'Step':
        return this.checkSubnets(o.node, o.at);
      default:
        return;
    }
  }

  private onCommand(o: Extract<Observation, { _tag: 'Command' }>): void {
    const me = this.sim.node(o.node).id;
    const c = o.command;
    if (c._tag === 'Broadcast') this.sent.add(keyOf(me, [c.type ?? 0, ...c.packets]));
    else if (c._tag === 'Send') {
      const key = keyOf(me, [c.type, ...c.packets]);
      this.sent.add(key);
      if (c.flag === 2) this.targets(key).add('*');
    } else if (c._tag === 'Whisper') {
      const key = keyOf(me, [2, ...c.packets]);
      this.sent.add(key);
      this.targets(key).add(c.to);
    }
  }

  private targets(key: string): Set<string> {
    let t = this.whispers.get(key);
    if (t === undefined) this.whispers.set(key, (t = new Set()));
    return t;
  }

  private onDelivered(d: Extract<Observation, { _tag: 'Delivered' }>['delivery']): void {
    const m = d.message;
    const once = `${d.node}#${d.incarnation}#${idHex(m.id)}`;
    if (this.seen.has(once)) this.fail(d.at, d.node, `delivered message ${idHex(m.id)} twice`);
    this.seen.add(once);
    const key = keyOf(m.sender, m.packets);
    if (!this.sent.has(key)) this.fail(d.at, d.node, `delivered a message nobody sent: ${key}`);
    if (m.msgType === 2) {
      const t = this.whispers.get(key);
      const me = this.sim.node(d.node).id;
      if (t !== undefined && !t.has('*') && !t.has(me)) this.fail(d.at, d.node, `received a whisper meant for ${[...t].join(', ')}`);
    }
  }

  private checkSubnets(node: string, at: number): void {
    const subnet = this.sim.node(node).subnet;
    for (const p of this.sim.routingTable(node)) {
      const other = this.sim.nameOf(p.id);
      if (other === undefined) this.fail(at, node, `routes to an unknown node ${p.id}`);
      else if (this.sim.node(other).subnet !== subnet) this.fail(at, node, `joined ${other} of subnet ${this.sim.node(other).subnet}`);
    }
  }

  private fail(at: number, node: string, what: string): void {
    const v = { at, node, what };
    this.violations.push(v);
    if (this.failFast) throw new InvariantViolated(v);
  }
}

/** The connected components of the routing graph (edges routed both ways), as name lists. */
export const components = (sim: Simulation): ReadonlyArray<ReadonlyArray<string>> => {
  const names = sim.names().filter((n) => sim.node(n).alive);
  const adj = new Map<string, Set<string>>(names.map((n) => [n, new Set(sim.peersOf(n))]));
  const done = new Set<string>();
  const out: string[][] = [];
  for (const start of names) {
    if (done.has(start)) continue;
    const comp: string[] = [];
    const todo = [start];
    done.add(start);
    for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
      comp.push(x);
      for (const y of adj.get(x) ?? []) {
        if (!done.has(y) && adj.get(y)?.has(x) === true) {
          done.add(y);
          todo.push(y);
        }
      }
    }
    out.push(comp.sort());
  }
  return out;
};

/** Hop distances from `from` over the routing graph (edges routed both ways). */
export const hops = (sim: Simulation, from: string): ReadonlyMap<string, number> => {
  const dist = new Map<string, number>([[from, 0]]);
  const todo = [from];
  for (let i = 0; i < todo.length; i++) {
    const x = todo[i] as string;
    for (const y of sim.peersOf(x)) {
      if (!dist.has(y) && sim.node(y).alive && sim.peersOf(y).includes(x)) {
        dist.set(y, (dist.get(x) ?? 0) + 1);
        todo.push(y);
      }
    }
  }
  return dist;
};

interface Edge {
  readonly a: string;
  readonly b: string;
  readonly link: number;
}

interface Tracked {
  readonly at: number;
  readonly sender: string;
  readonly senderId: NodeId;
  readonly key: string;
  readonly edges: ReadonlyArray<Edge>;
  readonly incarnations: ReadonlyMap<string, number>;
}

interface Disturbance {
  readonly from: number;
  to: number;
  readonly hits: (a: string, b: string) => boolean;
}

/**
 * Liveness of broadcasts under faults: every node reachable from the sender, at send time,
 * through routing-table links that then stayed up, uncut and unheld, between nodes that stayed
 * up and unpaused for `spreadMs`, must deliver the broadcast.
 */
export class BroadcastReach {
  private readonly tracked: Tracked[] = [];
  private readonly linkDown = new Map<number, number>();
  private readonly disturbances: Disturbance[] = [];
  private readonly open = new Map<string, Disturbance>();

  /** Starts watching; `spreadMs` is how long a broadcast is given to spread. */
  constructor(
    private readonly sim: Simulation,
    private readonly spreadMs: number,
  ) {
    sim.observe((o) => this.on(o));
  }

  private on(o: Observation): void {
    if (o._tag === 'LinkDown') {
      if (!this.linkDown.has(o.link)) this.linkDown.set(o.link, o.at);
    } else if (o._tag === 'Fault') this.onFault(o.fault, o.at);
    else if (o._tag === 'Command' && o.command._tag === 'Broadcast') this.track(o.node, o.at, o.input.at, [o.command.type ?? 0, ...o.command.packets]);
  }

  /**
   * A broadcast to watch, known by its sender, payload and stamp (the sender's clock in seconds
   * when it went out): what its message id is made of, so a payload sent again later is another
   * broadcast, and one sent again in the same second is the same message.
   */
  private track(sender: string, at: number, clockMs: number, packets: Parameters<typeof keyOf>[1]): void {
    const sim = this.sim;
    const senderId = sim.node(sender).id;
    const edges: Edge[] = [];
    const incarnations = new Map<string, number>();
    for (const a of sim.names()) {
      const va = sim.node(a);
      if (!va.alive) continue;
      incarnations.set(a, va.incarnation);
      for (const p of sim.routingTable(a)) {
        const b = sim.nameOf(p.id);
        if (b === undefined || b <= a) continue;
        const back = sim.routingTable(b).find((q) => q.id === va.id);
        const link = sim.linkOf(a, p.conn);
        if (back !== undefined && link !== undefined && sim.linkOf(b, back.conn) === link) edges.push({ a, b, link });
      }
    }
    this.tracked.push({ at, sender, senderId, key: stampedKey(keyOf(senderId, packets), timeSeconds(clockMs)), edges, incarnations });
  }

  private onFault(f: Fault, at: number): void {
    const add = (key: string, hits: (a: string, b: string) => boolean): void => {
      const d: Disturbance = { from: at, to: Infinity, hits };
      this.disturbances.push(d);
      this.open.set(key, d);
    };
    const addOnce = (key: string, hits: (a: string, b: string) => boolean): void => {
      if (!this.open.has(key)) add(key, hits);
    };
    const closeKey = (key: string): void => {
      const d = this.open.get(key);
      if (d === undefined) return;
      d.to = at;
      this.open.delete(key);
    };
    const close = (prefix: string): void => {
      for (const k of this.open.keys()) if (k.startsWith(prefix)) closeKey(k);
    };
    switch (f._tag) {
      // One disturbance per held direction, opened by the first Hold and closed by the Release
      // after it, as the simulation undoes them: a second Hold must not replace the open
      // disturbance, which would then stay open for ever and exempt the pair from every later
      // check. Closed by exact key.
      case 'Hold':
        return addOnce(`hold:${f.from}>${f.to}`, (a, b) => (a === f.from && b === f.to) || (a === f.to && b === f.from));
      case 'Release':
        return closeKey(`hold:${f.from}>${f.to}`);
      case 'Partition': {
        const group = new Map<string, number>();
        f.groups.forEach((g, i) => g.forEach((n) => group.set(n, i)));
        return add(`cut:${at}:${this.disturbances.length}`, (a, b) => (group.get(a) ?? -1) !== (group.get(b) ?? -1));
      }
      case 'Heal':
        return close('cut:');
      case 'HealAll':
        close('');
        break;
      case 'Crash':
      case 'Restart':
      case 'Pause':
      case 'Resume':
        // Read off the nodes below.
        break;
      case 'Skew':
      case 'Reset':
        // A reset shows up as its links going down. A skew loses broadcasts only when it sets
        // two clocks more than the expiry apart, which plans keep clear of (`FaultPlan.skewMaxMs`).
        return;
    }
    // One disturbance per node while it is down or paused, read off the simulation after the
    // fault rather than inferred from the fault: a Restart of a node that is up (a paused one)
    // does nothing, a Pause of a node that is down does nothing, and a Crash ends a pause.
    for (const name of this.sim.names()) {
      const v = this.sim.node(name);
      if (!v.alive || v.paused) addOnce(`node:${name}`, (a, b) => a === name || b === name);
      else closeKey(`node:${name}`);
    }
  }

  /** The nodes that must have delivered each tracked broadcast but did not. */
  missing(): ReadonlyArray<{ readonly sender: string; readonly at: number; readonly node: string }> {
    const out: Array<{ sender: string; at: number; node: string }> = [];
    for (const t of this.tracked) {
      const until = t.at + this.spreadMs;
      const ok = (e: Edge): boolean =>
        (this.linkDown.get(e.link) ?? Infinity) > until &&
        !this.disturbances.some((d) => d.from <= until && d.to >= t.at && d.hits(e.a, e.b));
      const adj = new Map<string, string[]>();
      for (const e of t.edges.filter(ok)) {
        adj.set(e.a, [...(adj.get(e.a) ?? []), e.b]);
        adj.set(e.b, [...(adj.get(e.b) ?? []), e.a]);
      }
      const reach = new Set([t.sender]);
      const todo = [t.sender];
      for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
        for (const y of adj.get(x) ?? []) {
          if (reach.has(y)) continue;
          reach.add(y);
          todo.push(y);
        }
      }
      for (const node of reach) {
        if (node === t.sender) continue;
        const inc = t.incarnations.get(node);
        const got = this.sim
          .delivered(node)
          .some((d) => d.incarnation === inc && stampedKey(keyOf(d.message.sender, d.message.packets), d.message.time) === t.key);
        if (!got) out.push({ sender: t.sender, at: t.at, node });
      }
    }
    return out;
  }

  /** How many broadcasts are tracked. */
  get count(): number {
    return this.tracked.length;
  }
}
