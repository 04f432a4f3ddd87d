/**
 * bench:load — a real loopback node under a sustained broadcast load from several peers.
 *
 * One ts2p node listens on 127.0.0.1 in this process. LOAD_PEERS peers (default 4) join it from a
 * second process (the load generator), so the node's process holds the node alone and the
 * generator's own work does not eat into the node's event loop. The peers speak the protocol on
 * real sockets: each sends its handshake, then broadcasts freshly stamped and checksummed messages
 * `[0, "p<peer>-<seq>", 64 × "x"]`. As in a full mesh of the peers, every peer also relays every
 * other peer's messages to the node, so the node gets each message once from its originator and
 * LOAD_PEERS - 1 times as a relay: it must deliver it once, drop the copies, and relay it on to
 * the peers that did not send it to it. The generator reads (and discards) everything the node
 * sends back, so the node never sees a slow peer.
 *
 * LOAD_RATE is the total offered broadcasts per second; 0 (the default) offers as much as the node
 * takes: the generator writes as long as the node's sockets accept bytes and waits for them to
 * drain when they do not (TCP back-pressure), so the figure held is the node's own ceiling.
 * LOAD_SECONDS (default 60) is the length of the run. The node's heap and RSS are sampled every
 * 250 ms. Afterwards the run waits (at most 30 s) for the last messages and reports: broadcasts
 * offered, delivered by the node (unique and duplicates), lost, the throughput held (1 s windows),
 * and the node process's peak memory.
 * js2p is not run here: bench:mesh measures js2p.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MeshSocket } from '../src/shell/api/mesh.js';
import { nodeCapabilities as caps } from '../src/shell/caps.js';
import { nodeId } from '../src/core/ids.js';
import { handshakePayload } from '../src/core/wire/messages.js';
import { encodeFrame, makeMessage } from '../src/core/wire/packets.js';

const peersN = Number(process.env['LOAD_PEERS'] ?? 4);
const rate = Number(process.env['LOAD_RATE'] ?? 0);
const seconds = Number(process.env['LOAD_SECONDS'] ?? 60);
/** Broadcasts built and written per round of the generator. */
const BATCH = 64;
/** How long the run waits for the last messages after the load stops, ms. */
const DRAIN_MS = 30_000;

/** Messages between the node's process and the generator. */
type ToGenerator = { readonly _tag: 'start' } | { readonly _tag: 'stop' };
type FromGenerator =
  | { readonly _tag: 'ready' }
  | { readonly _tag: 'done'; readonly sent: number; readonly bytesIn: number; readonly closed: number; readonly cpuMs: number };

/** Resolves once a socket takes writes again, or is closed. */
const drained = (s: net.Socket): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });

const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The generator process: LOAD_PEERS protocol-speaking peers of one node.

const generator = async (port: number, protoId: string): Promise<void> => {
  const send = (m: FromGenerator): void => void process.send?.(m);
  // The generator lives only as long as the node's process: when it goes (done, or failed), so do we.
  process.on('disconnect', () => process.exit(0));
  const ids = Array.from({ length: peersN }, (_, i) => nodeId(caps, { host: '127.0.0.1', port: 1 + i }, protoId, `load-peer-${i}-${Date.now()}`));
  let bytesIn = 0;
  let closed = 0;
  const sockets = await Promise.all(
    ids.map(
      (id, i) =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => {
            const hs = makeMessage(caps, 0x02, id, handshakePayload(id, protoId, { host: '127.0.0.1', port: 1 + i }, []), Math.floor(Date.now() / 1000));
            s.write(encodeFrame(caps, hs, undefined));
            resolve(s);
          });
          s.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
          s.on('error', reject);
          s.on('close', () => closed++);
        }),
    ),
  );
  const pad = 'x'.repeat(64);
  let sent = 0;
  let stopped = false;
  const start = await new Promise<number>((resolve) =>
    process.on('message', (m: ToGenerator) => {
      if (m._tag === 'start') resolve(performance.now());
      else stopped = true;
    }),
  );
  const cpu0 = process.cpuUsage();
  const frames: Uint8Array[] = [];
  while (!stopped) {
    // Offer the next batch; at a fixed rate, first wait until it is due.
    if (rate > 0) {
      const due = ((sent + BATCH) / rate) * 1000 - (performance.now() - start);
      if (due > 0) await wait(due);
      if (stopped) break;
    }
    const time = Math.floor(Date.now() / 1000);
    frames.length = 0;
    for (let k = 0; k < BATCH; k++, sent++) {
      const peer = sent % peersN;
      frames.push(encodeFrame(caps, makeMessage(caps, 0x00, ids[peer]!, [0, `p${peer}-${Math.floor(sent / peersN)}`, pad], time), undefined));
    }
    // Every peer carries every message: its own, and the others' as their relay.
    const bytes = Buffer.concat(frames);
    // A link the node closed is counted (and reported), never waited on.
    const full = sockets.filter((s) => !s.destroyed && !s.write(bytes));
    if (full.length > 0) await Promise.all(full.map(drained));
    else await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  // Keeps reading what the node relays until the parent has counted everything and disconnects.
  send({ _tag: 'done', sent, bytesIn, closed, cpuMs: (cpu.user + cpu.system) / 1000 });
};

// ---------------------------------------------------------------------------------------------
// The node's process.

