/**
 * `npm run bench:mesh`: five nodes in one process on loopback, fully connected and in a line.
 *
 * For each of ts2p (default compression, and with compression off), js2p 0.7.870, and a raw
 * ceiling (plain node:net sockets moving the same frames through the same topology, relaying each
 * new frame to every other neighbour, no decoding), it reports:
 * - burst: broadcasts from node 0 sent as fast as the sender can, per second fully delivered to
 *   every other node, and the process's CPU time per broadcast (a steadier figure when other work
 *   shares the machine);
 * - paced: broadcasts at 1,000/s from node 0, p50/p99 latency until the last node has it;
 * - resident memory per idle connected node (ts2p and js2p).
 * Misses (broadcasts not delivered everywhere before the drain timeout) are counted and printed.
 */
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MeshSocket } from '../src/shell/api/mesh.js';
import { AlreadyConnected } from '../src/shell/api/errors.js';
import { nodeCapabilities } from '../src/shell/caps.js';
import { makeMessage, encodeFrame } from '../src/core/wire/packets.js';
import { closeJs, startJsMesh } from './js2p.js';

/** Nodes in each network. */
const NODES = 5;
/** Paced rate, broadcasts per second. */
const PACED_RATE = 1_000;
/** How long the paced run lasts, ms. */
const PACED_MS = 2_000;
/** A run that has not fully delivered this long after its last send stops and counts misses. */
const DRAIN_MS = 10_000;

type Topology = 'full' | 'line';

/** One network under test, as the benchmark drives it. */
interface BenchNet {
  /** Broadcast a payload from node 0. */
  send(payload: string): void;
  /** Called with (node index, payload) for each user delivery at nodes 1..4. */
  onDeliver: (node: number, payload: string) => void;
  close(): Promise<void>;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms for at most `ms`; throws on timeout (set-up only, not measured). */
const until = async (check: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await wait(10);
  }
};

const pairs = (topology: Topology): Array<[number, number]> => {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < NODES; i++) for (let j = i + 1; j < NODES; j++) if (topology === 'full' || j === i + 1) out.push([i, j]);
  return out;
};

// ---------------------------------------------------------------------------------------------
// ts2p

const ts2pNet = async (topology: Topology, compression: ReadonlyArray<number> | undefined): Promise<BenchNet> => {
  const sockets = Array.from(
    { length: NODES },
    () =>
      new MeshSocket({
        host: '127.0.0.1',
        debugLevel: 'silent',
        ...(compression === undefined ? {} : { compression }),
        ...(topology === 'line' ? { limits: { outgoingMax: 0 } } : {}),
      }),
  );
  await Promise.all(sockets.map((s) => s.ready));
  for (const [i, j] of pairs(topology))
    await sockets[i]!.connect('127.0.0.1', sockets[j]!.port).catch((e: unknown) => {
      if (!(e instanceof AlreadyConnected)) throw e;
    });
  const degree = (i: number): number => (topology === 'full' ? NODES - 1 : i === 0 || i === NODES - 1 ? 1 : 2);
  await until(() => sockets.every((s, i) => s.routingTable.length === degree(i)), `ts2p ${topology} to form`);
  const bench: BenchNet = {
    send: (payload) => sockets[0]!.send(payload),
    onDeliver: () => undefined,
    close: async () => {
      await Promise.all(sockets.map((s) => s.close()));
    },
  };
  sockets.forEach((s, i) =>
    s.registerHandler((m) => {
      if (i > 0) bench.onDeliver(i, m.packets[1] as string);
      return true;
    }),
  );
  return bench;
};

// ---------------------------------------------------------------------------------------------
// js2p

const js2pNet = async (topology: Topology): Promise<BenchNet> => {
  const started = await Promise.all(Array.from({ length: NODES }, () => startJsMesh()));
  const nodes = started.map((s) => s.node);
  const ports = started.map((s) => s.port);
  // All connects in one go, before any node has a peer (js2p's loopback connect rule, PROTOCOL.md §11).
  for (const [i, j] of pairs(topology)) nodes[i]!.connect('127.0.0.1', ports[j]!);
  const degree = (i: number): number => (topology === 'full' ? NODES - 1 : i === 0 || i === NODES - 1 ? 1 : 2);
  await until(() => nodes.every((n, i) => n.routing_table.size === degree(i)), `js2p ${topology} to form`);
  const bench: BenchNet = {
    send: (payload) => nodes[0]!.send([payload]),
    onDeliver: () => undefined,
    close: async () => {
      for (const n of nodes) closeJs(n);
      await wait(50);
    },
  };
  nodes.forEach((n, i) =>
    n.on('message', () => {
      for (let m = n.recv(); m !== undefined; m = n.recv()) if (i > 0) bench.onDeliver(i, m.packets[1] as string);
    }),
  );
  return bench;
};

