/**
 * The chord node kind for the simulator (the real chord core, `src/core/chord/node.ts`, composed
 * with the mesh core), and `ChordDriver`, which issues chord commands to simulated nodes and
 * collects their outcomes as plain data.
 */
import { defaultChordLimits, type ChordConfig } from '../../core/chord/config.js';
import { chordStatus, chordStep, initChord, nextChordWakeup, type ChordEnv, type ChordState } from '../../core/chord/node.js';
import { commandRefusal, isQueuedForUser, routingTable } from '../../core/node.js';
import { defaultLimits } from '../../core/config.js';
import type { ChordError, CommandId, Effect, Input } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import { nodeCapabilities } from '../caps.js';
import { checkChordKey } from '../api/arguments.js';
import { checkTime } from './arguments.js';
import type { NodeKind } from './kind.js';
import { pickLimits, SIM_COMPRESSION, simNodeConfig } from './mesh.js';
import type { Simulation } from './simulation.js';

/** A chord node kind offering the given compression; limits may override mesh and chord bounds. */
export const chordKindWith = (compression: ReadonlyArray<number>): NodeKind<ChordEnv, ChordState> => ({
  name: 'chord',
  makeEnv: (p) => {
    const config = simNodeConfig(p, compression);
    const chord: ChordConfig = { ...defaultChordLimits, ...pickLimits(defaultChordLimits, p.limits) };
    return { config, caps: nodeCapabilities, chord };
  },
  nodeId: (env) => env.config.id,
  init: initChord,
  step: chordStep,
  nextWakeup: nextChordWakeup,
  peers: (s) => routingTable(s.mesh),
  isQueuedForUser,
  protocol: (env) => env.config.protocol,
  status: chordStatus,
  refusal: commandRefusal,
  limits: { ...defaultLimits, ...defaultChordLimits },
});

/** The chord node kind, offering zlib and gzip. */
export const chordKind: NodeKind<ChordEnv, ChordState> = chordKindWith(SIM_COMPRESSION);

/** The outcome of one chord command: pending until the node answers. */
export type ChordOutcome =
  | { readonly _tag: 'Pending' }
  | { readonly _tag: 'Ok'; readonly value?: WireValue; readonly at: number }
  | { readonly _tag: 'Failed'; readonly error: ChordError; readonly at: number };

/** A command in flight, filled in when its node answers. */
export interface ChordHandle {
  readonly node: string;
  outcome: ChordOutcome;
}

/** Commands a driver can issue (the input without its clock and command id). */
type ChordCommandInput = Extract<Input, { readonly cmd: CommandId; readonly _tag: `Chord${string}` }>;
type WithoutStamp<I> = I extends unknown ? Omit<I, 'at' | 'cmd'> : never;

/** Command ids used by the driver start here, far from the simulator's own. */
const DRIVER_CMD_BASE = 1_000_000_000;

/**
 * Issues chord commands to simulated chord nodes and records each outcome. Outcomes arrive as
 * the simulation runs; read them after `runFor` / `runUntilIdle`.
 */
export class ChordDriver {
  private seq = DRIVER_CMD_BASE;
  private readonly open = new Map<string, ChordHandle>();

  constructor(private readonly sim: Simulation) {
    sim.observe((o) => {
      if (o._tag === 'Step') this.collect(o.node, o.at, o.effects);
    });
  }

  private collect(node: string, at: number, effects: ReadonlyArray<Effect>): void {
    for (const e of effects) {
      if (e._tag !== 'Emit') continue;
      const ev = e.event;
      if (ev._tag !== 'ChordResult' && ev._tag !== 'ChordFailed') continue;
      const key = `${node}#${ev.cmd}`;
      const h = this.open.get(key);
      if (h === undefined) continue;
      this.open.delete(key);
      h.outcome =
        ev._tag === 'ChordFailed'
          ? { _tag: 'Failed', error: ev.error, at }
          : ev.value === undefined
            ? { _tag: 'Ok', at }
            : { _tag: 'Ok', value: ev.value, at };
    }
  }

  /**
   * Issue a chord command on `node` now (or at virtual time `atMs`). Throws `BadArgument`, as
   * `Simulation.command` does, when the node is not there or the time is bad; nothing is then
   * left pending.
   */
  issue(node: string, input: WithoutStamp<ChordCommandInput>, atMs?: number): ChordHandle {
    const cmd = this.seq + 1;
    this.sim.command({ _tag: 'Input', node, input: { ...input, at: 0, cmd } as Input }, atMs);
    this.seq = cmd;
    const h: ChordHandle = { node, outcome: { _tag: 'Pending' } };
    this.open.set(`${node}#${cmd}`, h);
    return h;
  }

  /** get(key); throws `BadArgument` for a key that is neither text nor bytes, as a ChordSocket does, or a bad timeout. */
  get(node: string, key: Uint8Array | string, timeoutMs?: number): ChordHandle {
    checkChordKey(key);
    if (timeoutMs !== undefined) checkTime(timeoutMs, 'get: timeoutMs');
    return this.issue(node, timeoutMs === undefined ? { _tag: 'ChordGet', key } : { _tag: 'ChordGet', key, timeoutMs });
  }

  /** set(key, value); null deletes. A key is checked as `get` checks it. */
  set(node: string, key: Uint8Array | string, value: WireValue): ChordHandle {
    checkChordKey(key);
    return this.issue(node, { _tag: 'ChordSet', key, value });
  }

  /** Merge a map into the map under key. A key is checked as `get` checks it. */
  applyDelta(node: string, key: Uint8Array | string, delta: ReadonlyMap<WireValue, WireValue>): ChordHandle {
    checkChordKey(key);
    return this.issue(node, { _tag: 'ChordApplyDelta', key, delta });
  }

  /** Start storing. */
  join(node: string): ChordHandle {
    return this.issue(node, { _tag: 'ChordJoin' });
  }

  /** Stop storing, handing data to the ring. */
  unjoin(node: string): ChordHandle {
    return this.issue(node, { _tag: 'ChordUnjoin' });
  }

  /** Commands not answered yet. */
  pending(): number {
    return this.open.size;
  }
}
