/**
 * Live js2p 0.7.870 nodes for benchmarks and interop tests: the typed surface of js2p that they
 * use (js2p ships no types), loading it, and starting a node on a free loopback port.
 *
 * js2p's constructor takes a port and listens on it at once, with no way to ask for any free port
 * and be told which, so a free one is found first by a probe listener.
 */
import { createRequire } from 'node:module';
import net from 'node:net';

/** A message as js2p's `recv()` hands it out. */
export interface JsMessage {
  readonly packets: unknown[];
  readonly sender: { toString(): string };
  readonly time: number;
  reply(packets: unknown[]): void;
}

/** What js2p's mesh and chord sockets share. */
export interface JsBase {
  readonly id: string;
  readonly routing_table: Map<unknown, unknown>;
  /** Connections still waiting for a handshake (js2p keeps them out of `routing_table`). */
  readonly awaiting_ids: Array<{ readonly sock: net.Socket }>;
  connect(host: string, port: number, id?: string): boolean;
  close(): void;
}

/** A js2p mesh socket. */
export interface JsMesh extends JsBase {
  send(packets: unknown[], flag?: number, type?: number): void;
  recv(): JsMessage | undefined;
  on(event: 'message', f: () => void): void;
}

/** A js2p chord socket. */
export interface JsChord extends JsBase {
  join(): void;
  get(key: string, fallback?: unknown, timeout?: number): Promise<unknown>;
  set(key: string, value: unknown): void;
}

/** The parts of the js2p module used here. */
export interface Js2p {
  readonly mesh: { readonly MeshSocket: new (addr: string, port: number, protocol?: unknown) => JsMesh };
  readonly chord: { readonly ChordSocket: new (addr: string, port: number, protocol?: unknown) => JsChord };
  readonly base: { readonly Protocol: new (subnet: string, encryption: string) => unknown };
}

/** The js2p module (CommonJS). */
export const js2p = createRequire(import.meta.url)('js2p') as Js2p;

/** A port that was free on 127.0.0.1 a moment ago. */
export const freePort = async (): Promise<number> => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
};

/** A js2p mesh socket listening on a free loopback port, on the subnet ('mesh', Plaintext or SSL). */
export const startJsMesh = async (ssl = false): Promise<{ readonly node: JsMesh; readonly port: number }> => {
  const port = await freePort();
  const node = new js2p.mesh.MeshSocket('127.0.0.1', port, new js2p.base.Protocol('mesh', ssl ? 'SSL' : 'Plaintext'));
  return { node, port };
};

/** A js2p chord socket listening on a free loopback port. */
export const startJsChord = async (): Promise<{ readonly node: JsChord; readonly port: number }> => {
  const port = await freePort();
  return { node: new js2p.chord.ChordSocket('127.0.0.1', port), port };
};

/** Closes a js2p node, including the connections it never finished handshaking (its close() leaves those open). */
export const closeJs = (node: JsBase): void => {
  node.close();
  for (const c of node.awaiting_ids) c.sock.destroy();
};
