/**
 * The simulator's public vocabulary: options, node options, commands as data, recorded
 * deliveries, observations, node views, and the named defaults. Kept apart from the engine so
 * the engine file holds behaviour only.
 */
import type { Address, DeliveredMessage, Effect, Input, NodeId } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import type { AnyNodeKind } from './kind.js';
import type { Fault } from './faults.js';
import type { Latency } from './latency.js';
import type { TraceMode } from './trace.js';
import { wireKey, idHex } from './stats.js';

/** Where virtual time 0 sits on the nodes' clocks (ms since the epoch): 2023-11-14T22:13:20Z. */
export const SIM_EPOCH_MS = 1_700_000_000_000;
/** Messages kept in a node's receive queue before the oldest are dropped. */
export const INBOX_MAX = 10_000;
/** How long a dial into a cut waits before it fails, unless configured. */
export const SIM_DIAL_TIMEOUT_MS = 10_000;
/** Events one `runUntil` or `runUntilIdle` call processes at most, unless told otherwise. */
export const RUN_EVENTS_MAX = 50_000_000;
/** Ticks in a row after which a node that still wants a tick at once is taken for a core bug. */
export const STUCK_TICKS_MAX = 1_000;

/** How a simulation is set up; the constructor throws `BadArgument` for a field out of its range. */
export interface SimOptions {
  /** The run seed, a whole number: every random choice derives from it. */
  readonly seed: number;
  /** The kind of node `addNode` makes unless told otherwise. */
  readonly kind: AnyNodeKind;
  /** One-way latency of every link (default uniform 5–50 ms). */
  readonly latency?: Latency;
  /** Split each write into up to this many chunks at random points (a whole number ≥ 1; default 1: no split). */
  readonly chunksMax?: number;
  /** The nodes' clock at virtual time 0 (default `SIM_EPOCH_MS`). */
  readonly startAtMs?: number;
  /** What to keep of the trace (default `hash`). */
  readonly trace?: TraceMode;
  /** Lines kept in `lines` mode (≥ 1). */
  readonly traceLinesMax?: number;
  /** Keep every delivery and event per node for inspection (default true). */
  readonly record?: boolean;
  /** Messages kept in a node's receive queue (≥ 0, or Infinity; default `INBOX_MAX`). */
  readonly inboxMax?: number;
  /** How long a dial into a cut takes to fail (default `SIM_DIAL_TIMEOUT_MS`). */
  readonly dialTimeoutMs?: number;
}

/** How a node is added; `addNode` throws `BadArgument` for a field out of its range. */
export interface NodeOptions {
  /** Its name (default `n<index>`). */
  readonly name?: string;
  /** Its subnet (default `mesh`). */
  readonly subnet?: string;
  /** Its clock offset in ms, a finite number (default 0). */
  readonly skewMs?: number;
  /** Overrides of its configured bounds, e.g. `{ outgoingMax: 2 }`: bounds its kind has (`NodeKind.limits`), each ≥ 0. */
  readonly limits?: Readonly<Record<string, number>>;
  /** Its kind (default the simulation's). */
  readonly kind?: AnyNodeKind;
}

/** A user command, as plain data. Nodes are named. */
export type Command =
  | { readonly _tag: 'Broadcast'; readonly node: string; readonly packets: ReadonlyArray<WireValue>; readonly type?: number }
  | { readonly _tag: 'Send'; readonly node: string; readonly packets: ReadonlyArray<WireValue>; readonly flag: number; readonly type: number }
  /** A whisper to one node: a reply, routed through request/response when not connected. */
  | { readonly _tag: 'Whisper'; readonly node: string; readonly to: NodeId; readonly packets: ReadonlyArray<WireValue> }
  | { readonly _tag: 'Connect'; readonly node: string; readonly address: Address; readonly expectedId?: NodeId }
  | { readonly _tag: 'Disconnect'; readonly node: string; readonly peer: NodeId }
  | { readonly _tag: 'RequestPeers'; readonly node: string }
  | { readonly _tag: 'Shutdown'; readonly node: string }
  /** Any other core input (chord commands), stamped with the node's clock when it runs. */
  | { readonly _tag: 'Input'; readonly node: string; readonly input: Input };

/** A delivery, as recorded. */
export interface Delivery {
  readonly at: number;
  readonly node: string;
  readonly incarnation: number;
  readonly message: DeliveredMessage;
  /** A user handler claimed it. */
  readonly claimed: boolean;
  /** It went to the receive queue. */
  readonly queued: boolean;
}

/** What observers are told, after it happened. */
export type Observation =
  | { readonly _tag: 'Step'; readonly at: number; readonly node: string; readonly input: Input; readonly effects: ReadonlyArray<Effect> }
  /** A command reached the node's core (issued at `at`, as input `input`). */
  | { readonly _tag: 'Command'; readonly at: number; readonly node: string; readonly command: Command; readonly input: Input }
  | { readonly _tag: 'Delivered'; readonly delivery: Delivery }
  | { readonly _tag: 'Fault'; readonly at: number; readonly fault: Fault }
  | { readonly _tag: 'LinkDown'; readonly at: number; readonly link: number };

/** A node as callers see it. */
export interface NodeView {
  readonly name: string;
  readonly id: NodeId;
  readonly address: Address;
  readonly subnet: string;
  readonly alive: boolean;
  readonly paused: boolean;
  readonly skewMs: number;
  readonly incarnation: number;
  /** Its handlers that threw, over all its incarnations (each claimed nothing, as on a MeshSocket). */
  readonly handlerErrors: number;
  /** The core's state (kind-specific). */
  readonly state: unknown;
}

/** A one-line description of an input, for the trace. */
export const describeInput = (i: Input): string => {
  switch (i._tag) {
    case 'BytesReceived':
      return `BytesReceived ${i.conn} ${i.bytes.length}B`;
    case 'Send':
      return `Send ${i.flag}/${i.type} ${wireKey(i.packets)}`;
    case 'Reply':
      return `Reply #${i.cmd} ${i.to} ${wireKey(i.packets)}`;
    case 'ChordGet':
      return `ChordGet #${i.cmd} ${wireKey([i.key])}`;
    case 'ChordSet':
      return `ChordSet #${i.cmd} ${wireKey([i.key, i.value])}`;
    case 'ChordApplyDelta':
      return `ChordApplyDelta #${i.cmd} ${wireKey([i.key, i.delta])}`;
    default:
      return JSON.stringify(i);
  }
};

/** A one-line description of an effect, for the trace. */
export const describeEffect = (e: Effect): string => {
  switch (e._tag) {
    case 'Write':
      return `Write ${e.conn} ${e.bytes.length}B`;
    case 'Deliver':
      return `Deliver ${e.message.conn} ${e.message.sender} ${idHex(e.message.id)} ${wireKey(e.message.packets)}`;
    case 'Emit':
      return e.event._tag === 'ChordResult' ? `Emit ChordResult #${e.event.cmd} ${wireKey([e.event.value ?? null])}` : JSON.stringify(e);
    default:
      return JSON.stringify(e);
  }
};
