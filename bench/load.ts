/**
 * bench:load — a real loopback node under a sustained broadcast load from several peers.
 *
 * LOAD_PEERS peers (default 4) join one node on 127.0.0.1 and each broadcasts LOAD_RATE messages
 * a second (default 500, sent every 10 ms, catching up when timers fire late) for LOAD_SECONDS (default 60). The node's
 * heap and RSS are sampled every 250 ms. Afterwards the run waits (at most 30 s) for the last
 * messages and reports: messages sent, received by the node (unique and duplicates), lost, the
 * throughput held over the run, and peak memory. The peers also mesh among themselves, so the node
 * sees each message directly and as relays; duplicates must be dropped, not delivered.
 * js2p is not run here: one js2p node under this load is measured by bench:mesh.
 */
import { performance } from 'node:perf_hooks';
import { MeshSocket } from '../src/shell/api/mesh.js';

const peersN = Number(process.env['LOAD_PEERS'] ?? 4);
const rate = Number(process.env['LOAD_RATE'] ?? 500);
const seconds = Number(process.env['LOAD_SECONDS'] ?? 60);
const gc = (globalThis as { gc?: () => void }).gc;

const mb = (b: number): string => (b / 2 ** 20).toFixed(1);

const main = async (): Promise<void> => {
  const node = new MeshSocket({ host: '127.0.0.1', debugLevel: 'warn' });
  await node.ready;
  const peers: MeshSocket[] = [];
  for (let i = 0; i < peersN; i++) {
    const p = new MeshSocket({ host: '127.0.0.1', debugLevel: 'warn' });
    await p.ready;
    await p.connect('127.0.0.1', node.port);
    peers.push(p);
  }
  const got = new Map<string, number>();
  let received = 0;
  // A handler takes every message as a user would, so the run measures the node, not an unread inbox.
  node.registerHandler((m) => {
    received++;
    const tag = m.packets[1];
    if (typeof tag === 'string') got.set(tag, (got.get(tag) ?? 0) + 1);
    return true;
  });
  for (const p of peers) p.registerHandler(() => true);
  gc?.();
  const base = process.memoryUsage();
  let peakHeap = base.heapUsed;
  let peakRss = base.rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  }, 250);
  console.log(`load: ${peersN} peers x ${rate} broadcasts/s for ${seconds} s into one loopback node (all in one process)`);
  let sent = 0;
  const perBatch = Math.max(1, Math.round(rate / 100));
  const t0 = performance.now();
  const perSecond: number[] = [];
  let lastReceived = 0;
  let lastAt = t0;
  await new Promise<void>((resolve) => {
    const sender = setInterval(() => {
      if (performance.now() - t0 >= seconds * 1000) {
        clearInterval(sender);
        resolve();
        return;
      }
      // Catch up to the target rate when timers fire late (a loaded machine), a batch at most.
      const due = Math.min(perBatch * 10, Math.floor(((performance.now() - t0) / 1000) * rate) - sent);
      for (let k = 0; k < due; k++) peers.forEach((p, i) => p.send(`p${i}-${sent + k}`, 'x'.repeat(64)));
      sent += Math.max(0, due);
    }, 10);
    const meter = setInterval(() => {
      // Timers fire late on a loaded machine: divide by the time that really passed.
      const now = performance.now();
      perSecond.push(Math.round((received - lastReceived) / ((now - lastAt) / 1000)));
      lastReceived = received;
      lastAt = now;
      if (performance.now() - t0 >= seconds * 1000) clearInterval(meter);
    }, 1000);
  });
  const sendMs = performance.now() - t0;
  const expected = sent * peersN;
  const deadline = performance.now() + 30_000;
  while (got.size < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  clearInterval(sampler);
  const duplicates = [...got.values()].reduce((a, n) => a + n - 1, 0);
  const steady = perSecond.slice(2, -1);
  console.log(`sent ${expected} broadcasts in ${(sendMs / 1000).toFixed(1)} s (${(expected / (sendMs / 1000)).toFixed(0)}/s offered)`);
  console.log(
    `node received ${got.size} unique (${received} deliveries, ${duplicates} duplicates); lost ${expected - got.size}; ` +
      `throughput held ${Math.min(...steady)}–${Math.max(...steady)} msgs/s (deliveries per second, min–max of 1 s windows after warm-up)`,
  );
  console.log(`peak memory (whole process, 1+${peersN} nodes): heap ${mb(peakHeap)} MB (start ${mb(base.heapUsed)} MB), rss ${mb(peakRss)} MB`);
  console.log(`node status: ${JSON.stringify(node.status)}`);
  await Promise.all([node, ...peers].map((s) => s.close()));
};

await main();
