/**
 * The simulator: whole networks of real cores on a virtual network and a virtual clock.
 *
 * It is the second shell: it executes the same Effects the socket shell executes (dial, write,
 * close, deliver, emit) against virtual links, and feeds back the same Inputs (accepted, dial
 * outcome, bytes, closed, tick). One seed drives every random choice, so a seed and a scenario
 * give a byte-identical trace. Time is virtual milliseconds since the start; a node's clock is
 * `startAtMs + now + skewMs`.
 */
import type { Address, ConnId, ConnectError, DeliveredMessage, Effect, Input, NodeEvent, NodeId } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import type { KindPeer } from './kind.js';
import type { Fault, TimedFault } from './faults.js';
import { EventQueue } from './queue.js';
import { Prng, deriveSeed } from './prng.js';
import { drawLatency, type Latency } from './latency.js';
import { Trace } from './trace.js';
import { BroadcastStats, keyOf, type BroadcastSummary } from './stats.js';
import {
  EvKind,
  addressKey,
  Ev,
  type EvExtra,
  type End,
  type Link,
  type NodeRec,
  type SimHandler,
} from './network.js';
import { Message, type ReplyOutcome } from '../api/message.js';
import { ReplyFailed } from '../api/errors.js';
import { FaultState } from './fault-state.js';
import { Links } from './links.js';


import {
  INBOX_MAX,
  RUN_EVENTS_MAX,
  STUCK_TICKS_MAX,
  SIM_DIAL_TIMEOUT_MS,
  SIM_EPOCH_MS,
  describeEffect,
  describeInput,
  type Command,
  type Delivery,
  type NodeOptions,
  type NodeView,
  type Observation,
  type SimOptions,
} from './options.js';

export * from './options.js';

/** A simulated network. */
export class Simulation {
  /** Virtual time, ms since the start. */
  now = 0;
  /** Events processed so far. */
  eventsProcessed = 0;
  /** The run seed. */
  readonly seed: number;
  /** The trace. */
  readonly trace: Trace;
  /** Broadcast statistics. */
  readonly broadcastStats = new BroadcastStats();

  private readonly queue = new EventQueue<Ev>();
  private seq = 0;
  private busy = 0;
  private readonly nodes: NodeRec[] = [];
  private readonly byName = new Map<string, NodeRec>();
  private readonly byId = new Map<NodeId, NodeRec>();
  private readonly faults: FaultState;
  private readonly latencyRng: Prng;
  private readonly latencyModel: Latency;
  private readonly startAtMs: number;
  private readonly record: boolean;
  private readonly inboxMax: number;
  private readonly links: Links;
  private readonly observers: Array<(o: Observation) => void> = [];
  private readonly deliveries = new Map<string, Delivery[]>();
  private readonly events = new Map<string, Array<{ readonly at: number; readonly event: NodeEvent }>>();
  private inboxDropped = 0;

  /** A new, empty network. */
  constructor(private readonly options: SimOptions) {
    this.seed = options.seed >>> 0;
    this.trace = new Trace(options.trace ?? 'hash', options.traceLinesMax);
    this.latencyRng = Prng.derive(this.seed, 'latency');
    this.latencyModel = options.latency ?? { _tag: 'Uniform', minMs: 5, maxMs: 50 };
    this.startAtMs = options.startAtMs ?? SIM_EPOCH_MS;
    this.record = options.record ?? true;
    this.inboxMax = options.inboxMax ?? INBOX_MAX;
    this.faults = new FaultState(this.hooks());
    this.links = new Links(
      {
        now: () => this.now,
        latency: () => this.latency(),
        faults: this.faults,
        push: (time, kind, node, extra) => this.push(time, kind, node, extra),
        pushBytes: (time, to, bytes) => this.pushBytes(time, to, bytes),
        linkDown: (link) => this.linkDown(link),
      },
      Prng.derive(this.seed, 'split'),
      Math.max(1, options.chunksMax ?? 1),
      options.dialTimeoutMs ?? SIM_DIAL_TIMEOUT_MS,
    );
  }

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

