/**
 * Faults as plain data, and fault schedules drawn from a seed. Each seed first draws its own
 * rates (some kinds off, some frequent), so a batch of seeds covers many mixes of faults. A
 * drawn schedule always ends healed: partitions healed, holds released, paused nodes resumed,
 * crashed nodes restarted and skewed clocks put back to the offsets their nodes were added with,
 * by `untilMs`.
 */
import { Prng } from './prng.js';
import { shown } from '../api/arguments.js';
import { BadArgument } from '../api/errors.js';

/** Something that goes wrong (or is put right) in the network. Nodes are named. */
export type Fault =
  /** Reset the connections between `a` and `b` (every connection of `a` when `b` is absent). */
  | { readonly _tag: 'Reset'; readonly a: string; readonly b?: string }
  /** Cut the network between groups (nodes in no group form one more group). */
  | {
      readonly _tag: 'Partition';
      readonly groups: ReadonlyArray<ReadonlyArray<string>>;
      /** Only traffic from an earlier group to a later one is cut. */
      readonly oneWay?: boolean;
      /** Also reset every connection that crosses the cut. */
      readonly reset?: boolean;
    }
  /** Remove every cut; held data flows again. */
  | { readonly _tag: 'Heal' }
  /**
   * End every fault: heal cuts, release holds, resume paused nodes, restart crashed ones, and put
   * every clock a `Skew` moved back to the offset its node was added with (`addNode`'s `skewMs`).
   */
  | { readonly _tag: 'HealAll' }
  /** The node's process dies: its state is lost and its peers see their connections close. */
  | { readonly _tag: 'Crash'; readonly node: string }
  /** A crashed node starts again with a fresh state and dials the named nodes (a node that is up, paused or not, is left as it is). */
  | { readonly _tag: 'Restart'; readonly node: string; readonly rejoin: ReadonlyArray<string> }
  /** The node stops processing; what reaches it waits until it resumes. */
  | { readonly _tag: 'Pause'; readonly node: string }
  | { readonly _tag: 'Resume'; readonly node: string }
  /** Set the node's clock offset from virtual time; without `skewMs`, back to the offset it was added with. */
  | { readonly _tag: 'Skew'; readonly node: string; readonly skewMs?: number }
  /** Hold data from `from` to `to` in flight (connections stay up). */
  | { readonly _tag: 'Hold'; readonly from: string; readonly to: string }
  | { readonly _tag: 'Release'; readonly from: string; readonly to: string };

/** A fault at a virtual time (milliseconds since the simulation started). */
export interface TimedFault {
  readonly atMs: number;
  readonly fault: Fault;
}

/**
 * Throws `BadArgument` unless `f` is a fault the simulation can carry out: a known `_tag`, every
 * node it names one that `isNode` knows, its flags booleans and its skew a finite number. The
 * message starts with `what` (the argument: "fault", "schedule[3]: fault").
 */
export const checkFault = (f: Fault, isNode: (name: string) => boolean, what = 'fault'): void => {
  const fault = f as Fault | null | undefined;
  const where = `${what} ${typeof fault === 'object' && fault !== null ? shown(fault._tag) : shown(fault)}`;
  const node = (field: string, name: unknown): void => {
    if (typeof name !== 'string' || !isNode(name)) throw new BadArgument(`${where}: ${field} ${shown(name)} is not a node of this simulation`);
  };
  const nodes = (field: string, names: unknown): void => {
    if (!Array.isArray(names)) throw new BadArgument(`${where}: ${field} must be a list of node names, got ${shown(names)}`);
    for (const name of names) node(field, name);
  };
  const flag = (field: string, value: unknown): void => {
    if (value !== undefined && typeof value !== 'boolean') throw new BadArgument(`${where}: ${field} must be a boolean, got ${shown(value)}`);
  };
  switch (fault?._tag) {
    case 'Reset':
      node('a', fault.a);
      if (fault.b !== undefined) node('b', fault.b);
      return;
    case 'Partition':
      if (!Array.isArray(fault.groups)) throw new BadArgument(`${where}: groups must be a list of lists of node names, got ${shown(fault.groups)}`);
      for (const g of fault.groups) nodes('groups', g);
      flag('oneWay', fault.oneWay);
      flag('reset', fault.reset);
      return;
    case 'Heal':
    case 'HealAll':
      return;
    case 'Crash':
    case 'Pause':
    case 'Resume':
      return node('node', fault.node);
    case 'Restart':
      node('node', fault.node);
      return nodes('rejoin', fault.rejoin);
    case 'Skew':
      node('node', fault.node);
      // No offset puts the clock back to the one the node was added with.
      if (fault.skewMs !== undefined && (typeof fault.skewMs !== 'number' || !Number.isFinite(fault.skewMs))) {
        throw new BadArgument(`${where}: skewMs must be a finite number (or absent), got ${shown(fault.skewMs)}`);
      }
      return;
    case 'Hold':
    case 'Release':
      node('from', fault.from);
      return node('to', fault.to);
    default:
      throw new BadArgument(`${where} is not a fault (Reset, Partition, Heal, HealAll, Crash, Restart, Pause, Resume, Skew, Hold or Release)`);
  }
};

/** What a drawn schedule may use. */
export interface FaultPlan {
  /** Node names faults may hit. */
  readonly nodes: ReadonlyArray<string>;
  /** Nodes never crashed or paused (e.g. a bootstrap node). */
  readonly spared?: ReadonlyArray<string>;
  /** First and last moment of the faulty period. */
  readonly fromMs: number;
  readonly untilMs: number;
  /**
   * Largest clock offset drawn, ms (default 20,000; finite, not negative). A `Skew` sets a
   * node's offset anywhere in ±skewMaxMs, so two nodes can be twice it apart (more with the
   * offsets they were added with). Nodes drop broadcasts stamped more than the broadcast expiry
   * (60 s by default) away from their own clock, so keep it below half the expiry if broadcasts
   * must reach every node while skews last. Every skew drawn is undone by `untilMs`.
   */
  readonly skewMaxMs?: number;
}