// ---------------------------------------------------------------------------------------------
// Raw ceiling: plain sockets, length framing, relay-once by checksum; no decoding, hashing or compression.

const rawNet = async (topology: Topology): Promise<BenchNet> => {
  const links: net.Socket[][] = Array.from({ length: NODES }, () => []);
  const seen: Array<Set<string>> = Array.from({ length: NODES }, () => new Set());
  const payloadOf = new Map<string, string>();
  const bench: BenchNet = { send: () => undefined, onDeliver: () => undefined, close: async () => undefined };
  // Writes are batched like ts2p's: corked, then uncorked once the current task is done.
  const corked = new Set<net.Socket>();
  const relay = (i: number, from: net.Socket | undefined, frame: Buffer): void => {
    for (const s of links[i]!) {
      if (s === from) continue;
      if (corked.size === 0) queueMicrotask(() => {
        for (const c of corked) c.uncork();
        corked.clear();
      });
      if (!corked.has(s)) {
        s.cork();
        corked.add(s);
      }
      s.write(frame);
    }
  };
  const adopt = (i: number, socket: net.Socket): void => {
    socket.setNoDelay(true);
    links[i]!.push(socket);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const end = 4 + buf.readUInt32BE(0);
        const frame = buf.subarray(0, end);
        buf = buf.subarray(end);
        const key = frame.toString('latin1', 4, 36);
        if (seen[i]!.has(key)) continue;
        seen[i]!.add(key);
        relay(i, socket, frame);
        bench.onDeliver(i, payloadOf.get(key) ?? '');
      }
    });
  };
  const servers = await Promise.all(
    Array.from({ length: NODES }, (_, i) => {
      const server = net.createServer((s) => adopt(i, s));
      return new Promise<net.Server>((r) => server.listen(0, '127.0.0.1', () => r(server)));
    }),
  );
  for (const [i, j] of pairs(topology)) {
    const s = net.connect((servers[j]!.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    adopt(i, s);
  }
  await until(() => links.reduce((n, l) => n + l.length, 0) === pairs(topology).length * 2, 'raw to form');
  bench.send = (payload) => {
    const msg = makeMessage(nodeCapabilities, 0, 'SENDER', [0, payload], Math.floor(Date.now() / 1000));
    const frame = Buffer.from(encodeFrame(nodeCapabilities, msg, undefined));
    const key = frame.toString('latin1', 4, 36);
    payloadOf.set(key, payload);
    seen[0]!.add(key);
    relay(0, undefined, frame);
  };
  bench.close = async () => {
    for (const l of links) for (const s of l) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  };
  return bench;
};

// ---------------------------------------------------------------------------------------------
// Runs

interface RunResult {
  readonly delivered: number;
  readonly sent: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
  /** CPU time (user + system) this process spent per delivered broadcast, microseconds. */
  readonly cpuUs: number;
}

/** Sends `count` broadcasts on `schedule` and waits until each reached nodes 1..4 (or the drain timeout). */
const run = async (bench: BenchNet, count: number, paced: boolean): Promise<RunResult> => {
  const sentAt = new Float64Array(count);
  const doneAt = new Float64Array(count);
  const got = new Uint8Array(count * NODES);
  const reached = new Uint8Array(count);
  let complete = 0;
  let resolveDone: () => void = () => undefined;
  const allDone = new Promise<void>((r) => (resolveDone = r));
  bench.onDeliver = (node, payload) => {
    const seq = Number(payload.slice(0, payload.indexOf(':')));
    if (!(seq >= 0 && seq < count) || got[seq * NODES + node] === 1) return;
    got[seq * NODES + node] = 1;
    if (++reached[seq]! === NODES - 1) {
      doneAt[seq] = performance.now();
      if (++complete === count) resolveDone();
    }
  };
  const tag = `${Date.now()}`;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let sent = 0;
  while (sent < count) {
    const target = paced ? Math.min(count, Math.floor(((performance.now() - start) * PACED_RATE) / 1000) + 1) : Math.min(count, sent + 100);
    for (; sent < target; sent++) {
      sentAt[sent] = performance.now();
      bench.send(`${sent}:${tag}:bench-payload`);
    }
    await (paced ? wait(1) : new Promise((r) => setImmediate(r)));
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allDone, new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MS)))]);
  clearTimeout(timer);
  const end = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  const latenciesMs: number[] = [];
  let last = start;
  for (let i = 0; i < count; i++)
    if (reached[i] === NODES - 1) {
      latenciesMs.push(doneAt[i]! - sentAt[i]!);
      last = Math.max(last, doneAt[i]!);
    }
  return {
    delivered: complete,
    sent: count,
    seconds: ((complete === count ? last : end) - start) / 1000,
    latenciesMs,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, complete),
  };
};

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const rssMb = (): number => process.memoryUsage().rss / 1024 / 1024;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Row {
  impl: string;
  topology: Topology;
  burstPerS: number;
  burstMiss: number;
  burstCpuUs: number;
  p50: number;
  p99: number;
  pacedMiss: number;
}

