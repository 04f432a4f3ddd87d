/**
 * The simulator's argument checks: times, counts, flag bytes, node kinds, simulation options and
 * node options. Each returns or throws `BadArgument` naming the argument, before anything is
 * built or queued, so a refused call leaves the simulation as it was (what a socket guarantees
 * for its own calls). Checks a socket makes too (limits, handlers, addresses) are shared with it
 * in `api/arguments.ts`; latency models and faults are checked in `latency.ts` and `faults.ts`.
 */
import { checkFunction, checkLimits, shown } from '../api/arguments.js';
import { BadArgument } from '../api/errors.js';
import type { AnyNodeKind } from './kind.js';
import { checkLatency } from './latency.js';
import type { NodeOptions, SimOptions } from './options.js';
import { TRACE_MODES } from './trace.js';

/** Throws `BadArgument` unless `ms` is a finite number of milliseconds ≥ 0; `what` names it. */
export const checkTime = (ms: unknown, what: string): void => {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new BadArgument(`${what} must be a finite number of ms ≥ 0, got ${shown(ms)}`);
};

/** Throws `BadArgument` unless `n` is a whole number ≥ 0 or `Infinity` (no bound); `what` names it. */
export const checkCount = (n: unknown, what: string): void => {
  if (!(n === Infinity || (Number.isSafeInteger(n) && (n as number) >= 0))) throw new BadArgument(`${what} must be a whole number ≥ 0 or Infinity, got ${shown(n)}`);
};

/** What every node kind must provide, as functions. */
const KIND_FUNCTIONS = ['makeEnv', 'nodeId', 'init', 'step', 'nextWakeup', 'peers', 'isQueuedForUser', 'protocol'] as const;

/** Throws `BadArgument` unless `kind` looks like a `NodeKind`: a name and the functions it needs. */
export const checkKind = (kind: unknown, what: string): void => {
  const k = kind as Partial<Record<string, unknown>> | null | undefined;
  if (typeof k !== 'object' || k === null || typeof k['name'] !== 'string') throw new BadArgument(`${what} must be a node kind (such as meshKind or chordKind), got ${shown(kind)}`);
  for (const f of KIND_FUNCTIONS) checkFunction(k[f], `${what} ${k['name']}: ${f}`);
  for (const f of ['status', 'refusal']) if (k[f] !== undefined) checkFunction(k[f], `${what} ${k['name']}: ${f}`);
  if (k['limits'] !== undefined) checkLimits(k['limits'], undefined);
};

/** Throws `BadArgument` unless `v`, when given, is a whole number ≥ `min`. */
const checkWhole = (v: unknown, min: number, what: string): void => {
  if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= min)) throw new BadArgument(`${what} must be a whole number ≥ ${min}, got ${shown(v)}`);
};

/** Throws `BadArgument` unless the simulation can run with `o`. */
export const checkSimOptions = (o: SimOptions): void => {
  if (typeof o !== 'object' || o === null) throw new BadArgument(`options must be an object, got ${shown(o)}`);
  if (!Number.isSafeInteger(o.seed)) throw new BadArgument(`seed must be a whole number, got ${shown(o.seed)}`);
  checkKind(o.kind, 'kind');
  if (o.latency !== undefined) checkLatency(o.latency);
  checkWhole(o.chunksMax, 1, 'chunksMax');
  if (o.startAtMs !== undefined) checkTime(o.startAtMs, 'startAtMs');
  if (o.trace !== undefined && !TRACE_MODES.includes(o.trace)) throw new BadArgument(`trace must be one of ${TRACE_MODES.join(', ')}, got ${shown(o.trace)}`);
  checkWhole(o.traceLinesMax, 1, 'traceLinesMax');
  if (o.record !== undefined && typeof o.record !== 'boolean') throw new BadArgument(`record must be a boolean, got ${shown(o.record)}`);
  if (o.inboxMax !== undefined) checkCount(o.inboxMax, 'inboxMax');
  if (o.dialTimeoutMs !== undefined) checkTime(o.dialTimeoutMs, 'dialTimeoutMs');
};

/** Throws `BadArgument` unless a node can be added with `o` (its limits checked against its kind's bounds). */
export const checkNodeOptions = (o: NodeOptions, defaultKind: AnyNodeKind): void => {
  if (typeof o !== 'object' || o === null) throw new BadArgument(`addNode: options must be an object, got ${shown(o)}`);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw new BadArgument(`addNode: name must be a non-empty string, got ${shown(o.name)}`);
  if (o.subnet !== undefined && (typeof o.subnet !== 'string' || o.subnet === '')) throw new BadArgument(`addNode: subnet must be a non-empty string, got ${shown(o.subnet)}`);
  if (o.skewMs !== undefined && (typeof o.skewMs !== 'number' || !Number.isFinite(o.skewMs))) throw new BadArgument(`addNode: skewMs must be a finite number, got ${shown(o.skewMs)}`);
  if (o.kind !== undefined) checkKind(o.kind, 'addNode: kind');
  if (o.limits !== undefined) checkLimits(o.limits, (o.kind ?? defaultKind).limits);
};
