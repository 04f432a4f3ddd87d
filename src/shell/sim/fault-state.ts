/**
 * The faults in force: partitions (cuts between groups, symmetric or one-way), holds on single
 * directions between two nodes, and the data they hold back: the Bytes, Closed and DialOk events
 * that reached a blocked direction's receiving end, kept in arrival order and let through, in that
 * order, the moment the direction opens (a heal or a release). It also keeps the clock offset
 * each skewed node was added with (so HealAll can put it back). Node-level faults (crash,
 * restart, pause, skew) are carried out through hooks the simulation provides.
 */
import type { Fault } from './faults.js';
import { cutBlocks, type Cut, type Ev, type Link, type NodeRec } from './network.js';

/** What the fault state needs from the simulation. */
export interface FaultHooks {
  readonly node: (name: string) => NodeRec;
  readonly nodes: () => ReadonlyArray<NodeRec>;
  readonly now: () => number;
  readonly crash: (n: NodeRec) => void;
  readonly restart: (n: NodeRec, rejoin: ReadonlyArray<string>) => void;
  readonly reset: (link: Link) => void;
  readonly resume: (n: NodeRec) => void;
  readonly reskew: (n: NodeRec) => void;
  /** Delivers a held event now that its direction is open (one at a time, in order). */
  readonly release: (ev: Ev) => void;
}

/** Cuts, holds, held data and the clocks skew faults moved. */
export class FaultState {
  private cuts: Cut[] = [];
  private readonly holds = new Set<number>();
  private readonly heldLinks = new Set<Link>();
  /** The offset each node a `Skew` moved had before it (the one it was added with); one entry per node at most. */
  private readonly addedSkewMs = new Map<NodeRec, number>();

  /** Fault state acting through the simulation's hooks. */
  constructor(private readonly hooks: FaultHooks) {}

  /** Whether data from node index `from` to `to` is stopped. */
  blocked(from: number, to: number): boolean {
    if (this.holds.size > 0 && this.holds.has(from * 65536 + to)) return true;
    for (const c of this.cuts) if (cutBlocks(c, from, to)) return true;
    return false;
  }

  /** Holds an event at the receiving side of a link, behind those held there already, until its direction opens. */
  hold(link: Link, toSide: 0 | 1, ev: Ev): void {
    link.held[toSide].push(ev);
    this.heldLinks.add(link);
  }

  /** Whether any cut or hold is in force. */
  get faulty(): boolean {
    return this.cuts.length > 0 || this.holds.size > 0;
  }

  /** Carries out a fault. */
  apply(f: Fault): void {
    const h = this.hooks;
    switch (f._tag) {
      case 'Reset': {
        const a = h.node(f.a);
        const b = f.b === undefined ? undefined : h.node(f.b);
        const links = [...a.conns.values()].map((e) => e.link);
        for (const l of links) {
          const other = l.ends[0].node === a ? l.ends[1]?.node : l.ends[0].node;
          if (b === undefined || other === b) h.reset(l);
        }
        return;
      }
      case 'Partition':
        return this.partition(f.groups, f.oneWay ?? false, f.reset ?? false);
      case 'Heal':
        this.cuts = [];
        return this.flush();
      case 'HealAll':
        this.cuts = [];
        this.holds.clear();
        this.flush();
        // Clocks first, so a node restarted or resumed below starts from its own clock.
        for (const n of [...this.addedSkewMs.keys()]) this.unskew(n);
        for (const n of h.nodes()) {
          if (!n.alive) h.restart(n, []);
          else if (n.paused) h.resume(n);
        }
        return;
      case 'Crash':
        return h.crash(h.node(f.node));
      case 'Restart':
        return h.restart(h.node(f.node), f.rejoin);
      case 'Pause': {
        const n = h.node(f.node);
        if (n.alive) n.paused = true;
        return;
      }
      case 'Resume':
        return h.resume(h.node(f.node));
      case 'Skew': {
        const n = h.node(f.node);
        if (f.skewMs === undefined) return this.unskew(n);
        if (!this.addedSkewMs.has(n)) this.addedSkewMs.set(n, n.skewMs);
        return this.setSkew(n, f.skewMs);
      }
      case 'Hold':
        this.holds.add(h.node(f.from).index * 65536 + h.node(f.to).index);
        return;
      case 'Release':
        this.holds.delete(h.node(f.from).index * 65536 + h.node(f.to).index);
        return this.flush();
    }
  }

  /** Puts a node's clock back to the offset it had before the first `Skew` that moved it. */
  private unskew(n: NodeRec): void {
    const ms = this.addedSkewMs.get(n);
    if (ms === undefined) return;
    this.addedSkewMs.delete(n);
    this.setSkew(n, ms);
  }

  private setSkew(n: NodeRec, ms: number): void {
    n.skewMs = ms;
    if (n.alive && !n.paused) this.hooks.reskew(n);
  }

  private partition(groups: ReadonlyArray<ReadonlyArray<string>>, oneWay: boolean, reset: boolean): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, i) => g.forEach((name) => groupOf.set(this.hooks.node(name).index, i)));
    const cut: Cut = { groupOf, rest: groups.length, oneWay };
    this.cuts.push(cut);
    if (!reset) return;
    const crossing = new Set<Link>();
    for (const n of this.hooks.nodes()) {
      for (const e of n.conns.values()) {
        const a = e.link.ends[0].node.index;
        const b = e.link.ends[1]?.node.index;
        if (b !== undefined && (cutBlocks(cut, a, b) || cutBlocks(cut, b, a))) crossing.add(e.link);
      }
    }
    for (const l of crossing) this.hooks.reset(l);
  }

  /** Delivers whatever held data its direction now lets through, in order. */
  private flush(): void {
    for (const link of [...this.heldLinks]) {
      for (const side of [0, 1] as const) {
        const to = link.ends[side];
        const from = link.ends[(1 - side) as 0 | 1];
        const held = link.held[side];
        if (held.length === 0 || to === undefined || from === undefined) continue;
        if (this.blocked(from.node.index, to.node.index)) continue;
        // Taken out first: a released event finds its direction open and nothing held ahead of it.
        for (const ev of held.splice(0)) this.hooks.release(ev);
      }
      if (link.held[0].length === 0 && link.held[1].length === 0) this.heldLinks.delete(link);
    }
  }
}
