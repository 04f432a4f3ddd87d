/**
 * The simulator: whole networks of real cores on a virtual network and a virtual clock.
 *
 * This file is the public surface: building the network, user commands, faults and inspection.
 * The clock, the event queue and the execution of the cores' effects are the engine
 * (engine.ts). One seed drives every random choice, so a seed and a scenario give a
 * byte-identical trace.
 *
 * Every public method checks its arguments when it is called, as a socket does: a node name
 * that is not there, packets the node would refuse to send, a handler that is not a function, a
 * time that is not a finite number ≥ 0 and the like throw `BadArgument` naming the argument, and
 * nothing of the refused call is applied or queued. What is queued therefore cannot fail later
 * for a reason the call could have seen.
 */
import type { Address, ConnId, Input, NodeEvent, NodeId } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import type { KindPeer } from './kind.js';
import { checkFault, type Fault, type TimedFault } from './faults.js';
import type { BroadcastSummary } from './stats.js';
import { EvKind, addressKey, type NodeRec, type SimHandler } from './network.js';
import type { Message, ReplyOutcome } from '../api/message.js';
import { checkByte, checkDialAddress, checkFunction, shown } from '../api/arguments.js';
import { BadArgument } from '../api/errors.js';
import { SimEngine } from './engine.js';
import { checkCount, checkNodeOptions, checkSimOptions, checkTime } from './arguments.js';
import { SIM_EPOCH_MS, type Command, type Delivery, type NodeOptions, type NodeView, type Observation, type SimOptions } from './options.js';

export * from './options.js';

/** A simulated network. */
export class Simulation extends SimEngine {
  /** A new, empty network driven by `options.seed`; throws `BadArgument` for options it cannot run with. */
  constructor(options: SimOptions) {
    checkSimOptions(options);
    super(options);
  }

  // ------------------------------------------------------------------------------------------
  // Building the network

  /**
   * Adds a node and returns its name. It listens at once; connect it with `connect`. Throws
   * `BadArgument` for a name already taken or empty, a skew that is not finite, or a limit its
   * kind does not have or that is not a number ≥ 0 (as a socket refuses its `limits`).
   */
  addNode(opts: NodeOptions = {}): string {
    checkNodeOptions(opts, this.options.kind);
    const index = this.nodes.length;
    const name = opts.name ?? `n${index}`;
    if (this.byName.has(name)) throw new BadArgument(`addNode: a node named ${name} already exists`);
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
    const n = this.named(node, 'register: node');
    checkFunction(handler, 'register: a handler');
    n.handlers.push(handler);
  }

  /** Adds an observer, told of every step, command, delivery, fault and link failure. */
  observe(fn: (o: Observation) => void): void {
    checkFunction(fn, 'observe: an observer');
    this.observers.push(fn);
  }

  // ------------------------------------------------------------------------------------------
  // User commands (each reaches the node's core at the current virtual time, or at `atMs`)

  /**
   * Issues a command (now, or at virtual time `atMs`; a time already past means now). Throws
   * `BadArgument` when `atMs` is not a finite number ≥ 0 or the command is not one the node can
   * run: a node, peer (`to`, `peer`: ids of its nodes) or address that is not there, a flag or sub-flag
   * that is not a byte, or packets the node's core would refuse to send (`NodeKind.refusal`:
   * for the mesh, what `MeshSocket.send` refuses). The command is for the node as it is when
   * issued: if that node crashes before the command runs, the command is dropped, even if the
   * node has restarted by then (a process's queued work dies with it; a whisper rejects
   * `NodeCrashed`). To act on whichever node is up at a later time, decide then, with `at`.
   */
  command(cmd: Command, atMs: number = this.now): void {
    this.issue(cmd, atMs, 'command');
  }

  /** Broadcasts a payload from a node; throws `BadArgument` as `command` does. */
  broadcast(node: string, packets: ReadonlyArray<WireValue>, type = 0): void {
    this.issue({ _tag: 'Broadcast', node, packets, type }, this.now, 'broadcast');
  }

  /**
   * Whispers to one node, by name or id (a reply: direct if connected, otherwise through
   * request/response). The promise settles when the core reports the reply sent or failed, and
   * rejects only with `ReplyFailed`: the core's reason, `NodeDown` at once when `node` is down, or
   * `NodeCrashed` when it crashes first. An unobserved failure is not thrown. The promise is there
   * for inspection after a run, since promise callbacks run outside virtual time. Throws
   * `BadArgument` as `command` does, at the call rather than through the promise.
   */
  whisper(node: string, to: string | NodeId, packets: ReadonlyArray<WireValue>): Promise<ReplyOutcome> {
    this.named(node, 'whisper: node');
    const cmd: Command = { _tag: 'Whisper', node, to: this.peerId(to, 'whisper: to'), packets };
    return this.whisperCmd(this.checkCommand(cmd, this.now, 'whisper'), cmd.to, packets, this.now);
  }