  /** Registers a user handler on a node (handlers run in registration order; the first to claim wins). */
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
   * The promise settles when the core reports the reply sent or failed; it is there for
   * inspection after a run, since promise callbacks run outside virtual time.
   */
  whisper(node: string, to: string | NodeId, packets: ReadonlyArray<WireValue>): Promise<ReplyOutcome> {
    return this.whisperCmd(this.rec(node), this.idOf(to), packets, this.now);
  }

  private whisperCmd(n: NodeRec, to: NodeId, packets: ReadonlyArray<WireValue>, atMs: number): Promise<ReplyOutcome> {
    const cmd = ++n.cmdCount;
    const outcome = new Promise<ReplyOutcome>((resolve, reject) => n.replies.set(cmd, { resolve, reject }));
    outcome.catch(() => undefined);
    this.push(Math.max(this.now, atMs), EvKind.Command, n, { command: { _tag: 'Whisper', node: n.name, to, packets }, cmd });
    return outcome;
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
  // Running

  /** Processes the next event; false when there is none. */
  step(): boolean {
    const ev = this.queue.pop();
    if (ev === undefined) return false;
    this.process(ev);
    return true;
  }

  /** Runs every event due up to virtual time `tMs`, then sets the clock there; throws past `maxEvents` events. */
  runUntil(tMs: number, maxEvents = RUN_EVENTS_MAX): void {
    const eventsMax = this.eventsProcessed + maxEvents;
    for (let ev = this.queue.popUntil(tMs); ev !== undefined; ev = this.queue.popUntil(tMs)) {
      if (this.eventsProcessed >= eventsMax) {
        this.queue.push(ev);
        throw new Error(`more than ${maxEvents} events before ${tMs} ms (at ${this.now} ms): raise maxEvents if that is expected`);
      }
      this.process(ev);
    }
    if (tMs > this.now) this.now = tMs;
  }

  /** Runs for `ms` of virtual time (at most `maxEvents` events). */
  runFor(ms: number, maxEvents = RUN_EVENTS_MAX): void {
    this.runUntil(this.now + ms, maxEvents);
  }

  /**
   * Runs until nothing but timers is pending (no data in flight, no command or fault queued),
   * or until `maxMs` of virtual time or `maxEvents` events have passed. True when idle.
   */
  runUntilIdle(opts: { readonly maxMs?: number; readonly maxEvents?: number } = {}): boolean {
    const limit = this.now + (opts.maxMs ?? 3_600_000);
    const eventsMax = this.eventsProcessed + (opts.maxEvents ?? RUN_EVENTS_MAX);
    while (this.busy > 0 && this.eventsProcessed < eventsMax) {
      const ev = this.queue.popUntil(limit);
      if (ev === undefined) break;
      this.process(ev);
    }
    return this.busy === 0;
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

  /** Broadcast figures since the last `resetStats`, plus queue drops. */
  stats(): BroadcastSummary & { readonly events: number; readonly inboxDropped: number } {
    return { ...this.broadcastStats.summary(), events: this.eventsProcessed, inboxDropped: this.inboxDropped };
  }

  /** Starts a new measurement window. */
  resetStats(): void {
    this.broadcastStats.reset();
  }

  /** The trace hash so far. */
  traceHash(): string {
    return this.trace.digest();
  }

  /** The line that replays this run from its seed, for failure messages. */
  replayHint(testFile = '<test file>'): string {
    return `seed ${this.seed}: replay with TS2P_SIM_SEED=${this.seed} npx vitest run ${testFile}`;
  }

  // ------------------------------------------------------------------------------------------
  // Internals: events

  private push(time: number, kind: EvKind, node: NodeRec | undefined, extra?: EvExtra): void {
    if (kind !== EvKind.Tick) this.busy++;
    this.queue.push(new Ev(time, this.seq++, kind, node, node === undefined ? 0 : node.gen, extra?.end, undefined, extra));
  }

  private pushBytes(time: number, to: End, bytes: Uint8Array): void {
    this.busy++;
    this.queue.push(new Ev(time, this.seq++, EvKind.Bytes, to.node, to.node.gen, to, bytes, undefined));
  }

  /** Runs one event taken from the queue. */
  private process(ev: Ev): void {
    if (ev.kind !== EvKind.Tick) this.busy--;
    if (ev.time > this.now) this.now = ev.time;
    this.eventsProcessed++;
    this.dispatch(ev);
  }

  private dispatch(ev: Ev): void {
    if (ev.kind === EvKind.Fault) return this.applyFault(ev.extra?.fault as Fault);
    if (ev.kind === EvKind.Call) return (ev.extra?.call as () => void)();
    if (ev.kind === EvKind.Syn) return this.links.onSyn(ev.end as End, ev.extra?.remote as Address);
    const n = ev.node as NodeRec;
    if (ev.gen !== n.gen || !n.alive) return;
    if (n.paused) {
      n.backlog.push(ev);
      return;
    }
    const at = this.clock(n);
    switch (ev.kind) {
      case EvKind.Tick:
        if (n.tickAt !== ev.time) return;
        n.tickAt = undefined;
        return this.stepNode(n, { _tag: 'Tick', at }, true);
      case EvKind.Bytes: {
        const end = ev.end as End;
        if (end.closed || end.link.reset) return;
        return this.stepNode(n, { _tag: 'BytesReceived', at, conn: end.conn, bytes: ev.bytes as Uint8Array });
      }
      case EvKind.Closed: {
        const end = ev.end as End;
        if (end.closed) return;
        end.closed = true;
        n.conns.delete(end.conn);
        return this.stepNode(n, { _tag: 'ConnectionClosed', at, conn: end.conn, reason: ev.extra?.reason ?? { _tag: 'PeerClosed' } });
      }
      case EvKind.Accepted: {
        const end = ev.end as End;
        if (end.closed) return;
        return this.stepNode(n, { _tag: 'ConnectionAccepted', at, conn: end.conn, remote: ev.extra?.remote as Address });
      }
      case EvKind.DialOk: {
        const end = ev.end as End;
        if (end.closed || end.link.reset) return;
        return this.stepNode(n, { _tag: 'DialSucceeded', at, conn: end.conn });
      }
      case EvKind.DialFail: {
        const end = ev.end as End;
        if (end.closed) return;
        end.closed = true;
        n.conns.delete(end.conn);
        return this.stepNode(n, { _tag: 'DialFailed', at, conn: end.conn, error: ev.extra?.error as ConnectError });
      }
      case EvKind.Command:
        return this.runCommand(n, ev.extra?.command as Command, at, ev.extra?.cmd);
    }
  }

  /** The node's own clock now. */
  private clock(n: NodeRec): number {
    return this.startAtMs + this.now + n.skewMs;
  }

  private stepNode(n: NodeRec, input: Input, wasTick = false): void {
    const [state, effects] = n.kind.step(n.env, n.state, input);
    n.state = state;
    if (this.trace.on) this.traceStep(n, input, effects);
    for (const e of effects) this.execute(n, e);
    this.armTick(n, wasTick);
    if (this.observers.length > 0) this.tell({ _tag: 'Step', at: this.now, node: n.name, input, effects });
  }

  private armTick(n: NodeRec, afterTick: boolean): void {
    if (!n.alive) return;
    const w = n.kind.nextWakeup(n.state);
    if (w === undefined) return;
    let t = w - this.startAtMs - n.skewMs;
    // A core that still wants a tick right after one gets it a millisecond later, not in a loop;
    // one that keeps doing so breaks the contract (a due Tick leaves nothing due) and is stopped.
    if (afterTick) {
      n.stuckTicks = t <= this.now ? n.stuckTicks + 1 : 0;
      if (n.stuckTicks > STUCK_TICKS_MAX) {
        throw new Error(`${n.name}: the core wanted a tick at once after ${STUCK_TICKS_MAX} ticks in a row (wake-up ${w}, ${this.replayHint()})`);
      }
    }
    t = Math.max(t, afterTick ? this.now + 1 : this.now);
    if (n.tickAt !== undefined && n.tickAt <= t && n.tickAt >= this.now) return;
    n.tickAt = t;
    this.push(t, EvKind.Tick, n);
  }

  private tell(o: Observation): void {
    for (const f of this.observers) f(o);
  }

  // ------------------------------------------------------------------------------------------
  // Internals: executing effects

  private execute(n: NodeRec, e: Effect): void {
    switch (e._tag) {
      case 'Write': {
        this.broadcastStats.onWrite(e.bytes.length);
        const end = n.conns.get(e.conn);
        if (end !== undefined && !end.closed) this.links.transmit(end, e.bytes);
        return;
      }
      case 'Dial':
        return this.links.dial(n, e.conn, e.address);
      case 'Close': {
        const end = n.conns.get(e.conn);
        if (end === undefined || end.closed) return;
        end.closed = true;
        n.conns.delete(e.conn);
        this.linkDown(end.link);
        this.links.finish(end, { _tag: 'PeerClosed' });
        return;
      }
      case 'Deliver':
        return this.deliver(n, e.message);
      case 'Emit':
        if (e.event._tag === 'ReplySent' || e.event._tag === 'ReplyFailed') this.settleReply(n, e.event);
        if (this.record) this.listFor(this.events, n.name).push({ at: this.now, event: e.event });
        return;
    }
  }

  private deliver(n: NodeRec, message: DeliveredMessage): void {
    let claimed = false;
    let msg: Message | undefined;
    for (const h of n.handlers) {
      msg ??= this.message(n, message);
      if (h(msg, message.conn) === true) {
        claimed = true;
        break;
      }
    }
    const queued = !claimed && this.inboxMax > 0 && n.kind.isQueuedForUser(message);
    if (queued) {
      n.inbox.push(msg ?? this.message(n, message));
      if (n.inbox.length > this.inboxMax) {
        n.inbox.shift();
        this.inboxDropped++;
      }
    }
    this.broadcastStats.onDeliver(message, this.now);
    const delivery: Delivery = { at: this.now, node: n.name, incarnation: n.incarnation, message, claimed, queued };
    if (this.record) this.listFor(this.deliveries, n.name).push(delivery);
    if (this.observers.length > 0) this.tell({ _tag: 'Delivered', delivery });
  }

  private settleReply(n: NodeRec, e: Extract<NodeEvent, { _tag: 'ReplySent' | 'ReplyFailed' }>): void {
    const r = n.replies.get(e.cmd);
    if (r === undefined) return;
    n.replies.delete(e.cmd);
    if (e._tag === 'ReplySent') r.resolve({ routed: e.routed });
    else r.reject(new ReplyFailed(e.to, e.reason));
  }

  private message(n: NodeRec, m: DeliveredMessage): Message {
    const gen = n.gen;
    return new Message(m, {
      protocol: n.kind.protocol(n.env),
      reply: (to, packets) =>
        n.gen === gen && n.alive ? this.whisperCmd(n, to, packets, this.now) : Promise.reject(new ReplyFailed(to, 'the node restarted')),
    });
  }

  private runCommand(n: NodeRec, c: Command, at: number, cmd: number | undefined): void {
    const input = this.commandInput(n, c, at, cmd);
    if (c._tag === 'Broadcast') {
      const expected = this.nodes.filter((x) => x.alive && x !== n && x.subnet === n.subnet).length;
      this.broadcastStats.onBroadcast(keyOf(n.id, [c.type ?? 0, ...c.packets]), this.now, expected);
    }
    if (this.observers.length > 0) this.tell({ _tag: 'Command', at: this.now, node: n.name, command: c, input });
    this.stepNode(n, input);
  }

  private commandInput(n: NodeRec, c: Command, at: number, cmd: number | undefined): Input {
    switch (c._tag) {
      case 'Broadcast':
        return { _tag: 'Send', at, packets: c.packets, flag: 0, type: c.type ?? 0 };
      case 'Send':
        return { _tag: 'Send', at, packets: c.packets, flag: c.flag, type: c.type };
      case 'Whisper':
        return { _tag: 'Reply', at, cmd: cmd ?? ++n.cmdCount, to: c.to, packets: c.packets };
      case 'Connect':
        return c.expectedId === undefined
          ? { _tag: 'Connect', at, cmd: ++n.cmdCount, address: c.address }
          : { _tag: 'Connect', at, cmd: ++n.cmdCount, address: c.address, expectedId: c.expectedId };
      case 'Disconnect':
        return { _tag: 'Disconnect', at, peer: c.peer };
      case 'RequestPeers':
        return { _tag: 'RequestPeers', at };
      case 'Shutdown':
        return { _tag: 'Shutdown', at };
      case 'Input':
        return { ...c.input, at };
    }
  }

  // ------------------------------------------------------------------------------------------
  // Internals: node lifecycle and faults

  private boot(n: NodeRec): void {
    const seed = deriveSeed(this.seed, `${n.name}#${n.incarnation}`);
    n.env = n.kind.makeEnv({ name: n.name, subnet: n.subnet, address: n.address, salt: n.salt, seed, limits: n.limits });
    n.id = n.kind.nodeId(n.env);
    n.alive = true;
    n.paused = false;
    n.state = n.kind.init(n.env, this.clock(n));
    if (this.trace.on) this.trace.add(`${this.now} ${n.name} boot ${n.incarnation} ${n.id}`);
    this.armTick(n, false);
  }

  private applyFault(f: Fault): void {
    if (this.trace.on) this.trace.add(`${this.now} fault ${JSON.stringify(f)}`);
    this.faults.apply(f);
    if (this.observers.length > 0) this.tell({ _tag: 'Fault', at: this.now, fault: f });
  }

  private hooks(): ConstructorParameters<typeof FaultState>[0] {
    return {
      node: (name) => this.rec(name),
      nodes: () => this.nodes,
      now: () => this.now,
      crash: (n) => this.crash(n),
      restart: (n, rejoin) => {
        if (n.alive) return;
        n.gen++;
        n.incarnation++;
        this.boot(n);
        for (const r of rejoin) this.push(this.now, EvKind.Command, n, { command: { _tag: 'Connect', node: n.name, address: this.rec(r).address } });
      },
      reset: (link) => this.links.reset(link),
      resume: (n) => {
        if (!n.paused) return;
        n.paused = false;
        const backlog = n.backlog;
        n.backlog = [];
        for (const ev of backlog) if (ev.kind !== EvKind.Tick) this.requeue(ev);
        n.tickAt = undefined;
        this.armTick(n, false);
      },
      reskew: (n) => {
        n.tickAt = undefined;
        this.armTick(n, false);
      },
      resend: (link, side, item) => {
        const to = link.ends[side];
        const from = link.ends[(1 - side) as 0 | 1];
        if (to === undefined || from === undefined) return;
        if (item === null) this.links.finish(from, { _tag: 'PeerClosed' });
        else this.links.transmit(from, item);
      },
    };
  }

  private requeue(ev: Ev): void {
    this.busy++;
    this.queue.push(new Ev(this.now, this.seq++, ev.kind, ev.node, ev.gen, ev.end, ev.bytes, ev.extra));
  }

  private crash(n: NodeRec): void {
    if (!n.alive) return;
    for (const end of n.conns.values()) {
      end.closed = true;
      this.linkDown(end.link);
      this.links.finish(end, { _tag: 'PeerClosed', detail: 'crashed' });
    }
    n.conns.clear();
    n.alive = false;
    n.paused = false;
    n.gen++;
    n.state = undefined;
    n.tickAt = undefined;
    n.backlog = [];
    n.inbox = [];
    for (const r of n.replies.values()) r.reject(new Error(`${n.name} crashed`));
    n.replies.clear();
    if (this.trace.on) this.trace.add(`${this.now} ${n.name} crash`);
  }

  private linkDown(link: Link): void {
    if (this.observers.length > 0) this.tell({ _tag: 'LinkDown', at: this.now, link: link.id });
  }

  // ------------------------------------------------------------------------------------------
  // Internals: small helpers

  private latency(): number {
    return drawLatency(this.latencyModel, this.latencyRng);
  }

  private rec(name: string): NodeRec {
    const n = this.byName.get(name);
    if (n === undefined) throw new Error(`no node named ${name}`);
    return n;
  }

  private idOf(nameOrId: string): NodeId {
    return this.byName.get(nameOrId)?.id ?? (nameOrId as NodeId);
  }

  private listFor<T>(m: Map<string, T[]>, name: string): T[] {
    let xs = m.get(name);
    if (xs === undefined) m.set(name, (xs = []));
    return xs;
  }

  private traceStep(n: NodeRec, input: Input, effects: ReadonlyArray<Effect>): void {
    const t = this.trace;
    t.add(`${this.now} ${n.name} ${describeInput(input)}`, input._tag === 'BytesReceived' ? input.bytes : undefined);
    for (const e of effects) t.add(`  ${describeEffect(e)}`, e._tag === 'Write' ? e.bytes : undefined);
  }
}
