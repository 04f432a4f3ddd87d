/**
 * `ts2p/sim`: a deterministic simulator of whole ts2p networks. The same pure cores that run on
 * sockets run here on a virtual network and a virtual clock, so an application's handlers can be
 * tested on many nodes, with latency, partitions, crashes and clock skew, in milliseconds of real
 * time and with every run replayable from its seed.
 */
import { Simulation as Engine, type SimOptions as EngineOptions } from './shell/sim/simulation.js';
import { meshKind } from './shell/sim/mesh.js';

export {
  SIM_EPOCH_MS,
  INBOX_MAX,
  SIM_DIAL_TIMEOUT_MS,
  RUN_EVENTS_MAX,
  type Command,
  type Delivery,
  type NodeOptions,
  type NodeView,
  type Observation,
} from './shell/sim/simulation.js';
export { latency, drawLatency, latencyBoundMs, type Latency } from './shell/sim/latency.js';
export { drawFaults, drawFaultRates, SKEW_MAX_MS, type Fault, type FaultPlan, type TimedFault } from './shell/sim/faults.js';
export { Prng, deriveSeed } from './shell/sim/prng.js';
export { TRACE_LINES_MAX, type TraceMode } from './shell/sim/trace.js';
export { wireKey, type BroadcastSummary, type LatencySummary } from './shell/sim/stats.js';
export { meshKind, meshKindWith, SIM_COMPRESSION } from './shell/sim/mesh.js';
export { chordKind, chordKindWith, ChordDriver, type ChordHandle, type ChordOutcome } from './shell/sim/chord.js';
export type { NodeKind, KindParams, KindPeer } from './shell/sim/kind.js';
export type { SimHandler } from './shell/sim/network.js';
export { Message } from './shell/api/message.js';
export { BadArgument } from './shell/api/errors.js';
export { SafetyMonitor, BroadcastReach, InvariantViolated, components, hops, type Violation } from './shell/sim/checks.js';
export {
  runScenario,
  healAndSettle,
  nodeName,
  stepPayload,
  SETTLE_MS,
  type Scenario,
  type ScenarioNode,
  type ScenarioStep,
  type PlayOptions,
  type Played,
} from './shell/sim/scenario.js';

/** How a simulation is set up; `kind` defaults to the mesh. */
export type SimOptions = Omit<EngineOptions, 'kind'> & Partial<Pick<EngineOptions, 'kind'>>;

/** A simulated network of ts2p nodes (mesh nodes unless another kind is given); bad options throw `BadArgument`. */
export class Simulation extends Engine {
  /** A new, empty network driven by `options.seed`. */
  constructor(options: SimOptions) {
    super(typeof options === 'object' && options !== null ? { ...options, kind: options.kind ?? meshKind } : options);
  }
}