/** The default largest clock offset a drawn schedule sets, ms. */
export const SKEW_MAX_MS = 20_000;

/** The fault kinds a seed draws rates for. */
const KINDS = ['Reset', 'Partition', 'Crash', 'Pause', 'Skew', 'Hold'] as const;
type Kind = (typeof KINDS)[number];

/** The per-kind rates (faults per simulated minute) a seed draws. */
export const drawFaultRates = (seed: number): Readonly<Record<Kind, number>> => {
  const rng = Prng.derive(seed, 'fault-rates');
  const rate = (): number => (rng.chance(0.4) ? 0 : rng.pick([0.5, 2, 6]));
  return { Reset: rate(), Partition: rate(), Crash: rate(), Pause: rate(), Skew: rate(), Hold: rate() };
};

/**
 * A fault schedule drawn from the seed, sorted by time, healed by `plan.untilMs`. Throws a
 * RangeError for a negative or non-finite `skewMaxMs`.
 */
export const drawFaults = (seed: number, plan: FaultPlan): ReadonlyArray<TimedFault> => {
  const skewMaxMs = plan.skewMaxMs ?? SKEW_MAX_MS;
  if (!(Number.isFinite(skewMaxMs) && skewMaxMs >= 0)) throw new RangeError(`skewMaxMs must be a finite number of ms, not negative: ${skewMaxMs}`);
  const rng = Prng.derive(seed, 'faults');
  const rates = drawFaultRates(seed);
  const total = KINDS.reduce((s, k) => s + rates[k], 0);
  const out: TimedFault[] = [];
  if (total === 0 || plan.nodes.length < 2) return out;
  const victims = plan.nodes.filter((n) => !(plan.spared ?? []).includes(n));
  const down = new Map<string, number>();
  const skewed = new Set<string>();
  const span = plan.untilMs - plan.fromMs;
  let t = plan.fromMs + rng.exponential(60_000 / total);
  while (t < plan.untilMs) {
    let pick = rng.float() * total;
    const kind = KINDS.find((k) => (pick -= rates[k]) < 0) ?? 'Reset';
    const end = Math.min(plan.untilMs, t + 200 + rng.exponential(span / 4));
    const at = Math.round(t);
    const a = rng.pick(plan.nodes);
    const b = rng.pick(plan.nodes.filter((n) => n !== a));
    drawOne(kind, { rng, at, end: Math.round(end), a, b, victims, down, skewed, skewMaxMs, plan }, out);
    t += rng.exponential(60_000 / total);
  }
  for (const node of skewed) out.push({ atMs: plan.untilMs, fault: { _tag: 'Skew', node } });
  return [...out].sort((x, y) => x.atMs - y.atMs);
};

interface DrawCtx {
  readonly rng: Prng;
  readonly at: number;
  readonly end: number;
  readonly a: string;
  readonly b: string;
  readonly victims: ReadonlyArray<string>;
  readonly down: Map<string, number>;
  /** Nodes whose clock a drawn `Skew` moved: put back at the end. */
  readonly skewed: Set<string>;
  readonly skewMaxMs: number;
  readonly plan: FaultPlan;
}

const drawOne = (kind: Kind, c: DrawCtx, out: TimedFault[]): void => {
  const { rng, at, end } = c;
  switch (kind) {
    case 'Reset':
      out.push({ atMs: at, fault: rng.chance(0.5) ? { _tag: 'Reset', a: c.a, b: c.b } : { _tag: 'Reset', a: c.a } });
      return;
    case 'Partition': {
      const side = c.plan.nodes.filter(() => rng.chance(0.5));
      const groups = side.length === 0 || side.length === c.plan.nodes.length ? [[c.a]] : [side];
      out.push({ atMs: at, fault: { _tag: 'Partition', groups, oneWay: rng.chance(0.3), reset: rng.chance(0.3) } });
      out.push({ atMs: end, fault: { _tag: 'Heal' } });
      return;
    }
    case 'Crash': {
      const live = c.victims.filter((n) => (c.down.get(n) ?? -1) < at);
      if (live.length === 0) return;
      const node = rng.pick(live);
      const rejoin = c.plan.nodes.filter((n) => n !== node);
      c.down.set(node, end);
      out.push({ atMs: at, fault: { _tag: 'Crash', node } });
      out.push({ atMs: end, fault: { _tag: 'Restart', node, rejoin: rejoin.length ? [rng.pick(rejoin)] : [] } });
      return;
    }
    case 'Pause': {
      if (c.victims.length === 0) return;
      const node = rng.pick(c.victims);
      out.push({ atMs: at, fault: { _tag: 'Pause', node } });
      out.push({ atMs: end, fault: { _tag: 'Resume', node } });
      return;
    }
    case 'Skew':
      c.skewed.add(c.a);
      out.push({ atMs: at, fault: { _tag: 'Skew', node: c.a, skewMs: Math.round((rng.float() * 2 - 1) * c.skewMaxMs) } });
      return;
    case 'Hold':
      out.push({ atMs: at, fault: { _tag: 'Hold', from: c.a, to: c.b } });
      out.push({ atMs: end, fault: { _tag: 'Release', from: c.a, to: c.b } });
      return;
  }
};