/** Which broadcasts the node delivered: one bit-per-byte row per peer, grown as needed. */
class Tally {
  private readonly rows: Uint8Array[] = Array.from({ length: peersN }, () => new Uint8Array(1 << 16));
  unique = 0;
  duplicates = 0;
  foreign = 0;

  note(tag: unknown): void {
    const m = typeof tag === 'string' ? /^p(\d+)-(\d+)$/.exec(tag) : null;
    const peer = m === null ? -1 : Number(m[1]);
    if (m === null || !(peer >= 0 && peer < peersN)) {
      this.foreign++;
      return;
    }
    const seq = Number(m[2]);
    let row = this.rows[peer]!;
    if (seq >= row.length) {
      const grown = new Uint8Array(Math.max(row.length * 2, seq + 1));
      grown.set(row);
      row = this.rows[peer] = grown;
    }
    if (row[seq] === 1) this.duplicates++;
    else {
      row[seq] = 1;
      this.unique++;
    }
  }
}

const main = async (): Promise<void> => {
  const node = new MeshSocket({ host: '127.0.0.1', debugLevel: 'warn' });
  await node.ready;
  const tally = new Tally();
  // A handler takes every message as a user would, so the run measures the node, not an unread inbox.
  node.registerHandler((m) => {
    tally.note(m.packets[1]);
    return true;
  });
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['generator', String(node.port), node.protocol.id], { execArgv: [], stdio: 'inherit' });
  const fromChild = <T extends FromGenerator['_tag']>(tag: T): Promise<Extract<FromGenerator, { _tag: T }>> =>
    new Promise((resolve) => {
      const on = (m: FromGenerator): void => {
        if (m._tag !== tag) return;
        child.off('message', on);
        resolve(m as Extract<FromGenerator, { _tag: T }>);
      };
      child.on('message', on);
    });
  const deadline = Date.now() + 10_000;
  while (node.routingTable.length < peersN) {
    if (Date.now() > deadline) throw new Error(`only ${node.routingTable.length} of ${peersN} load peers joined`);
    await wait(10);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage();
  let peakHeap = base.heapUsed;
  let peakRss = base.rss;
  let peakBuffers = base.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }, 250);
  console.log(`Node ${process.version}, ${cpus().length} CPUs, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    `load: ${peersN} peers (in a second process, each relaying the others' messages too) broadcast into one loopback node for ${seconds} s; ` +
      (rate > 0 ? `offered ${rate} broadcasts/s in all` : 'offered as fast as the node takes them (TCP back-pressure)'),
  );
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const perSecond: number[] = [];
  let lastUnique = 0;
  let lastAt = t0;
  child.send({ _tag: 'start' } satisfies ToGenerator);
  const meter = setInterval(() => {
    // Timers fire late on a loaded machine: divide by the time that really passed.
    const now = performance.now();
    perSecond.push(Math.round((tally.unique - lastUnique) / ((now - lastAt) / 1000)));
    lastUnique = tally.unique;
    lastAt = now;
  }, 1000);
  await wait(seconds * 1000);
  clearInterval(meter);
  const done = fromChild('done');
  child.send({ _tag: 'stop' } satisfies ToGenerator);
  const report = await done;
  const sendMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuShare = (ms: number): string => `${((100 * ms) / sendMs).toFixed(0)}%`;
  const atStop = tally.unique;
  const drainEnd = performance.now() + DRAIN_MS;
  while (tally.unique < report.sent && performance.now() < drainEnd) await wait(50);
  const drainMs = performance.now() - t0 - sendMs;
  clearInterval(sampler);
  const steady = perSecond.slice(2);
  const mean = steady.reduce((a, n) => a + n, 0) / Math.max(1, steady.length);
  console.log(`offered ${report.sent} broadcasts in ${(sendMs / 1000).toFixed(1)} s (${(report.sent / (sendMs / 1000)).toFixed(0)}/s), each on all ${peersN} links`);
  console.log(
    `node delivered ${tally.unique} unique (${tally.duplicates} duplicates, ${tally.foreign} foreign); lost ${report.sent - tally.unique}; ` +
      `${atStop} had arrived when the load stopped, the rest within ${(drainMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `throughput held: mean ${mean.toFixed(0)} broadcasts/s delivered, min ${Math.min(...steady)}, max ${Math.max(...steady)} (1 s windows after a 2 s warm-up); ` +
      `the node read ${(report.sent * peersN).toFixed(0)} frames and the peers read ${mb(report.bytesIn)} MiB of relays back; peer links closed: ${report.closed}`,
  );
  console.log(
    `CPU while loaded (share of one core): node's process ${cpuShare((cpu.user + cpu.system) / 1000)}, load generator ${cpuShare(report.cpuMs)}; ` +
      `the node delivered ${(atStop / ((cpu.user + cpu.system) / 1e6)).toFixed(0)} broadcasts per CPU-second of its process (a figure other work on the machine disturbs less)`,
  );
  console.log(`peak memory of the node's process: heap ${mb(peakHeap)} MiB (start ${mb(base.heapUsed)} MiB), byte buffers ${mb(peakBuffers)} MiB (start ${mb(base.arrayBuffers)} MiB), rss ${mb(peakRss)} MiB (start ${mb(base.rss)} MiB)`);
  console.log(`node status: ${JSON.stringify(node.status)}`);
  child.disconnect();
  await node.close();
};

if (process.argv[2] === 'generator') await generator(Number(process.argv[3]), process.argv[4] ?? '');
else await main();
