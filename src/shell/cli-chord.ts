/**
 * `ts2p chord`: join a chord DHT and run dictionary commands read from standard input, one a line:
 * `get KEY`, `set KEY VALUE`, `del KEY`, `keys`. Each answer is one line on standard output.
 */
import { createInterface } from 'node:readline';
import * as t from 'io-ts';
import { ChordRequestFailed, ChordSocket } from './api/chord.js';
import { jsonValue } from './api/message.js';
import { decodeOptions, EndpointFromString, Level, NODE_OPTIONS, parseOptions, PortFromString, type CliIo } from './cli.js';

/** The help text of `ts2p chord`. */
export const CHORD_USAGE = `Usage: ts2p chord --port P [--host H] [--connect H:P ...] [--join] [--debug LEVEL]

Join a chord DHT and run one command per line of standard input:
  get KEY          print the value (agreed by 3 of the 5 tables), or why there is none
  set KEY VALUE    store VALUE (the rest of the line, as text) under KEY
  del KEY          delete KEY
  keys             print every key this node has heard of
Stops at the end of standard input or on Ctrl-C.

Options:
  --port P        port to listen on (0 picks a free one)            required
  --host H        interface to bind (default 0.0.0.0)
  --connect H:P   a node to join through; repeat for several
  --join          store data too (default: only read and write through storing peers)
  --debug LEVEL   log level on standard error: debug, info, warn (default), silent
  -h, --help      show this help
`;

const ChordArgs = t.exact(t.type({ port: PortFromString, host: t.string, connect: t.array(EndpointFromString), join: t.boolean, debug: Level }));
type ChordArgs = t.TypeOf<typeof ChordArgs>;

/** Parses `ts2p chord` arguments (after the word `chord`). */
export const parseChordCli = (argv: ReadonlyArray<string>): ChordArgs | 'help' | { readonly error: string } => {
  const parsed = parseOptions(
    argv,
    { ...NODE_OPTIONS, join: { type: 'boolean', default: false } },
    false,
  );
  if ('error' in parsed) return parsed;
  if (parsed.values['help'] === true) return 'help';
  if (parsed.values['port'] === undefined) return { error: '--port is required' };
  return decodeOptions(ChordArgs, parsed.values);
};

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(jsonValue(v as never)));

/** Runs one command line; returns the line to print. */
export const runChordLine = async (socket: ChordSocket, line: string): Promise<string | undefined> => {
  const m = /^\s*(\S+)(?:\s+(\S+))?(?:\s(.*))?$/.exec(line);
  if (m === null) return undefined;
  const [, op, key, rest] = m;
  try {
    if (op === 'keys') return socket.keys().map(show).join(' ');
    if (key === undefined) return `error: "${op ?? ''}" needs a key`;
    if (op === 'get') return `${key} = ${show(await socket.get(key))}`;
    if (op === 'set') {
      await socket.set(key, rest ?? '');
      return `${key} set`;
    }
    if (op === 'del') {
      await socket.delete(key);
      return `${key} deleted`;
    }
    return `error: unknown command "${op ?? ''}" (get, set, del, keys)`;
  } catch (e) {
    return e instanceof ChordRequestFailed ? `${key}: ${e.code} (${e.message})` : `error: ${e instanceof Error ? e.message : String(e)}`;
  }
};

/** Runs `ts2p chord`; resolves with the exit code. */
export const chordMain = async (argv: ReadonlyArray<string>, io: CliIo): Promise<number> => {
  const args = parseChordCli(argv);
  if (args === 'help') {
    io.stdout.write(CHORD_USAGE);
    return 0;
  }
  if ('error' in args) {
    io.stderr.write(`ts2p chord: ${args.error}\nRun "ts2p chord --help" for usage.\n`);
    return 2;
  }
  const logger = { debug: (m: string) => io.stderr.write(`[debug] ${m}\n`), info: (m: string) => io.stderr.write(`[info] ${m}\n`), warn: (m: string) => io.stderr.write(`[warn] ${m}\n`) };
  const socket = new ChordSocket({ host: args.host, port: args.port, logger, debugLevel: args.debug });
  try {
    await socket.ready;
  } catch (err) {
    io.stderr.write(`ts2p chord: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (args.join) await socket.join();
  io.stdout.write(`ready: ${socket.id} on ${socket.outAddr.host}:${socket.port}${args.join ? ' (storing)' : ''}\n`);
  for (const peer of args.connect) {
    try {
      const id = await socket.connect(peer.host, peer.port);
      io.stderr.write(`connected to ${peer.host}:${peer.port} (${id})\n`);
    } catch (err) {
      io.stderr.write(`ts2p chord: cannot connect to ${peer.host}:${peer.port}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  const onSignal = (): void => lines.close();
  process.once('SIGINT', onSignal);
  for await (const line of lines) {
    const out = await runChordLine(socket, line);
    if (out !== undefined) io.stdout.write(`${out}\n`);
  }
  process.off('SIGINT', onSignal);
  await socket.close();
  return 0;
};
