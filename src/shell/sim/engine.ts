/**
 * The simulator's engine: the virtual clock, the event queue and the loop that feeds each node's
 * core its inputs and carries out its effects.
 *
 * It is the second shell: it executes the same Effects the socket shell executes (dial, write,
 * close, deliver, emit) against virtual links, and feeds back the same Inputs (accepted, dial
 * outcome, bytes, closed, tick). One seed drives every random choice, so a seed and a scenario
 * give a byte-identical trace. Time is virtual milliseconds since the start; a node's clock is
 * `startAtMs + now + skewMs`. The public surface (building, commands, faults, inspection) is
 * `Simulation` in simulation.ts.
 */
import type { Address, ConnectError, DeliveredMessage, Effect, Input, NodeEvent, NodeId } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import type { Fault } from './faults.js';
import { EventQueue } from './queue.js';
import { Prng, deriveSeed } from './prng.js';
import { drawLatency, type Latency } from './latency.js';
import { Trace } from './trace.js';
import { BroadcastStats, keyOf } from './stats.js';
import { EvKind, Ev, type EvExtra, type End, type Link, type NodeRec } from './network.js';
import { Message, type ReplyOutcome } from '../api/message.js';
import { ReplyFailed } from '../api/errors.js';
import { runHandlers } from '../api/handlers.js';
import { FaultState } from './fault-state.js';
import { Links } from './links.js';
import { checkCount, checkTime } from './arguments.js';
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
  type Observation,
  type SimOptions,
} from './options.js';

/** The engine under a simulated network (see the header). */
export class SimEngine {
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
  protected readonly nodes: NodeRec[] = [];
  protected readonly byName = new Map<string, NodeRec>();
  protected readonly byId = new Map<NodeId, NodeRec>();
  private readonly faults: FaultState;
  private readonly latencyRng: Prng;
  private readonly latencyModel: Latency;
  private readonly startAtMs: number;
  private readonly record: boolean;
  private readonly inboxMax: number;
  protected readonly links: Links;
  protected readonly observers: Array<(o: Observation) => void> = [];
  protected readonly deliveries = new Map<string, Delivery[]>();
  protected readonly events = new Map<string, Array<{ readonly at: number; readonly event: NodeEvent }>>();
  protected inboxDropped = 0;

