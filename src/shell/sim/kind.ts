/**
 * What the simulator needs to know about a kind of node (mesh today, chord later): how to build
 * its environment, and the pure functions of its core. The simulator holds no protocol knowledge
 * of its own; everything protocol-specific comes through this record.
 */
import type { ProtocolInfo } from '../../core/config.js';
import type { Address, ConnId, DeliveredMessage, Effect, Input, NodeId } from '../../core/types.js';

/** What the simulator tells a kind when it builds a node. */
export interface KindParams {
  /** The node's name in the simulation. */
  readonly name: string;
  /** The subnet (protocol name) the node belongs to. */
  readonly subnet: string;
  /** The address the node listens on and advertises. */
  readonly address: Address;
  /** A salt fixed for the node's lifetime (its id derives from it); restarts keep it. */
  readonly salt: string;
  /** The PRNG seed of this incarnation of the node. */
  readonly seed: number;
  /** Overrides of the node's configured bounds (kind-specific keys). */
  readonly limits: Readonly<Record<string, number>>;
}

/** A routing-table entry as the simulator sees it. */
export interface KindPeer {
  readonly id: NodeId;
  readonly conn: ConnId;
}

/** The pure core of one kind of node, plus how to configure it. */
export interface NodeKind<E = unknown, S = unknown> {
  /** A short name for traces ("mesh"). */
  readonly name: string;
  /** Builds the node's environment (configuration and capabilities). */
  readonly makeEnv: (params: KindParams) => E;
  /** The node id an environment gives. */
  readonly nodeId: (env: E) => NodeId;
  /** A fresh state at time `at` (the node's own clock). */
  readonly init: (env: E, at: number) => S;
  /** The core's transition function. */
  readonly step: (env: E, state: S, input: Input) => readonly [S, ReadonlyArray<Effect>];
  /** When the core wants a Tick next (the node's own clock), if ever. */
  readonly nextWakeup: (state: S) => number | undefined;
  /** The routing table. */
  readonly peers: (state: S) => ReadonlyArray<KindPeer>;
  /** Whether an unclaimed delivered message goes to the user's receive queue. */
  readonly isQueuedForUser: (message: DeliveredMessage) => boolean;
  /** The subnet a node speaks (what its messages report as `protocol`). */
  readonly protocol: (env: E) => ProtocolInfo;
  /** Sizes and counters of a node's state, for inspection (kind-specific). */
  readonly status?: (state: S) => unknown;
  /**
   * Why the core would refuse a user command given as this input (packets it cannot send), if
   * it would. The simulator asks when a command is issued and throws `BadArgument`, as a socket
   * does; without it, only the core sees the command.
   */
  readonly refusal?: (env: E, input: Input) => string | undefined;
  /** The bounds a node's `limits` may override, with their defaults (without it, any name). */
  readonly limits?: Readonly<Record<string, number>>;
}

/** A node kind with its type parameters erased, as the simulator stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNodeKind = NodeKind<any, any>;
