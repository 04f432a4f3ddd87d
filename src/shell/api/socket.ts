/**
 * The mesh socket facade over any core: the public calls (connect, send, recv, handlers, reply,
 * disconnect, close), the user queue and its async iterator, typed events, and start-up (listen,
 * outward address, node id, TLS material). It keeps no protocol state of its own: every question
 * about peers is answered by reading the core's state.
 *
 * The core is injected (`MeshDeps`) so the facade can run on the real mesh core (`mesh.ts`) or on a
 * stand-in in tests.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { defaultLimits, type NodeConfig, type ProtocolInfo } from '../../core/config.js';
import type { Address, CloseReason, CommandId, ConnId, DeliveredMessage, Input, NodeEvent, NodeId } from '../../core/types.js';
import { COMPRESSION_LIST_MAX, FlagList } from '../../core/wire/codecs.js';
import type { WireValue } from '../../core/wire/value.js';
import { Runtime, type Core, type LogLevel } from '../net/runtime.js';
import { SEND_QUEUE_BYTES_MAX, TLS_HANDSHAKES_MAX, type TlsSettings } from '../net/transport.js';
import { checkByte, checkDialAddress, checkFunction, checkLimits, isPort } from './arguments.js';
import { BadArgument, connectErrorToError, describeReason, ListenFailed, ReplyFailed, SocketClosed, type Ts2pError } from './errors.js';
import { runHandlers, type Handler } from './handlers.js';
import { Inbox } from './inbox.js';
import { deliveredBytes, Message, type PendingReply, type ReplyChannel, type ReplyOutcome } from './message.js';
import { makeSelfSigned } from './tls.js';

/** Received messages kept for `recv` at most; the oldest is dropped (and counted) beyond it. */
export const RECV_QUEUE_MAX = 65_536;

/** Bytes of received messages kept for `recv` at most (each counted by `deliveredBytes`); the oldest are dropped (and counted) beyond it. */
export const RECV_QUEUE_BYTES_MAX = 64 * 1024 * 1024;

/** A subnet: its name and transport ('Plaintext' or 'SSL'). */
export interface ProtocolSpec {
  readonly subnet: string;
  readonly encryption: string;
}

