/**
 * Real sockets for the core: TCP through node:net and TLS through node:tls.
 *
 * Owns: the listening server, one socket per connection id, batched writes (frames written during
 * a task are kept per socket and handed to it as one buffer in `flush`), and the per-peer
 * send-queue bound. Reports transport facts
 * to a sink, which the runtime turns into core inputs.
 * Invariants: a connection id maps to at most one socket; a socket closed at the core's request is
 * never reported back as closed; a queue above `sendQueueBytesMax` is never allowed to grow: a
 * write to it reports the peer slow and drops it at once, so a queue holds at most the bound plus
 * one write (a single frame larger than the bound still goes out to a peer that reads). With TLS,
 * at most `tlsHandshakesMax` accepted connections are in their TLS handshake at once: one accepted
 * beyond it is destroyed before any TLS work and counted, since the core sees a connection only
 * once TLS is up and none of its bounds can apply before then. A handshake that completes, fails
 * or outlives `TLS_HANDSHAKE_TIMEOUT_MS` frees its slot (a failed or late one is destroyed).
 * Deliberately does not: parse frames, know about handshakes or ids (the core does), or time dials
 * out (the core's `dialTimeoutMs` does, through a Close effect).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Address, CloseReason, ConnectError, ConnId } from '../../core/types.js';
import { ConnId as mkConnId } from '../../core/types.js';

/** Largest number of bytes a peer may leave unread in its send queue: a write to a queue over it drops the peer. */
export const SEND_QUEUE_BYTES_MAX = 8 * 1024 * 1024;

/** A TLS handshake (before the mesh handshake can start) that takes longer than this is dropped. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Accepted connections in their TLS handshake at once, at most: one accepted beyond it is destroyed (and counted). */
export const TLS_HANDSHAKES_MAX = 64;

/** Key material for TLS. With `verify` off, any peer certificate is accepted (as js2p and py2p do). */
export interface TlsSettings {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  /** Certificate authorities to trust when verifying. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Verify peers' certificates (both directions) against `ca`. */
  readonly verify: boolean;
}

/** Transport options. */
export interface TransportOptions {
  /** TLS material; plain TCP when absent. */
  readonly tls?: TlsSettings;
  /** Per-peer send-queue bound in bytes. */
  readonly sendQueueBytesMax: number;
  /** Bound on accepted connections in their TLS handshake (default `TLS_HANDSHAKES_MAX`). */
  readonly tlsHandshakesMax?: number;
  /** How long an accepted TLS handshake may take (default `TLS_HANDSHAKE_TIMEOUT_MS`). */
  readonly tlsHandshakeTimeoutMs?: number;
}

/** Where transport facts go (the runtime). */
export interface TransportSink {
  readonly accepted: (conn: ConnId, remote: Address) => void;
  readonly dialed: (conn: ConnId) => void;
  readonly dialFailed: (conn: ConnId, error: ConnectError) => void;
  readonly received: (conn: ConnId, bytes: Uint8Array) => void;
  readonly closed: (conn: ConnId, reason: CloseReason) => void;
  readonly slowPeer: (conn: ConnId, queuedBytes: number) => void;
  readonly log: (level: 'debug' | 'info' | 'warn', message: string) => void;
}

interface Link {
  readonly socket: net.Socket;
  /** TCP connected (and TLS handshaken). */
  open: boolean;
  /** Closed by us: no report back. */
  dropped: boolean;
  lastError?: NodeJS.ErrnoException;
  /** Frames written since the last flush, in order. */
  pending: Uint8Array[];
  /** Their total size in bytes. */
  pendingBytes: number;
  /** Called once everything written so far has left (`whenDrained`). */
  drainWaiters: Array<() => void>;
}

/** Maps a socket error met while dialing onto the core's connect error. */
export const dialError = (err: NodeJS.ErrnoException | undefined): ConnectError => {
  const detail = err === undefined ? 'closed before connecting' : `${err.code ?? 'error'}: ${err.message}`;
  switch (err?.code) {
    case 'ECONNREFUSED':
      return { _tag: 'ConnectionRefused', detail };
    case 'ETIMEDOUT':
      return { _tag: 'Timeout', afterMs: 0 };
    default:
      return { _tag: 'Unreachable', detail };
  }
};

const EMPTY = Buffer.alloc(0);

/** TCP or TLS sockets keyed by connection id. */
export class Transport {
  private readonly links = new Map<ConnId, Link>();
  /** Links with frames waiting for the next flush. */
  private readonly batched = new Set<Link>();
  private server: net.Server | undefined;
  private accepts = 0;
  /** Accepted TCP sockets whose TLS handshake is in progress (each holds one slot), with their remote address. */
  private readonly handshaking = new Map<net.Socket, Address>();
  private refusedHandshakes = 0;

  constructor(
    private options: TransportOptions,
    private readonly sink: TransportSink,
  ) {}

