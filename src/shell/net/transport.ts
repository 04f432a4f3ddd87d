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
 * one write (a single frame larger than the bound still goes out to a peer that reads).
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

/** TCP or TLS sockets keyed by connection id. */
export class Transport {
  private readonly links = new Map<ConnId, Link>();
  /** Links with frames waiting for the next flush. */
  private readonly batched = new Set<Link>();
  private server: net.Server | undefined;
  private accepts = 0;

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

  private tlsServer(settings: TlsSettings): tls.Server {
    const server = tls.createServer({
      key: settings.key,
      cert: settings.cert,
      ...(settings.ca === undefined ? {} : { ca: settings.ca as string | Buffer | Array<string | Buffer> }),
      requestCert: settings.verify,
      rejectUnauthorized: settings.verify,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    });
    // The mesh handshake may only start once TLS is up.
    server.on('secureConnection', (socket) => this.adopt(socket));
    server.on('tlsClientError', (err) => this.sink.log('info', `TLS handshake with a client failed: ${err.message}`));
    return server;
  }

  private adopt(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn = mkConnId(`a${++this.accepts}`);
    const link: Link = { socket, open: true, dropped: false, pending: [], pendingBytes: 0 };
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
    const link: Link = { socket, open: false, dropped: false, pending: [], pendingBytes: 0 };
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
    );
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
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