/** Where log lines go. */
export interface Logger {
  readonly debug: (message: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
}

/** A routing-table entry as the API shows it. */
export interface PeerInfo {
  readonly id: NodeId;
  readonly conn: ConnId;
  readonly address: Address;
  readonly outgoing: boolean;
}

/** Options for a mesh socket. */
export interface MeshSocketOptions {
  /** Interface to bind; '0.0.0.0' (or '::') binds all and advertises the LAN address. Default '0.0.0.0'. */
  readonly host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  readonly port?: number;
  /** The subnet; default ('mesh', 'Plaintext'). */
  readonly protocol?: ProtocolSpec;
  /** The address peers are told to reach us at. */
  readonly outAddr?: Address;
  /** Where log lines go (default: standard error). */
  readonly logger?: Logger;
  /** Quietest level logged (default 'warn'). */
  readonly debugLevel?: LogLevel | 'silent';
  /** With encryption 'SSL': own TLS key, certificate and CA; peers are then verified. Default: a self-signed certificate, unverified. Refused (BadArgument) with a Plaintext protocol. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly ca?: string | Buffer };
  /** Overrides for the core's bounds. */
  readonly limits?: Partial<Record<keyof typeof defaultLimits, number>>;
  /** Per-peer send-queue bound in bytes. */
  readonly sendQueueBytesMax?: number;
  /** With encryption 'SSL': accepted connections in their TLS handshake at once, at most (default `TLS_HANDSHAKES_MAX`); one accepted beyond it is closed at once and counted in `status.tlsHandshakesRefused`. */
  readonly tlsHandshakesMax?: number;
  /** Bound on the messages queued for `recv`, in estimated heap bytes (default `RECV_QUEUE_BYTES_MAX`). */
  readonly recvQueueBytesMax?: number;
  /** Compression flags offered, in preference order (MeshSocket and ChordSocket default: snappy, zlib, gzip). */
  readonly compression?: ReadonlyArray<number>;
}

/** Options for `send`. */
export interface SendOptions {
  /** Main flag: 0x00 broadcast (default) or 0x02 whisper to each neighbour. */
  readonly flag?: number;
  /** Sub-flag: 0x00 by default. */
  readonly type?: number;
}

/** The socket's events. */
export interface MeshSocketEvents {
  /** The first peer reached the routing table. */
  connect: [peer: NodeId];
  /** A message was queued for `recv`. */
  message: [message: Message];
  'peer-joined': [peer: PeerInfo];
  'peer-left': [peer: { id: NodeId; conn: ConnId; reason: CloseReason }];
  'connection-rejected': [info: { conn: ConnId; remote?: Address; reason: CloseReason }];
  'slow-peer': [info: { conn: ConnId; queuedBytes: number }];
  /** Something went wrong that the caller did not wait for (a failed reply nobody observed, …). */
  error: [error: Error];
}

export type { Handler } from './handlers.js';

/** What the facade needs from a core. */
export interface MeshDeps<S> {
  readonly makeCore: (config: NodeConfig) => Core<S>;
  readonly protocolId: (subnet: string, encryption: string) => string;
  readonly nodeId: (outAddr: Address, protocolId: string, salt: string) => NodeId;
  readonly routingTable: (state: S) => ReadonlyArray<PeerInfo>;
  readonly awaiting: (state: S) => ReadonlyArray<{ conn: ConnId; remote?: Address; outgoing: boolean }>;
  readonly status: (state: S) => object;
  readonly isQueuedForUser: (m: DeliveredMessage) => boolean;
}

/** A peer that misbehaved is worth a warning; ordinary departures are not. */
const levelFor = (reason: CloseReason): LogLevel => {
  switch (reason._tag) {
    case 'BadFrame':
    case 'BadMessage':
    case 'IllegalMessage':
    case 'StalledFrame':
    case 'HandshakeTimeout':
    case 'SlowPeer':
    case 'TooManyConnections':
      return 'warn';
    default:
      return 'info';
  }
};

const levels: Record<LogLevel | 'silent', number> = { debug: 0, info: 1, warn: 2, silent: 3 };

const stderrLogger: Logger = {
  debug: (m) => console.error(`[ts2p debug] ${m}`),
  info: (m) => console.error(`[ts2p] ${m}`),
  warn: (m) => console.error(`[ts2p warn] ${m}`),
};

/** The first non-internal IPv4 address, else loopback (the outward address for '0.0.0.0'). */
export const lanAddress = (): string => {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
};

/** Refuses options the socket cannot run with, before anything starts. */
const checkOptions = (o: MeshSocketOptions): void => {
  if (o.port !== undefined && !isPort(o.port)) throw new BadArgument(`port must be an integer from 0 to 65535, got ${String(o.port)}`);
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host === '')) throw new BadArgument('host must be a non-empty string');
  if (o.outAddr !== undefined && (typeof o.outAddr.host !== 'string' || !isPort(o.outAddr.port))) throw new BadArgument('outAddr must be { host, port }');
  if (o.sendQueueBytesMax !== undefined && !(o.sendQueueBytesMax > 0)) throw new BadArgument('sendQueueBytesMax must be positive');
  if (o.recvQueueBytesMax !== undefined && !(o.recvQueueBytesMax > 0)) throw new BadArgument('recvQueueBytesMax must be positive');
  if (o.tlsHandshakesMax !== undefined && !(Number.isInteger(o.tlsHandshakesMax) && o.tlsHandshakesMax > 0)) {
    throw new BadArgument(`tlsHandshakesMax must be a positive integer, got ${String(o.tlsHandshakesMax)}`);
  }
  // Peers refuse a handshake whose compression list is longer (their COMPRESSION_LIST_MAX).
  if (o.compression !== undefined && !(FlagList.is(o.compression) && o.compression.length <= COMPRESSION_LIST_MAX)) {
    throw new BadArgument(`compression must be a list of at most ${COMPRESSION_LIST_MAX} integer flags`);
  }
  if (o.limits !== undefined) checkLimits(o.limits, defaultLimits);
};

const isOptions = (v: unknown): v is SendOptions =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map);

interface Pending {
  readonly resolve: (v: NodeId) => void;
  readonly reject: (e: Ts2pError) => void;
}

/** A node of a mesh network on real sockets. */
export class GenericMeshSocket<S> extends EventEmitter<MeshSocketEvents> {
  /** This node's id (set once `ready` resolves). */
  id: NodeId = '' as NodeId;
  /** The subnet, with its id. */
  readonly protocol: ProtocolInfo;
  /** The address peers reach us at (set once `ready` resolves). */
  outAddr: Address = { host: '', port: 0 };
  /** Resolves when the socket listens; rejects if it cannot. */
  readonly ready: Promise<void>;

