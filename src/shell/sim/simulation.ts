/**
 * The simulator: whole networks of real cores on a virtual network and a virtual clock.
 *
 * This file is the public surface: building the network, user commands, faults and inspection.
 * The clock, the event queue and the execution of the cores' effects are the engine
 * (engine.ts). One seed drives every random choice, so a seed and a scenario give a
 * byte-identical trace.
 */
import type { Address, ConnId, NodeEvent, NodeId } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import type { KindPeer } from './kind.js';
import type { Fault, TimedFault } from './faults.js';
import type { BroadcastSummary } from './stats.js';
import { EvKind, addressKey, type NodeRec, type SimHandler } from './network.js';
import type { Message, ReplyOutcome } from '../api/message.js';
import { SimEngine } from './engine.js';
import type { Command, Delivery, NodeOptions, NodeView, Observation } from './options.js';

export * from './options.js';

/** A simulated network. */
export class Simulation extends SimEngine {
  // ------------------------------------------------------------------------------------------
  // Building the network

  /** Adds a node and returns its name. It listens at once; connect it with `connect`. */
  addNode(opts: NodeOptions = {}): string {
    const index = this.nodes.length;
    const name = opts.name ?? `n${index}`;
    if (this.byName.has(name)) throw new Error(`a node named ${name} already exists`);
    const host = index + 1;
    const address: Address = { host: `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`, port: 4444 };
    const n: NodeRec = {
      name,
      index,
      kind: opts.kind ?? this.options.kind,
      subnet: opts.subnet ?? 'mesh',
      address,
      salt: `${this.seed}/${name}`,
      limits: opts.limits ?? {},
      env: undefined,
      state: undefined,
      id: '' as NodeId,
      skewMs: opts.skewMs ?? 0,
      gen: 0,
      incarnation: 0,
      alive: false,
      paused: false,
      backlog: [],
      tickAt: undefined,
      stuckTicks: 0,
      conns: new Map(),
      acceptCount: 0,
      cmdCount: 0,
      handlers: [],
      handlerErrors: 0,
      inbox: [],
      replies: new Map(),
    };
    this.nodes.push(n);
    this.byName.set(name, n);
    this.links.listening.set(addressKey(address), n);
    this.boot(n);
    this.byId.set(n.id, n);
    return name;
  }

  /**
   * Registers a user handler on a node. Handlers run in registration order and the first to claim
   * wins, as on a MeshSocket: one that throws claims nothing, the next is offered the message, and
   * the node counts it (`node(name).handlerErrors`, `stats().handlerErrors`).
   */
  register(node: string, handler: SimHandler): void {
    this.rec(node).handlers.push(handler);
  }

  /** Adds an observer, told of every step, command, delivery, fault and link failure. */
  observe(fn: (o: Observation) => void): void {
    this.observers.push(fn);
  }

  // ------------------------------------------------------------------------------------------
  // User commands (each reaches the node's core at the current virtual time, or at `atMs`)

  /** Issues a command (now, or at virtual time `atMs`). */
  command(cmd: Command, atMs: number = this.now): void {
    const n = this.rec(cmd.node);
    if (cmd._tag === 'Whisper') {
      void this.whisperCmd(n, cmd.to, cmd.packets, atMs);
      return;
    }
    this.push(Math.max(this.now, atMs), EvKind.Command, n, { command: cmd });
  }

  /** Broadcasts a payload from a node. */
  broadcast(node: string, packets: ReadonlyArray<WireValue>, type = 0): void {
    this.command({ _tag: 'Broadcast', node, packets, type });
  }

  /**
   * Whispers to one node (a reply: direct if connected, otherwise through request/response).
   * The promise settles when the core reports the reply sent or failed, and rejects only with
   * `ReplyFailed`: the core's reason, `NodeDown` at once when `node` is down, or `NodeCrashed`
   * when it crashes first. An unobserved failure is not thrown. The promise is there for
   * inspection after a run, since promise callbacks run outside virtual time.
   */
  whisper(node: string, to: string | NodeId, packets: ReadonlyArray<WireValue>): Promise<ReplyOutcome> {
    return this.whisperCmd(this.rec(node), this.idOf(to), packets, this.now);
  }