  /** Switches to TLS (before `listen`; key material may take a moment to make). */
  setTls(settings: TlsSettings): void {
    this.options = { ...this.options, tls: settings };
  }

  /** Number of live sockets. */
  get size(): number {
    return this.links.size;
  }

  /** Accepted connections in their TLS handshake now. */
  get tlsHandshakes(): number {
    return this.handshaking.size;
  }

  /** Accepted connections destroyed because `tlsHandshakesMax` handshakes were in progress. */
  get tlsHandshakesRefused(): number {
    return this.refusedHandshakes;
  }

  /** Starts listening; resolves with the bound address. */
  listen(host: string, port: number): Promise<Address> {
    const server = this.options.tls === undefined ? this.plainServer() : this.tlsServer(this.options.tls);
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.sink.log('warn', `server error: ${err.message}`));
        const bound = server.address();
        resolve({ host, port: typeof bound === 'object' && bound !== null ? bound.port : port });
      });
    });
  }

  private plainServer(): net.Server {
    return net.createServer({ noDelay: true }, (socket) => this.adopt(socket));
  }

  /**
   * A TCP server that admits each connection into a TLS server of its own (which never listens):
   * a `tls.Server` starts TLS on every socket it accepts, so the bound has to be checked before
   * the socket reaches it.
   */
  private tlsServer(settings: TlsSettings): net.Server {
    const handshaker = this.tlsHandshaker(settings);
    return net.createServer({ noDelay: true }, (socket) => this.admit(socket, handshaker));
  }

  private admit(socket: net.Socket, handshaker: tls.Server): void {
    const max = this.options.tlsHandshakesMax ?? TLS_HANDSHAKES_MAX;
    const remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    if (this.handshaking.size >= max) {
      socket.destroy();
      this.refusedHandshakes += 1;
      this.sink.log('warn', `connection from ${remote.host}:${remote.port} refused: ${this.handshaking.size} TLS handshakes in progress (tlsHandshakesMax ${max})`);
      return;
    }
    this.handshaking.set(socket, remote);
    // The TLS socket reports errors; one seen here too must not go unhandled.
    socket.on('error', () => undefined);
    // Closing the TLS socket closes this one (and this one closing closes the TLS socket).
    socket.once('close', () => this.handshaking.delete(socket));
    handshaker.emit('connection', socket);
  }

  /**
   * Frees the slot of a completed handshake. Its TCP socket is the one admitted from the same
   * remote address and port (two open connections to one listener cannot share both), found this
   * way because the TLS server does not hand back the socket it wrapped.
   */
  private release(secured: tls.TLSSocket): void {
    const { remoteAddress, remotePort } = secured;
    // Already closed: its TCP socket's close frees the slot.
    if (remotePort === undefined) return;
    for (const [socket, remote] of this.handshaking) {
      if (remote.port === remotePort && remote.host === remoteAddress) {
        this.handshaking.delete(socket);
        return;
      }
    }
  }

  private tlsHandshaker(settings: TlsSettings): tls.Server {
    const server = tls.createServer({
      key: settings.key,
      cert: settings.cert,
      ...(settings.ca === undefined ? {} : { ca: settings.ca as string | Buffer | Array<string | Buffer> }),
      requestCert: settings.verify,
      rejectUnauthorized: settings.verify,
      handshakeTimeout: this.options.tlsHandshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS,
    });
    // The mesh handshake may only start once TLS is up.
    server.on('secureConnection', (socket) => {
      this.release(socket);
      this.adopt(socket);
    });
    server.on('tlsClientError', (err, socket) => {
      this.sink.log('info', `TLS handshake with a client failed: ${err.message}`);
      // Node reports a handshake timeout here but leaves the socket open: without this, a peer
      // that never speaks TLS would hold its socket (and slot) until it leaves.
      socket.destroy();
    });
    return server;
  }

  private adopt(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn = mkConnId(`a${++this.accepts}`);
    const link: Link = { socket, open: true, dropped: false, pending: [], pendingBytes: 0, drainWaiters: [] };
    this.links.set(conn, link);
    this.wire(conn, link);
    this.sink.accepted(conn, { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
  }

  /** Opens a connection; the outcome arrives as `dialed` or `dialFailed`. */
  dial(conn: ConnId, address: Address): void {
    const settings = this.options.tls;
    const socket =
      settings === undefined
        ? net.connect({ host: address.host, port: address.port, noDelay: true })
        : tls.connect({
            host: address.host,
            port: address.port,
            key: settings.key,
            cert: settings.cert,
            ...(settings.ca === undefined ? {} : { ca: settings.ca as string | Buffer | Array<string | Buffer> }),
            rejectUnauthorized: settings.verify,
            ...(settings.verify ? {} : { checkServerIdentity: () => undefined }),
          });
    const link: Link = { socket, open: false, dropped: false, pending: [], pendingBytes: 0, drainWaiters: [] };
    this.links.set(conn, link);
    socket.once(settings === undefined ? 'connect' : 'secureConnect', () => {
      link.open = true;
      socket.setNoDelay(true);
      if (!link.dropped) this.sink.dialed(conn);
    });
    this.wire(conn, link);
  }

  private wire(conn: ConnId, link: Link): void {
    const { socket } = link;
    socket.on('data', (chunk: Buffer) => {
      // A plain view of the chunk: the core slices frames out of it, and a Uint8Array's views
      // cost less than a Buffer's.
      if (!link.dropped) this.sink.received(conn, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      link.lastError = err;
    });
    socket.on('close', () => {
      this.batched.delete(link);
      link.pending = [];
      if (this.links.get(conn) === link) this.links.delete(conn);
      if (link.dropped) return;
      link.dropped = true;
      if (!link.open) {
        this.sink.dialFailed(conn, dialError(link.lastError));
        return;
      }
      const err = link.lastError;
      this.sink.closed(conn, err === undefined ? { _tag: 'PeerClosed' } : { _tag: 'PeerClosed', detail: `${err.code ?? 'error'}: ${err.message}` });
    });
  }

  /**
   * Queues bytes for a connection; they leave at the next `flush`. The bytes are kept, not
   * copied, until then: callers must not change them.
   */
  write(conn: ConnId, bytes: Uint8Array): void {
    const link = this.links.get(conn);
    if (link === undefined || link.dropped) return;
    // The queue is judged as it was before this write: a frame larger than the bound (frames may
    // be up to `frameBytesMax`) goes out to a peer that reads, and the queue holds at most the
    // bound plus one write.
    const queuedBytes = link.socket.writableLength + link.pendingBytes;
    if (queuedBytes > this.options.sendQueueBytesMax) {
      this.sink.slowPeer(conn, queuedBytes);
      this.drop(conn, link, false);
      this.sink.closed(conn, { _tag: 'SlowPeer', queuedBytes });
      return;
    }
    if (link.pending.length === 0) this.batched.add(link);
    link.pending.push(bytes);
    link.pendingBytes += bytes.length;
  }

  /**
   * Sends everything written since the last flush: one buffer, one socket write per connection
   * (a stream write per frame costs more than copying small frames together).
   */
  flush(): void {
    for (const link of this.batched) this.send(link);
    this.batched.clear();
  }

  private send(link: Link): void {
    const { pending, pendingBytes } = link;
    link.pending = [];
    link.pendingBytes = 0;
    if (pending.length === 0 || link.socket.destroyed) return;
    const first = pending[0]!;
    link.socket.write(
      pending.length === 1 ? Buffer.from(first.buffer, first.byteOffset, first.length) : Buffer.concat(pending, pendingBytes),
      link.drainWaiters.length === 0 ? undefined : () => this.checkDrained(link),
    );
  }

  /**
   * Calls `done` once everything written to the connection so far has left for the kernel (at
   * once if nothing is queued); never if the connection closes first.
   */
  whenDrained(conn: ConnId, done: () => void): void {
    const link = this.links.get(conn);
    if (link === undefined || link.dropped) return;
    link.drainWaiters.push(done);
    this.checkDrained(link);
  }

  /**
   * Calls the drain waiters if nothing is queued. Bytes not flushed yet get a write callback when
   * they are; bytes the socket still holds get an empty write, whose callback comes after theirs.
   */
  private checkDrained(link: Link): void {
    if (link.dropped || link.drainWaiters.length === 0 || link.pendingBytes > 0) return;
    if (link.socket.writableLength > 0) {
      link.socket.write(EMPTY, () => this.checkDrained(link));
      return;
    }
    const waiters = link.drainWaiters;
    link.drainWaiters = [];
    for (const done of waiters) done();
  }

  /** Closes a connection at the core's request; it is not reported back. */
  close(conn: ConnId): void {
    const link = this.links.get(conn);
    if (link !== undefined) this.drop(conn, link, true);
  }

  private drop(conn: ConnId, link: Link, graceful: boolean): void {
    link.dropped = true;
    this.links.delete(conn);
    this.batched.delete(link);
    if (!graceful || !link.open) {
      link.pending = [];
      link.socket.destroy();
      return;
    }
    this.send(link);
    // Hand what this step wrote to the kernel and send FIN, but never wait on a peer that does not read.
    link.socket.end();
    setImmediate(() => link.socket.destroy());
  }

  /** Stops listening and closes every socket. */
  async shutdown(): Promise<void> {
    for (const [conn, link] of [...this.links]) this.drop(conn, link, true);
    // The server's close waits for every socket it accepted, handshaking ones too.
    for (const socket of this.handshaking.keys()) socket.destroy();
    this.handshaking.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