  private readonly runtime: Runtime<S>;
  private readonly log: (level: LogLevel, m: string) => void;
  private readonly handlers: Handler[] = [];
  private readonly inbox: Inbox<Message>;
  private readonly connects = new Map<CommandId, Pending>();
  private readonly replies = new Map<CommandId, PendingReply>();
  private nextCmd = 1;
  private listenPort = 0;
  private closed = false;
  private sending = false;
  private sendRefusal: string | undefined;
  private readonly counters = { slowPeers: 0, handlerErrors: 0 };
  /** What every received message replies through (one per socket, not one per message). */
  private readonly channel: ReplyChannel;

  constructor(
    private readonly deps: MeshDeps<S>,
    private readonly options: MeshSocketOptions = {},
  ) {
    super();
    checkOptions(options);
    this.inbox = new Inbox<Message>({ max: RECV_QUEUE_MAX, bytesMax: options.recvQueueBytesMax ?? RECV_QUEUE_BYTES_MAX });
    const spec = options.protocol ?? { subnet: 'mesh', encryption: 'Plaintext' };
    if (spec.encryption !== 'Plaintext' && spec.encryption !== 'SSL') throw new BadArgument(`unsupported encryption ${spec.encryption} (Plaintext or SSL)`);
    // Certificates given for a plaintext socket would be left unused: the user asked for TLS and
    // would get plain TCP without a word.
    if (options.tls !== undefined && spec.encryption !== 'SSL') throw new BadArgument("tls is given but the protocol's encryption is Plaintext: use encryption 'SSL' (or leave tls out)");
    this.protocol = { subnet: spec.subnet, encryption: spec.encryption, id: deps.protocolId(spec.subnet, spec.encryption) };
    this.channel = { protocol: this.protocol, reply: (to, packets) => this.reply(to, packets) };
    const logger = options.logger ?? stderrLogger;
    const floor = levels[options.debugLevel ?? 'warn'];
    this.log = (level, m) => {
      if (levels[level] >= floor) logger[level](m);
    };
    this.runtime = new Runtime<S>(
      { sendQueueBytesMax: options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX, tlsHandshakesMax: options.tlsHandshakesMax ?? TLS_HANDSHAKES_MAX },
      {
        deliver: (m) => this.onDeliver(m),
        event: (e) => {
          this.onEvent(e);
          this.onCoreEvent(e);
        },
        slowPeer: (conn, queuedBytes) => {
          this.counters.slowPeers += 1;
          this.log('warn', `slow peer on ${conn}: ${queuedBytes} bytes unread, disconnecting`);
          this.emit('slow-peer', { conn, queuedBytes });
        },
        log: this.log,
      },
    );
    this.ready = this.start();
    this.ready.catch(() => undefined);
  }

  private async start(): Promise<void> {
    const host = this.options.host ?? '0.0.0.0';
    const tls = this.protocol.encryption === 'SSL' ? await this.tlsSettings() : undefined;
    if (tls !== undefined) this.runtime.transport.setTls(tls);
    const port = this.options.port ?? 0;
    const bound = await this.runtime.transport.listen(host, port).catch((err: unknown) => {
      throw new ListenFailed(host, port, err instanceof Error ? err.message : String(err));
    });
    const outHost = host === '0.0.0.0' || host === '::' ? lanAddress() : host;
    this.listenPort = bound.port;
    this.outAddr = this.options.outAddr ?? { host: outHost, port: bound.port };
    this.id = this.deps.nodeId(this.outAddr, this.protocol.id, randomUUID());
    const config: NodeConfig = {
      id: this.id,
      protocol: this.protocol,
      outAddr: this.outAddr,
      compression: this.options.compression ?? [0x13, 0x11],
      seed: randomInt(0, 2 ** 32),
      ...defaultLimits,
      ...this.options.limits,
    };
    this.runtime.start(this.deps.makeCore(config));
    this.log('info', `listening on ${host}:${bound.port} as ${this.id}`);
  }

  private async tlsSettings(): Promise<TlsSettings> {
    const own = this.options.tls;
    if (own !== undefined) return { key: own.key, cert: own.cert, ...(own.ca === undefined ? {} : { ca: own.ca }), verify: true };
    const made = await makeSelfSigned();
    return { ...made, verify: false };
  }

  /** The port we listen on (once ready). */
  get port(): number {
    return this.listenPort;
  }

  private stateOrUndefined(): S | undefined {
    return this.runtime.current;
  }

  /** The core's current state, for facades built on this one to read (never keep it). */
  protected get coreState(): S | undefined {
    return this.runtime.current;
  }

