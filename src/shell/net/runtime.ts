/**
 * Runs a pure core on real sockets and a real clock.
 *
 * Owns: the core's state (always the one `step` returned last), the input queue, effect execution,
 * and ONE timer armed for the core's next wake-up. Inputs that arrive while a step runs (a user
 * call made from inside a delivery, a socket fact) are queued and stepped in order, so `step` is
 * never re-entered. Writes made during one task leave in one batch per socket (handed to the
 * transport's flush in a microtask).
 * Deliberately does not: interpret messages or decide anything about the protocol.
 */
import type { Address, CloseReason, ConnectError, ConnId, DeliveredMessage, Effect, Input, NodeEvent } from '../../core/types.js';
import { Transport, type TransportOptions, type TransportSink } from './transport.js';

/** The three functions of a core, bound to its environment. */
export interface Core<S> {
  /** A fresh state at this time. */
  readonly init: (at: number) => S;
  /** One input in, the next state and the effects out. */
  readonly step: (state: S, input: Input) => readonly [S, ReadonlyArray<Effect>];
  /** When the core next wants a Tick, in clock milliseconds. */
  readonly nextWakeup: (state: S) => number | undefined;
}

/** Log levels, quietest last. */
export type LogLevel = 'debug' | 'info' | 'warn';

/** What the runtime tells its owner (the socket facade). */
export interface RuntimeHooks {
  readonly deliver: (message: DeliveredMessage) => void;
  readonly event: (event: NodeEvent) => void;
  readonly slowPeer: (conn: ConnId, queuedBytes: number) => void;
  readonly log: (level: LogLevel, message: string) => void;
}

/** A core running on real sockets. */
export class Runtime<S> {
  private state: S | undefined;
  private core: Core<S> | undefined;
  private readonly queue: Input[] = [];
  private stepping = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private stopped = false;
  private flushQueued = false;
  /** Connections with a drain wait registered, and the latest token it answers. */
  private readonly drainTokens = new Map<ConnId, number>();
  /** The sockets. */
  readonly transport: Transport;

  constructor(
    transportOptions: TransportOptions,
    private readonly hooks: RuntimeHooks,
    private readonly clock: () => number = Date.now,
  ) {
    this.transport = new Transport(transportOptions, this.sink());
  }

  /** Starts the core (once the node knows its id); inputs queued before now are stepped. */
  start(core: Core<S>): void {
    if (this.core !== undefined) throw new Error('runtime already started');
    this.core = core;
    this.state = core.init(this.clock());
    this.drain();
  }

  /** The core's current state (read it, never keep it); undefined before `start`. */
  get current(): S | undefined {
    return this.state;
  }

  /** The clock, in milliseconds. */
  now(): number {
    return this.clock();
  }

  private sink(): TransportSink {
    const at = (): number => this.clock();
    return {
      accepted: (conn: ConnId, remote: Address) => this.input({ _tag: 'ConnectionAccepted', at: at(), conn, remote }),
      dialed: (conn: ConnId) => this.input({ _tag: 'DialSucceeded', at: at(), conn }),
      dialFailed: (conn: ConnId, error: ConnectError) => this.input({ _tag: 'DialFailed', at: at(), conn, error }),
      received: (conn: ConnId, bytes: Uint8Array) => this.input({ _tag: 'BytesReceived', at: at(), conn, bytes }),
      closed: (conn: ConnId, reason: CloseReason) => {
        // A wait on a closed connection never fires: forget it.
        this.drainTokens.delete(conn);
        this.input({ _tag: 'ConnectionClosed', at: at(), conn, reason });
      },
      slowPeer: (conn: ConnId, queuedBytes: number) => this.guard(() => this.hooks.slowPeer(conn, queuedBytes)),
      log: (level, message) => this.hooks.log(level, message),
    };
  }

  /** Feeds one input; steps it (and anything it causes) before returning, unless already stepping. */
  input(input: Input): void {
    if (this.stopped) return;
    this.queue.push(input);
    this.drain();
  }

  /** Steps every queued input in order, then batches the writes and re-arms the timer. */
  private drain(): void {
    const core = this.core;
    if (this.stepping || core === undefined) return;
    this.stepping = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        let result: readonly [S, ReadonlyArray<Effect>];
        try {
          result = core.step(this.state as S, next);
        } catch (err) {
          // A broken invariant in the core: say so loudly, but one input must not take the node down.
          this.hooks.log('warn', `core step failed on ${next._tag}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          continue;
        }
        this.state = result[0];
        for (const effect of result[1]) this.execute(effect);
      }
    } finally {
      this.stepping = false;
      this.scheduleFlush();
      this.arm();
    }
  }

  /**
   * Writes leave once the current task's synchronous work is done, so a burst of sends (or every
   * frame of one received chunk) goes out as one batch per socket, not one system call each.
   */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.transport.flush();
    });
  }

  private execute(effect: Effect): void {
    switch (effect._tag) {
      case 'Dial':
        this.transport.dial(effect.conn, effect.address);
        return;
      case 'Write':
        this.transport.write(effect.conn, effect.bytes);
        return;
      case 'AwaitDrain': {
        // One wait per connection answers every ask made before it fires, with the latest token:
        // it fires only once the queue is empty, so everything written before any of them has left.
        const conn = effect.conn;
        const waiting = this.drainTokens.get(conn);
        this.drainTokens.set(conn, Math.max(waiting ?? 0, effect.token));
        if (waiting !== undefined) return;
        this.transport.whenDrained(conn, () => {
          const token = this.drainTokens.get(conn) ?? effect.token;
          this.drainTokens.delete(conn);
          this.input({ _tag: 'Drained', at: this.clock(), conn, token });
        });
        return;
      }
      case 'Close':
        this.drainTokens.delete(effect.conn);
        this.hooks.log('debug', `closing ${effect.conn}: ${effect.reason._tag}`);
        this.transport.close(effect.conn);
        return;
      case 'Deliver':
        // Inline rather than through `guard`: a closure per delivered message adds up.
        try {
          this.hooks.deliver(effect.message);
        } catch (err) {
          this.listenerThrew(err);
        }
        return;
      case 'Emit':
        this.guard(() => this.hooks.event(effect.event));
        return;
      default:
        this.hooks.log('warn', `unknown effect ${(effect as { _tag: string })._tag} ignored`);
    }
  }

  /** User code runs inside deliveries and events; its exceptions must not stop the node. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.listenerThrew(err);
    }
  }

  private listenerThrew(err: unknown): void {
    this.hooks.log('warn', `a listener threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  private arm(): void {
    if (this.stopped || this.core === undefined) return;
    const wake = this.core.nextWakeup(this.state as S);
    if (wake === this.timerAt && (wake === undefined || this.timer !== undefined)) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = wake;
    if (wake === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.input({ _tag: 'Tick', at: this.clock() });
    }, Math.max(0, wake - this.clock()));
    this.timer.unref();
  }

  /** Tells the core to shut down, executes what it says, then closes every socket. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    if (this.core !== undefined) this.input({ _tag: 'Shutdown', at: this.clock() });
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.transport.shutdown();
  }
}