  /** A new, empty network. */
  constructor(protected readonly options: SimOptions) {
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
  // Running

  /** Processes the next event; false when there is none. */
  step(): boolean {
    const ev = this.queue.pop();
    if (ev === undefined) return false;
    this.process(ev);
    return true;
  }

  /**
   * Runs every event due up to virtual time `tMs`, then sets the clock there; throws past
   * `maxEvents` events. Throws `BadArgument`, running nothing, unless `tMs` is a finite number
   * ≥ 0 and `maxEvents` a whole number ≥ 0 or Infinity.
   */
  runUntil(tMs: number, maxEvents = RUN_EVENTS_MAX): void {
    checkTime(tMs, 'runUntil: tMs');
    checkCount(maxEvents, 'runUntil: maxEvents');
    this.runTo(tMs, maxEvents);
  }

  /** Runs for `ms` of virtual time (at most `maxEvents` events); its arguments are checked as `runUntil`'s. */
  runFor(ms: number, maxEvents = RUN_EVENTS_MAX): void {
    checkTime(ms, 'runFor: ms');
    checkCount(maxEvents, 'runFor: maxEvents');
    this.runTo(this.now + ms, maxEvents);
  }

  /** `runUntil` with its arguments already checked. */
  private runTo(tMs: number, maxEvents: number): void {
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

  /**
   * Runs until nothing but timers is pending (no data in flight, no command or fault queued),
   * or until `maxMs` of virtual time or `maxEvents` events have passed. True when idle. Throws
   * `BadArgument`, running nothing, for a `maxMs` or `maxEvents` `runUntil` would refuse.
   */
  runUntilIdle(opts: { readonly maxMs?: number; readonly maxEvents?: number } = {}): boolean {
    if (opts.maxMs !== undefined) checkTime(opts.maxMs, 'runUntilIdle: maxMs');
    if (opts.maxEvents !== undefined) checkCount(opts.maxEvents, 'runUntilIdle: maxEvents');
    const limit = this.now + (opts.maxMs ?? 3_600_000);
    const eventsMax = this.eventsProcessed + (opts.maxEvents ?? RUN_EVENTS_MAX);
    while (this.busy > 0 && this.eventsProcessed < eventsMax) {
      const ev = this.queue.popUntil(limit);
      if (ev === undefined) break;
      this.process(ev);
    }
    return this.busy === 0;
  }

  /** The line that replays this run from its seed, for failure messages. */
  replayHint(testFile = '<test file>'): string {
    return `seed ${this.seed}: replay with TS2P_SIM_SEED=${this.seed} npx vitest run ${testFile}`;
  }

  // ------------------------------------------------------------------------------------------
  // Internals: events

  protected push(time: number, kind: EvKind, node: NodeRec | undefined, extra?: EvExtra): void {
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
    if ((ev.kind === EvKind.Bytes || ev.kind === EvKind.Closed || ev.kind === EvKind.DialOk) && this.holdBack(ev)) return;
    this.arrive(n, ev);
  }

  /**
   * Holds a Bytes, Closed or DialOk event (the answer to a dial, on its way back to the dialer)
   * at its receiving end, in `FaultState`, when its direction is blocked (a cut or a hold) or
   * events of its direction wait there already, so each direction stays in order whatever was
   * in flight when the fault began; true when held. A dialer whose answer is held stays dialling
   * until the direction opens (its core may give up on the dial first, as on a socket). A reset is news
   * at both ends at once, never held; data for a closed end or a reset link is left for `arrive`
   * to drop.
   */
  private holdBack(ev: Ev): boolean {
    const end = ev.end as End;
    const link = end.link;
    if (end.closed || link.reset) return false;
    if (link.held[end.side].length === 0) {
      if (!this.faults.faulty) return false;
      const from = link.ends[(1 - end.side) as 0 | 1];
      if (from === undefined || !this.faults.blocked(from.node.index, end.node.index)) return false;
    }
    this.faults.hold(link, end.side, ev);
    return true;
  }

  /** An event reaches its live node: the node takes it now, or after it resumes if paused. */
  private arrive(n: NodeRec, ev: Ev): void {
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
      case EvKind.Drained: {
        const end = ev.extra?.end as End;
        if (end.closed) return;
        return this.stepNode(n, { _tag: 'Drained', at, conn: end.conn, token: ev.extra?.token ?? 0 });
      }
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

  /**
   * Queues a whisper command. The promise settles once: with the core's outcome, or with
   * `ReplyFailed` at once when the node is down (`NodeDown`) or when it crashes first
   * (`NodeCrashed`). It never rejects otherwise, and an unobserved failure is not thrown.
   */
  protected whisperCmd(n: NodeRec, to: NodeId, packets: ReadonlyArray<WireValue>, atMs: number): Promise<ReplyOutcome> {
    if (!n.alive) return quiet(Promise.reject(new ReplyFailed(to, 'NodeDown')));
    const cmd = ++n.cmdCount;
    const outcome = quiet(new Promise<ReplyOutcome>((resolve, reject) => n.replies.set(cmd, { to, resolve, reject })));
    this.push(Math.max(this.now, atMs), EvKind.Command, n, { command: { _tag: 'Whisper', node: n.name, to, packets }, cmd });
    return outcome;
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
      case 'AwaitDrain': {
        // The virtual network holds no send queue: what a node wrote has left once it has arrived.
        const end = n.conns.get(e.conn);
        if (end !== undefined && !end.closed) this.push(Math.max(this.now, end.peer?.lastArrival ?? this.now), EvKind.Drained, n, { end, token: e.token });
        return;
      }
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

  /** Runs the node's handlers as a socket runs them (one that throws claims nothing and is counted), then queues what is left. */
  private deliver(n: NodeRec, message: DeliveredMessage): void {
    const msg = n.handlers.length > 0 ? this.message(n, message) : undefined;
    const claimed = msg !== undefined && runHandlers(n.handlers, msg, () => void n.handlerErrors++);
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
    else r.reject(new ReplyFailed(e.to, e.reason, e.detail));
  }

  private message(n: NodeRec, m: DeliveredMessage): Message {
    const gen = n.gen;
    return new Message(m, {
      protocol: n.kind.protocol(n.env),
      // A message of an earlier incarnation: the node crashed since it arrived.
      reply: (to, packets) => (n.gen === gen ? this.whisperCmd(n, to, packets, this.now) : quiet(Promise.reject(new ReplyFailed(to, 'NodeCrashed')))),
    });
  }

  private runCommand(n: NodeRec, c: Command, at: number, cmd: number | undefined): void {
    const input = this.commandInput(n, c, at, cmd);
    if (c._tag === 'Broadcast') {
      const expected = this.nodes.filter((x) => x.alive && x !== n && x.subnet === n.subnet).length;
      this.broadcastStats.onBroadcast(keyOf(n.id, [c.type ?? 0, ...c.packets]), this.now, at, expected);
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

  protected boot(n: NodeRec): void {
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
        n.tickAt = undefined;
        // What reached the node while it was paused is past the network (no fault holds it back
        // now): the node takes it at once, in order, before anything still on its way.
        for (const ev of backlog) if (ev.kind !== EvKind.Tick) this.arrive(n, ev);
        this.armTick(n, false);
      },
      reskew: (n) => {
        n.tickAt = undefined;
        this.armTick(n, false);
      },
      release: (ev) => this.dispatch(ev),
    };
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
    for (const r of n.replies.values()) r.reject(new ReplyFailed(r.to, 'NodeCrashed'));
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

  protected rec(name: string): NodeRec {
    const n = this.byName.get(name);
    if (n === undefined) throw new Error(`no node named ${name}`);
    return n;
  }

  protected idOf(nameOrId: string): NodeId {
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

/** `p` itself, with a no-op catch attached: a failure nobody awaits is not thrown, and one awaited still rejects. */
const quiet = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => undefined);
  return p;
};