  /** Every core event, for facades built on this one (the chord socket's results). */
  protected onCoreEvent(_event: NodeEvent): void {}

  /** Feeds a user command to the core (for facades built on this one, such as a chord socket). */
  protected command(make: (at: number) => Input): void {
    if (this.closed) throw new SocketClosed();
    this.runtime.input(make(this.runtime.now()));
  }

  /** Connects to a node; resolves with its id once the handshake is done. */
  async connect(host: string, port: number, id?: NodeId): Promise<NodeId> {
    checkDialAddress(host, port);
    await this.ready;
    if (this.closed) throw new SocketClosed();
    const cmd = this.newCommand();
    const result = new Promise<NodeId>((resolve, reject) => this.connects.set(cmd, { resolve, reject }));
    this.command((at) => ({ _tag: 'Connect', at, cmd, address: { host, port }, ...(id === undefined ? {} : { expectedId: id }) }));
    return result;
  }

  /**
   * Broadcasts (or whispers, with `flag: 0x02`) packets; a trailing plain object is the options.
   * Throws `BadArgument` for packets msgpack cannot carry or peers would refuse, for options other
   * than `flag` and `type`, and for a flag or type that is not a byte (0–255).
   */
  send(...args: Array<WireValue | SendOptions>): void {
    const last = args[args.length - 1];
    const opts: SendOptions = isOptions(last) ? last : {};
    for (const name of Object.keys(opts)) if (name !== 'flag' && name !== 'type') throw new BadArgument(`send: unknown option ${JSON.stringify(name)} (a trailing plain object is the options: flag, type)`);
    if (opts.flag !== undefined) checkByte(opts.flag, 'send: flag');
    if (opts.type !== undefined) checkByte(opts.type, 'send: type');
    const packets = (isOptions(last) ? args.slice(0, -1) : args) as WireValue[];
    this.sendRefusal = undefined;
    this.sending = true;
    try {
      this.command((at) => ({ _tag: 'Send', at, packets, flag: opts.flag ?? 0x00, type: opts.type ?? 0x00 }));
    } finally {
      this.sending = false;
    }
    const refusal = this.sendRefusal as string | undefined;
    if (refusal !== undefined) throw new BadArgument(refusal);
  }

  /** Takes the oldest queued message, or undefined. */
  recv(): Message | undefined;
  /** Takes up to `n` queued messages. */
  recv(n: number): Message[];
  recv(n?: number): Message | undefined | Message[] {
    return n === undefined ? this.inbox.take() : this.inbox.takeUpTo(n);
  }

  /** Waits for the next message (or undefined once closed), at most `timeoutMs`. */
  next(timeoutMs?: number): Promise<Message | undefined> {
    return this.inbox.next(timeoutMs);
  }

  /** Messages as they arrive, until the socket closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    for (;;) {
      const m = await this.next();
      if (m === undefined) return;
      yield m;
    }
  }

  /** Adds a handler; handlers run in order and the first to return true claims the message. */
  registerHandler(handler: Handler): void {
    checkFunction(handler, 'a handler');
    this.handlers.push(handler);
  }

  /** Peers in the routing table. */
  get routingTable(): ReadonlyArray<PeerInfo> {
    const s = this.stateOrUndefined();
    return s === undefined ? [] : this.deps.routingTable(s);
  }

  /** Ids of peers we dialled. */
  get outgoing(): ReadonlyArray<NodeId> {
    return this.routingTable.filter((p) => p.outgoing).map((p) => p.id);
  }

  /** Ids of peers that dialled us. */
  get incoming(): ReadonlyArray<NodeId> {
    return this.routingTable.filter((p) => !p.outgoing).map((p) => p.id);
  }

  /** Connections waiting for a handshake. */
  get awaitingIds(): ReadonlyArray<{ conn: ConnId; remote?: Address; outgoing: boolean }> {
    const s = this.stateOrUndefined();
    return s === undefined ? [] : this.deps.awaiting(s);
  }

  /** Disconnects a peer. */
  disconnect(id: NodeId): void {
    this.command((at) => ({ _tag: 'Disconnect', at, peer: id }));
  }

  /** Asks every neighbour for its peers. */
  requestPeers(): void {
    this.command((at) => ({ _tag: 'RequestPeers', at }));
  }

  /** Counters and sizes, from the core and the shell. */
  get status(): object {
    const s = this.stateOrUndefined();
    const transport = this.runtime.transport;
    return { ...(s === undefined ? {} : this.deps.status(s)), queued: this.inbox.size, queuedBytes: this.inbox.bytes, queueDropped: this.inbox.dropped, ...this.counters, sockets: transport.size, tlsHandshakes: transport.tlsHandshakes, tlsHandshakesRefused: transport.tlsHandshakesRefused };
  }