const measure = async (impl: string, make: (t: Topology) => Promise<BenchNet>, burst: number, pacedMs: number): Promise<Row[]> => {
  const rows: Row[] = [];
  for (const topology of ['full', 'line'] as const) {
    const bench = await make(topology);
    // Warm-up, a tenth of the burst size: the first network of an implementation otherwise runs
    // its burst half-compiled (2,000 for the 20,000 bursts, 200 for js2p's 1,000, as before).
    await run(bench, Math.max(200, burst / 10), false);
    const b = await run(bench, burst, false);
    const paced = await run(bench, Math.round((PACED_RATE * pacedMs) / 1000), true);
    await bench.close();
    rows.push({
      impl,
      topology,
      burstPerS: b.delivered / b.seconds,
      burstMiss: b.sent - b.delivered,
      burstCpuUs: b.cpuUs,
      p50: pct(paced.latenciesMs, 50),
      p99: pct(paced.latenciesMs, 99),
      pacedMiss: paced.sent - paced.delivered,
    });
    console.error(`  ${impl} ${topology}: done`);
  }
  return rows;
};

const memoryPerNode = async (make: (t: Topology) => Promise<BenchNet>): Promise<number> => {
  gc();
  await wait(100);
  const before = rssMb();
  const bench = await make('full');
  gc();
  await wait(200);
  const after = rssMb();
  await bench.close();
  return (after - before) / NODES;
};

const main = async (): Promise<void> => {
  const started = Date.now();
  console.error('bench:mesh — five nodes on 127.0.0.1 (this takes about a minute)');
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // MESH_ONLY=name,name runs only those rows (for profiling one implementation); the ratios need all.
  const only = process.env['MESH_ONLY']?.split(',');
  const want = (impl: string): boolean => only === undefined || only.includes(impl);
  const memTs = want('ts2p') ? await memoryPerNode((t) => ts2pNet(t, undefined)) : NaN;
  const memJs = want('js2p') ? await memoryPerNode(js2pNet) : NaN;
  const rows = [
    ...(want('raw') ? await measure('raw node:net', rawNet, 20_000, PACED_MS) : []),
    ...(want('ts2p') ? await measure('ts2p', (t) => ts2pNet(t, undefined), 20_000, PACED_MS) : []),
    ...(want('zlib') ? await measure('ts2p, zlib (as with js2p)', (t) => ts2pNet(t, [0x13, 0x11]), 20_000, PACED_MS) : []),
    ...(want('plain') ? await measure('ts2p, no compression', (t) => ts2pNet(t, []), 20_000, PACED_MS) : []),
    ...(want('js2p') ? await measure('js2p 0.7.870', js2pNet, 1_000, 1_000) : []),
  ];
  const f = (x: number, d = 0): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(d));
  console.log('\nBroadcasts from node 0, delivered to all four other nodes');
  console.log('| implementation | topology | burst: broadcasts/s fully delivered | burst misses | burst: CPU µs per broadcast | paced 1,000/s: p50 ms | p99 ms | paced misses |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.impl} | ${r.topology} | ${f(r.burstPerS)} | ${r.burstMiss} | ${f(r.burstCpuUs, 1)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${r.pacedMiss} |`);
  const get = (impl: string, t: Topology): Row | undefined => rows.find((r) => r.impl === impl && r.topology === t);
  console.log('\nRatios (burst throughput)');
  for (const t of ['full', 'line'] as const) {
    const ts = get('ts2p', t);
    const js = get('js2p 0.7.870', t);
    const raw = get('raw node:net', t);
    if (ts === undefined || js === undefined || raw === undefined) continue;
    console.log(`  ${t}: ts2p / js2p = ${f(ts.burstPerS / js.burstPerS, 1)}×   raw / ts2p = ${f(raw.burstPerS / ts.burstPerS, 2)}× (target ≥ 100× and ≤ 3×)`);
  }
  // Throughput on a shared machine moves with whatever else runs; CPU time per broadcast moves less.
  console.log('CPU per broadcast (burst), ts2p / raw');
  for (const t of ['full', 'line'] as const) {
    const ts = get('ts2p', t);
    const raw = get('raw node:net', t);
    if (ts !== undefined && raw !== undefined) console.log(`  ${t}: ${f(ts.burstCpuUs / raw.burstCpuUs, 2)}×`);
  }
  console.log(`\nResident memory per idle connected node (5-node full mesh, RSS delta / 5): ts2p ${f(memTs, 2)} MiB, js2p ${f(memJs, 2)} MiB`);
  console.log(`Total run time ${((Date.now() - started) / 1000).toFixed(1)} s`);
};

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
