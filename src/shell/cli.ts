#!/usr/bin/env node
/**
 * The `ts2p` command: join a mesh, broadcast each line of standard input, print what arrives.
 * Arguments are parsed with node:util parseArgs and validated with io-ts; a bad argument prints a
 * clear error and exits with code 2.
 */
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { MeshSocket } from './api/mesh.js';
import { jsonValue, type Message } from './api/message.js';

/** The help text. */
export const USAGE = `Usage: ts2p mesh --port P [--host H] [--connect H:P ...] [--subnet S] [--ssl] [--json] [--debug LEVEL]
       ts2p chord --port P [--connect H:P ...] [--join]     (see ts2p chord --help)

Join a mesh network, broadcast each line read from standard input, and print every message
received. Stops at the end of standard input or on Ctrl-C.

Options:
  --port P        port to listen on (0 picks a free one)            required
  --host H        interface to bind (default 0.0.0.0: all, advertising the LAN address)
  --connect H:P   a node to join through; repeat for several
  --subnet S      the subnet name (default "mesh")
  --ssl           use TLS (self-signed certificate, peers unverified, as js2p and py2p)
  --json          one JSON object a line: a "ready" line {event, id, host, port}, then
                  one line per message {sender, packets, id, time}
  --debug LEVEL   log level on standard error: debug, info, warn (default), silent
  -h, --help      show this help
`;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const portOf = (s: string): number | undefined => (/^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : undefined);

/** A port given as text: 0 to 65535 (shared with `ts2p chord`). */
export const PortFromString = new t.Type<number, string, unknown>(
  'PortFromString',
  (u): u is number => typeof u === 'number',
  (u, c) => {
    const port = typeof u === 'string' ? portOf(u) : undefined;
    return port === undefined ? t.failure(u, c, `--port must be an integer from 0 to 65535, got "${String(u)}"`) : t.success(port);
  },
  String,
);

/** A `host:port` pair given as text. */
export const EndpointFromString = new t.Type<Endpoint, string, unknown>(
  'EndpointFromString',
  (u): u is Endpoint => typeof u === 'object' && u !== null,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'expected host:port');
    const i = u.lastIndexOf(':');
    const host = u.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    const port = i > 0 ? portOf(u.slice(i + 1)) : undefined;
    return port === undefined || port === 0 || host === '' ? t.failure(u, c, `--connect expects host:port with a port from 1 to 65535, got "${u}"`) : t.success({ host, port });
  },
  (e) => `${e.host}:${e.port}`,
);

export const Level = t.keyof({ debug: null, info: null, warn: null, silent: null });

/** The validated arguments of `ts2p mesh`. */
const MeshArgs = t.type({
  port: PortFromString,
  host: t.string,
  connect: t.array(EndpointFromString),
  subnet: t.string,
  ssl: t.boolean,
  json: t.boolean,
  debug: Level,
});
type MeshArgs = t.TypeOf<typeof MeshArgs>;

/** Where the command reads and writes. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** The option table `parseArgs` takes. */
type OptionTable = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/**
 * Runs `parseArgs` strictly over `argv` with `options` (plus `-h/--help`): the parsed values and
 * positionals, or the parser's error message.
 */
export const parseOptions = (
  argv: ReadonlyArray<string>,
  options: OptionTable,
  allowPositionals: boolean,
): { readonly values: Record<string, unknown>; readonly positionals: string[] } | { readonly error: string } => {
  try {
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
};

/** Validates parsed option values with `codec`: the typed options, or every distinct complaint. */
export const decodeOptions = <A>(codec: t.Type<A, unknown, unknown>, values: Record<string, unknown>): A | { readonly error: string } => {
  const result = codec.decode(values);
  if (E.isRight(result)) return result.right;
  const messages = result.left.map((e) => e.message ?? `bad value for --${e.context.map((c) => c.key).filter((k) => k !== '').join('.')}: ${JSON.stringify(e.value)}`);
  return { error: [...new Set(messages)].join('; ') };
};

/** The options every node command takes: where it listens, whom it joins through, how much it logs. */
export const NODE_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string', default: '0.0.0.0' },
  connect: { type: 'string', multiple: true, default: [] },
  debug: { type: 'string', default: 'warn' },
} as const satisfies OptionTable;

/** Parses `ts2p` arguments: the validated options, 'help', or an error message. */
export const parseCli = (argv: ReadonlyArray<string>): MeshArgs | 'help' | { readonly error: string } => {
  const parsed = parseOptions(
    argv,
    {
      ...NODE_OPTIONS,
      subnet: { type: 'string', default: 'mesh' },
      ssl: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    true,
  );
  if ('error' in parsed) return parsed;
  if (parsed.values['help'] === true) return 'help';
  const [command, ...rest] = parsed.positionals;
  if (command !== 'mesh') return { error: command === undefined ? 'missing command (try "ts2p mesh --port 4444")' : `unknown command "${command}"` };
  if (rest.length > 0) return { error: `unexpected argument "${rest.join(' ')}"` };
  if (parsed.values['port'] === undefined) return { error: '--port is required' };
  return decodeOptions(MeshArgs, parsed.values);
};

const print = (io: CliIo, line: string): void => {
  io.stdout.write(`${line}\n`);
};

const describe = (m: Message, json: boolean): string =>
  json
    ? JSON.stringify({ sender: m.sender, packets: m.packets.map(jsonValue), id: m.idHex, time: m.time })
    : `${m.sender.slice(0, 12)}…: ${m.packets.map((p) => (typeof p === 'string' ? p : JSON.stringify(jsonValue(p)))).join(' ')}`;

/** Runs `ts2p`; resolves with the exit code. */
export const main = async (argv: ReadonlyArray<string>, io: CliIo): Promise<number> => {
  if (argv[0] === 'chord') return (await import('./cli-chord.js')).chordMain(argv.slice(1), io);
  const args = parseCli(argv);
  if (args === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if ('error' in args) {
    io.stderr.write(`ts2p: ${args.error}\nRun "ts2p --help" for usage.\n`);
    return 2;
  }
  const logger = { debug: (m: string) => io.stderr.write(`[debug] ${m}\n`), info: (m: string) => io.stderr.write(`[info] ${m}\n`), warn: (m: string) => io.stderr.write(`[warn] ${m}\n`) };
  const socket = new MeshSocket({ host: args.host, port: args.port, protocol: { subnet: args.subnet, encryption: args.ssl ? 'SSL' : 'Plaintext' }, logger, debugLevel: args.debug });
  try {
    await socket.ready;
  } catch (err) {
    io.stderr.write(`ts2p: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  print(io, args.json ? JSON.stringify({ event: 'ready', id: socket.id, host: socket.outAddr.host, port: socket.port }) : `ready: ${socket.id} on ${socket.outAddr.host}:${socket.port}`);
  socket.on('message', () => {
    for (let m = socket.recv(); m !== undefined; m = socket.recv()) print(io, describe(m, args.json));
  });
  for (const peer of args.connect) {
    socket.connect(peer.host, peer.port).then(
      (id) => io.stderr.write(`connected to ${peer.host}:${peer.port} (${id})\n`),
      (err: unknown) => io.stderr.write(`ts2p: cannot connect to ${peer.host}:${peer.port}: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  }
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  const onSignal = (): void => lines.close();
  await new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      if (line.length > 0) socket.send(line);
    });
    lines.on('close', resolve);
    process.once('SIGINT', onSignal);
  });
  process.off('SIGINT', onSignal);
  await socket.close();
  return 0;
};

const invokedDirectly = (): boolean => {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (invokedDirectly()) {
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ts2p: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