  /** Closes every connection and stops listening. Pending calls reject with SocketClosed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => undefined);
    await this.runtime.shutdown();
    for (const p of this.connects.values()) p.reject(new SocketClosed());
    this.connects.clear();
    for (const r of this.replies.values()) r.reject(new ReplyFailed(r.to, 'SocketClosed'));
    this.replies.clear();
    this.inbox.close();
  }

  /**
   * A reply through the core: settles when the core reports it sent or failed, and rejects only
   * with `ReplyFailed` (`SocketClosed` when the socket is or gets closed first). A failure nobody
   * observes is logged and emitted as 'error' (when listened to), never thrown.
   */
  private reply(to: NodeId, packets: ReadonlyArray<WireValue>): Promise<ReplyOutcome> {
    const p = this.closed
      ? Promise.reject(new ReplyFailed(to, 'SocketClosed'))
      : new Promise<ReplyOutcome>((resolve, reject) => {
          const cmd = this.newCommand();
          this.replies.set(cmd, { to, resolve, reject });
          this.runtime.input({ _tag: 'Reply', at: this.runtime.now(), cmd, to, packets });
        });
    p.catch((e: Error) => {
      this.log('info', e.message);
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    return p;
  }

  private onDeliver(delivered: DeliveredMessage): void {
    const message = new Message(delivered, this.channel);
    if (runHandlers(this.handlers, message, this.onHandlerError)) return;
    if (!this.deps.isQueuedForUser(delivered)) return;
    this.inbox.push(message, deliveredBytes(delivered));
    this.emit('message', message);
  }

  /** A handler threw: counted in `status.handlerErrors` and logged; the message goes on to the next handler. */
  private readonly onHandlerError = (thrown: unknown): void => {
    this.counters.handlerErrors += 1;
    this.log('warn', `a handler threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  };

  /** Events this facade does not know (a subclass answers its own commands' events here). */
  protected onOtherEvent(e: NodeEvent): void {
    this.log('debug', `event ${e._tag}`);
  }

  /** A fresh command id, to match a command with its outcome event. */
  protected newCommand(): CommandId {
    return this.nextCmd++;
  }

  private onEvent(e: NodeEvent): void {
    switch (e._tag) {
      case 'Connected':
        this.emit('connect', e.peer);
        return;
      case 'PeerJoined':
        this.log('info', `peer ${e.peer} joined on ${e.conn}`);
        this.emit('peer-joined', { id: e.peer, conn: e.conn, address: e.address, outgoing: e.outgoing });
        return;
      case 'PeerLeft':
        this.log(levelFor(e.reason), `peer ${e.peer} left: ${describeReason(e.reason)}`);
        this.emit('peer-left', { id: e.peer, conn: e.conn, reason: e.reason });
        return;
      case 'ConnectionRejected':
        this.log(levelFor(e.reason), `connection ${e.conn}${e.remote === undefined ? '' : ` from ${e.remote.host}:${e.remote.port}`} closed: ${describeReason(e.reason)}`);
        this.emit('connection-rejected', { conn: e.conn, ...(e.remote === undefined ? {} : { remote: e.remote }), reason: e.reason });
        return;
      case 'ConnectSucceeded':
        this.connects.get(e.cmd)?.resolve(e.peer);
        this.connects.delete(e.cmd);
        return;
      case 'ConnectFailed':
        this.connects.get(e.cmd)?.reject(connectErrorToError(e.error));
        this.connects.delete(e.cmd);
        return;
      case 'ReplySent':
        this.replies.get(e.cmd)?.resolve({ routed: e.routed });
        this.replies.delete(e.cmd);
        return;
      case 'ReplyFailed':
        this.replies.get(e.cmd)?.reject(new ReplyFailed(e.to, e.reason, e.detail));
        this.replies.delete(e.cmd);
        return;
      default:
        this.onOtherEvent(e);
        return;
      case 'Dropped':
        // The core refuses a user send it cannot encode; `send` turns that into an error.
        if (e.conn === undefined && e.why.startsWith('send:')) {
          if (this.sending) this.sendRefusal = e.why;
          else this.log('warn', `a send was refused: ${e.why}`);
          return;
        }
        this.log('debug', `dropped${e.conn === undefined ? '' : ` on ${e.conn}`}: ${e.why}`);
        return;
    }
  }
}