  /** Has `node` connect to another node (by name) or to an address; throws `BadArgument` as `command` does. */
  connect(node: string, to: string | Address): void {
    this.named(node, 'connect: node');
    const address = typeof to === 'string' ? this.named(to, 'connect: to').address : to;
    this.issue({ _tag: 'Connect', node, address }, this.now, 'connect');
  }

  /** Has `node` disconnect from a peer (by name or id); throws `BadArgument` as `command` does. */
  disconnect(node: string, peer: string | NodeId): void {
    this.named(node, 'disconnect: node');
    this.issue({ _tag: 'Disconnect', node, peer: this.peerId(peer, 'disconnect: peer') }, this.now, 'disconnect');
  }

  /** Runs a callback at a virtual time (for scripted scenarios); throws `BadArgument` for a bad time or callback. */
  at(atMs: number, fn: () => void): void {
    checkTime(atMs, 'at: atMs');
    checkFunction(fn, 'at: the scripted call');
    this.push(Math.max(this.now, atMs), EvKind.Call, undefined, { call: fn });
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  /**
   * Applies a fault now, or schedules it at virtual time `atMs` (a time already past means now).
   * Throws `BadArgument`, queueing nothing, for a time that is not a finite number ≥ 0 or a
   * fault `checkFault` refuses (such as one naming a node that is not there).
   */
  fault(fault: Fault, atMs: number = this.now): void {
    checkTime(atMs, 'fault: atMs');
    checkFault(fault, (name) => this.byName.has(name));
    this.push(Math.max(this.now, atMs), EvKind.Fault, undefined, { fault });
  }

  /** Schedules a whole fault schedule, checked whole first: one bad entry and none of it is queued. */
  schedule(faults: ReadonlyArray<TimedFault>): void {
    if (!Array.isArray(faults)) throw new BadArgument(`schedule must be a list of { atMs, fault }, got ${shown(faults)}`);
    faults.forEach((f: TimedFault | null | undefined, i) => {
      if (typeof f !== 'object' || f === null) throw new BadArgument(`schedule[${i}] must be { atMs, fault }, got ${shown(f)}`);
      checkTime(f.atMs, `schedule[${i}]: atMs`);
      checkFault(f.fault, (name) => this.byName.has(name), `schedule[${i}]: fault`);
    });
    for (const f of faults) this.push(Math.max(this.now, f.atMs), EvKind.Fault, undefined, { fault: f.fault });
  }

  // ------------------------------------------------------------------------------------------
  // Inspection

  /** Every node's name, in the order added. */
  names(): ReadonlyArray<string> {
    return this.nodes.map((n) => n.name);
  }

  /** A node's current view. */
  node(name: string): NodeView {
    const n = this.named(name, 'node: name');
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
    const n = this.named(name, 'status: name');
    return n.alive && n.kind.status !== undefined ? n.kind.status(n.state) : undefined;
  }

  /** The node's name for an id, if it is one of ours. */
  nameOf(id: NodeId): string | undefined {
    return this.byId.get(id)?.name;
  }

  /** A node's routing table (empty when it is down). */
  routingTable(name: string): ReadonlyArray<KindPeer> {
    const n = this.named(name, 'routingTable: name');
    return n.alive ? n.kind.peers(n.state) : [];
  }

  /** The names of a node's routing-table peers. */
  peersOf(name: string): ReadonlyArray<string> {
    this.named(name, 'peersOf: name');
    return this.routingTable(name).map((p) => this.byId.get(p.id)?.name ?? `?${p.id}`);
  }

  /** The link a node's connection runs on, while it is open. */
  linkOf(name: string, conn: ConnId): number | undefined {
    return this.named(name, 'linkOf: name').conns.get(conn)?.link.id;
  }

  /** Everything a node delivered (handlers and queue alike), oldest first. */
  delivered(name: string): ReadonlyArray<Delivery> {
    this.named(name, 'delivered: name');
    return this.deliveries.get(name) ?? [];
  }

  /** Every event a node emitted, with its virtual time. */
  eventsOf(name: string): ReadonlyArray<{ readonly at: number; readonly event: NodeEvent }> {
    this.named(name, 'eventsOf: name');
    return this.events.get(name) ?? [];
  }

  /** Takes up to `max` messages (a whole number ≥ 0, or Infinity) from a node's receive queue. */
  recv(name: string, max = Infinity): ReadonlyArray<Message> {
    const n = this.named(name, 'recv: name');
    checkCount(max, 'recv: max');
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

  // ------------------------------------------------------------------------------------------
  // Argument checks (each throws BadArgument naming the argument; `where` names the call)

  /** Checks a command (`checkCommand`), then queues it at `atMs`, or now if that is past. */
  private issue(cmd: Command, atMs: number, where: string): void {
    const n = this.checkCommand(cmd, atMs, where);
    if (cmd._tag === 'Whisper') {
      void this.whisperCmd(n, cmd.to, cmd.packets, atMs);
      return;
    }
    this.push(Math.max(this.now, atMs), EvKind.Command, n, { command: cmd });
  }

  /** The node named `name`, which must be one of ours. */
  private named(name: unknown, what: string): NodeRec {
    const n = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (n === undefined) throw new BadArgument(`${what} ${shown(name)} is not a node of this simulation`);
    return n;
  }

  /** The id of one of our nodes, given by name or id. */
  private peerId(nameOrId: unknown, what: string): NodeId {
    const id = typeof nameOrId === 'string' ? this.idOf(nameOrId) : undefined;
    if (id === undefined || !this.byId.has(id)) throw new BadArgument(`${what} ${shown(nameOrId)} is neither the name nor the id of a node of this simulation`);
    return id;
  }

  /** The node a command is for, once the command and its time are found to be ones it can run. */
  private checkCommand(cmd: Command, atMs: number, where: string): NodeRec {
    checkTime(atMs, `${where}: atMs`);
    if (typeof cmd !== 'object' || cmd === null) throw new BadArgument(`${where}: a command must be an object, got ${shown(cmd)}`);
    const what = `${where} ${String(cmd._tag)}`;
    const n = this.named(cmd.node, `${what}: node`);
    const known = (id: unknown, field: string): void => {
      if (typeof id !== 'string' || !this.byId.has(id as NodeId)) throw new BadArgument(`${what}: ${field} ${shown(id)} is not the id of a node of this simulation`);
    };
    switch (cmd._tag) {
      case 'Broadcast':
        checkByte(cmd.type ?? 0, `${what}: type`);
        return this.sendable(n, { _tag: 'Send', at: 0, packets: cmd.packets, flag: 0, type: cmd.type ?? 0 }, atMs, what);
      case 'Send':
        checkByte(cmd.flag, `${what}: flag`);
        checkByte(cmd.type, `${what}: type`);
        return this.sendable(n, { _tag: 'Send', at: 0, packets: cmd.packets, flag: cmd.flag, type: cmd.type }, atMs, what);
      case 'Whisper':
        known(cmd.to, 'to');
        return this.sendable(n, { _tag: 'Reply', at: 0, cmd: 0, to: cmd.to, packets: cmd.packets }, atMs, what);
      case 'Connect': {
        const a = cmd.address as Partial<Address> | null | undefined;
        if (typeof a !== 'object' || a === null) throw new BadArgument(`${what}: address must be { host, port }, got ${shown(a)}`);
        checkDialAddress(a.host, a.port);
        // Any id may be expected (a wrong one is how a test makes the handshake fail).
        if (cmd.expectedId !== undefined && typeof cmd.expectedId !== 'string') throw new BadArgument(`${what}: expectedId must be a node id, got ${shown(cmd.expectedId)}`);
        return n;
      }
      case 'Disconnect':
        known(cmd.peer, 'peer');
        return n;
      case 'RequestPeers':
      case 'Shutdown':
        return n;
      case 'Input': {
        const input = cmd.input as Partial<Input> | null | undefined;
        if (typeof input !== 'object' || input === null || typeof input._tag !== 'string') throw new BadArgument(`${what}: input must be a core input ({ _tag, ... }), got ${shown(input)}`);
        return input._tag === 'Send' || input._tag === 'Reply' ? this.sendable(n, cmd.input, atMs, what) : n;
      }
      default:
        throw new BadArgument(
          `${where}: ${shown((cmd as { _tag?: unknown })._tag)} is not a command (Broadcast, Send, Whisper, Connect, Disconnect, RequestPeers, Shutdown or Input)`,
        );
    }
  }

  /**
   * `n`, once the packets of `input` (a Send or Reply) are found to be a list its core would
   * send. The time is part of the message, so the check reads the node's clock at the command's
   * time as the engine does (`startAtMs` + virtual time + skew), with the skew it has now.
   */
  private sendable(n: NodeRec, input: Input, atMs: number, what: string): NodeRec {
    const packets = (input as { readonly packets?: unknown }).packets;
    if (!Array.isArray(packets)) throw new BadArgument(`${what}: packets must be a list of wire values, got ${shown(packets)}`);
    const at = (this.options.startAtMs ?? SIM_EPOCH_MS) + Math.max(this.now, atMs) + n.skewMs;
    const why = n.kind.refusal?.(n.env, { ...input, at });
    if (why !== undefined) throw new BadArgument(`${what}: packets refused: ${why}`);
    return n;
  }
}
