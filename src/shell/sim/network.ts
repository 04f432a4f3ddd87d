/**
 * The virtual network's plumbing: links between two nodes' connections, each direction a FIFO
 * byte stream like a TCP connection, and the cuts (partitions and holds) that stop data without
 * losing it. This file holds data shapes and pure helpers; the simulation drives them.
 */
import type { Address, CloseReason, ConnId, ConnectError, Input, NodeId } from '../../core/types.js';
import type { AnyNodeKind } from './kind.js';
import type { Fault } from './faults.js';
import type { Handler } from '../api/handlers.js';
import type { Message, PendingReply } from '../api/message.js';

/** One end of a link: a node's connection. */
export interface End {
  readonly link: Link;
  /** 0: the dialling side; 1: the accepting side. */
  readonly side: 0 | 1;
  readonly node: NodeRec;
  readonly conn: ConnId;
  /** This end has closed (or learned that the link closed): nothing more reaches it. */
  closed: boolean;
  /** The other end, once the dial was accepted (the same as the link's other entry in `ends`). */
  peer: End | undefined;
  /** The latest arrival time scheduled at this end (keeps each direction FIFO). */
  lastArrival: number;
}

/** A virtual connection between two nodes. */
export interface Link {
  readonly id: number;
  readonly ends: [End, End | undefined];
  /** Per receiving side: the Bytes, Closed and DialOk events a cut or hold stopped there, in order. */
  readonly held: [Ev[], Ev[]];
  /** Writes made before the accepting side existed. */
  readonly early: Uint8Array[];
  /** When the dial started (for dial timeouts). */
  readonly dialedAt: number;
  /** The link was reset: every byte in flight is gone. */
  reset: boolean;
}

/** A user handler: the very type a MeshSocket takes. Returning true claims the message. */
export type SimHandler = Handler;

/** A node as the simulation keeps it. */
export interface NodeRec {
  readonly name: string;
  readonly index: number;
  readonly kind: AnyNodeKind;
  readonly subnet: string;
  readonly address: Address;
  readonly salt: string;
  readonly limits: Readonly<Record<string, number>>;
  env: unknown;
  state: unknown;
  id: NodeId;
  skewMs: number;
  /** Bumped by every crash and restart: events of an older incarnation are void. */
  gen: number;
  incarnation: number;
  alive: boolean;
  paused: boolean;
  backlog: Ev[];
  tickAt: number | undefined;
  /** Ticks in a row after which the core still wanted a tick at once. */
  stuckTicks: number;
  readonly conns: Map<ConnId, End>;
  acceptCount: number;
  cmdCount: number;
  readonly handlers: SimHandler[];
  /** Handlers of this node that threw, over all its incarnations. */
  handlerErrors: number;
  inbox: Message[];
  /** Replies of this incarnation awaiting their outcome, by command id (emptied by a crash). */
  readonly replies: Map<number, PendingReply>;
}

/** Event kinds in the queue. */
export const EvKind = {
  Tick: 0,
  Bytes: 1,
  Closed: 2,
  Accepted: 3,
  DialOk: 4,
  DialFail: 5,
  Syn: 6,
  Command: 7,
  Fault: 8,
  Call: 9,
  Drained: 10,
} as const;
/** One of the event kinds. */
export type EvKind = (typeof EvKind)[keyof typeof EvKind];

/** What an event may carry besides its link end and bytes (kept apart: most events are bytes). */
export interface EvExtra {
  readonly end?: End;
  readonly reason?: CloseReason;
  readonly error?: ConnectError;
  readonly remote?: Address;
  readonly input?: Input;
  readonly cmd?: number;
  /** A `Drained` event's token. */
  readonly token?: number;
  readonly fault?: Fault;
  readonly call?: () => void;
  readonly command?: unknown;
}

/** A queued event: one small shape for all kinds (bytes need no more), the rest in `extra`. */
export class Ev {
  /** An event of `kind` for `node` (of incarnation `gen`) at `time`, ordered by `seq`. */
  constructor(
    readonly time: number,
    readonly seq: number,
    readonly kind: EvKind,
    readonly node: NodeRec | undefined,
    readonly gen: number,
    readonly end: End | undefined,
    readonly bytes: Uint8Array | undefined,
    readonly extra: EvExtra | undefined,
  ) {}
}

/** The key of an address in the listening table. */
export const addressKey = (a: Address): string => `${a.host}:${a.port}`;

/** A partition in force: group numbers by node index; nodes in no group share the last group. */
export interface Cut {
  readonly groupOf: ReadonlyMap<number, number>;
  readonly rest: number;
  readonly oneWay: boolean;
}

/** Whether a cut stops traffic from node `from` to node `to` (by index). */
export const cutBlocks = (cut: Cut, from: number, to: number): boolean => {
  const gf = cut.groupOf.get(from) ?? cut.rest;
  const gt = cut.groupOf.get(to) ?? cut.rest;
  return gf !== gt && (!cut.oneWay || gf < gt);
};

/** Splits bytes into chunks at the given sorted cut offsets. */
export const splitAt = (bytes: Uint8Array, offsets: ReadonlyArray<number>): Uint8Array[] => {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const o of offsets) {
    if (o > from && o < bytes.length) {
      out.push(bytes.subarray(from, o));
      from = o;
    }
  }
  out.push(bytes.subarray(from));
  return out;
};