  /** Has `node` connect to another node (by name) or to an address. */
  connect(node: string, to: string | Address): void {
    const address = typeof to === 'string' ? this.rec(to).address : to;
    this.command({ _tag: 'Connect', node, address });
  }

  /** Has `node` disconnect from a peer (by name or id). */
  disconnect(node: string, peer: string | NodeId): void {
    this.command({ _tag: 'Disconnect', node, peer: this.idOf(peer) });
  }

  /** Runs a callback at a virtual time (for scripted scenarios). */
  at(atMs: number, fn: () => void): void {
    this.push(Math.max(this.now, atMs), EvKind.Call, undefined, { call: fn });
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  /** Applies a fault now, or schedules it at virtual time `atMs`. */
  fault(fault: Fault, atMs: number = this.now): void {
    this.push(Math.max(this.now, atMs), EvKind.Fault, undefined, { fault });
  }

  /** Schedules a whole fault schedule. */
  schedule(faults: ReadonlyArray<TimedFault>): void {
    for (const f of faults) this.fault(f.fault, f.atMs);
  }

  // ------------------------------------------------------------------------------------------
  // Inspection

  /** Every node's name, in the order added. */
  names(): ReadonlyArray<string> {
    return this.nodes.map((n) => n.name);
  }

  /** A node's current view. */
  node(name: string): NodeView {
    const n = this.rec(name);
    return {
      name: n.name,
      id: n.id,
      address: n.address,
      subnet: n.subnet,
      alive: n.alive,
      paused: n.paused,
      skewMs: n.skewMs,
      incarnation: n.incarnation,
      handlerErrors: n.handlerErrors,
      state: n.state,
    };
  }

  /** A node's sizes and counters as its kind reports them (the mesh: `nodeStatus`); undefined when down. */
  status(name: string): unknown {
    const n = this.rec(name);
    return n.alive && n.kind.status !== undefined ? n.kind.status(n.state) : undefined;
  }

  /** The node's name for an id, if it is one of ours. */
  nameOf(id: NodeId): string | undefined {
    return this.byId.get(id)?.name;
  }

  /** A node's routing table (empty when it is down). */
  routingTable(name: string): ReadonlyArray<KindPeer> {
    const n = this.rec(name);
    return n.alive ? n.kind.peers(n.state) : [];
  }

  /** The names of a node's routing-table peers. */
  peersOf(name: string): ReadonlyArray<string> {
    return this.routingTable(name).map((p) => this.byId.get(p.id)?.name ?? `?${p.id}`);
  }

  /** The link a node's connection runs on, while it is open. */
  linkOf(name: string, conn: ConnId): number | undefined {
    return this.rec(name).conns.get(conn)?.link.id;
  }

  /** Everything a node delivered (handlers and queue alike), oldest first. */
  delivered(name: string): ReadonlyArray<Delivery> {
    this.rec(name);
    return this.deliveries.get(name) ?? [];
  }

  /** Every event a node emitted, with its virtual time. */
  eventsOf(name: string): ReadonlyArray<{ readonly at: number; readonly event: NodeEvent }> {
    this.rec(name);
    return this.events.get(name) ?? [];
  }

  /** Takes up to `max` messages from a node's receive queue. */
  recv(name: string, max = Infinity): ReadonlyArray<Message> {
    const n = this.rec(name);
    return n.inbox.splice(0, Math.min(max, n.inbox.length));
  }

  /** Broadcast figures since the last `resetStats`, plus queue drops and handlers that threw (all nodes, since the start). */
  stats(): BroadcastSummary & { readonly events: number; readonly inboxDropped: number; readonly handlerErrors: number } {
    const handlerErrors = this.nodes.reduce((sum, n) => sum + n.handlerErrors, 0);
    return { ...this.broadcastStats.summary(), events: this.eventsProcessed, inboxDropped: this.inboxDropped, handlerErrors };
  }

  /** Starts a new measurement window. */
  resetStats(): void {
    this.broadcastStats.reset();
  }

  /** The trace hash so far. */
  traceHash(): string {
    return this.trace.digest();
  }
}
