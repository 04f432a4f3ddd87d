/**
 * `npm run demo`: a small mesh on loopback, joined from one bootstrap node.
 *
 * Five nodes start on 127.0.0.1. Alice, Bob and Carol join through the bootstrap node Hub and
 * mesh with each other from its peer list. Dave joins through Carol only and dials nobody else,
 * so he is two hops from everyone but Carol. Everyone broadcasts a greeting; Hub welcomes each
 * greeting with a direct reply, and Alice answers Dave's greeting: that reply has no direct link,
 * so it is routed (a request through the mesh finds Dave, Alice connects and delivers it).
 * Finishes by itself; every wait is bounded.
 */
import { MeshSocket } from './api/mesh.js';
import type { Message } from './api/message.js';

/** How long the whole demo may take before it gives up. */
const DEMO_TIMEOUT_MS = 15_000;

const names = ['Hub', 'Alice', 'Bob', 'Carol', 'Dave'] as const;
type Name = (typeof names)[number];

interface Node {
  readonly name: Name;
  readonly socket: MeshSocket;
  readonly log: string[];
}

const started = Date.now();
const ms = (): string => `${String(Date.now() - started).padStart(5)} ms`;

/** Resolves once `check` holds, checking after each event of `socket`; rejects after `timeoutMs`. */
const until = (socket: MeshSocket, check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const listener = (): void => {
      if (!check()) return;
      finish();
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      for (const e of ['message', 'peer-joined'] as const) socket.off(e, listener);
    };
    for (const e of ['message', 'peer-joined'] as const) socket.on(e, listener);
    listener();
  });

const run = async (): Promise<void> => {
  const nodes = names.map((name): Node => {
    const socket = new MeshSocket({ host: '127.0.0.1', debugLevel: 'silent', ...(name === 'Dave' ? { limits: { outgoingMax: 0 } } : {}) });
    return { name, socket, log: [] };
  });
  await Promise.all(nodes.map((n) => n.socket.ready));
  const byId = new Map(nodes.map((n) => [n.socket.id as string, n.name]));
  const who = (id: string): string => byId.get(id) ?? id.slice(0, 8);
  const [hub, alice, bob, carol, dave] = nodes as unknown as [Node, Node, Node, Node, Node];
  console.log('ts2p demo: five nodes on 127.0.0.1\n');
  for (const n of nodes) console.log(`  ${n.name.padEnd(6)} port ${n.socket.port}  id ${n.socket.id.slice(0, 16)}…`);
  console.log('');

  // Everyone records what reaches them; Hub welcomes each greeting, Alice answers Dave's.
  const replies: Array<Promise<unknown>> = [];
  for (const n of nodes) {
    n.socket.on('message', () => {
      for (let m: Message | undefined = n.socket.recv(); m !== undefined; m = n.socket.recv()) {
        const kind = m.packets[0] === 0 ? 'broadcast' : 'whisper  ';
        n.log.push(`${kind} from ${who(m.sender).padEnd(5)}: ${String(m.packets[1])}`);
        if (m.packets[0] !== 0) continue;
        if (n === hub) {
          const sender = who(m.sender);
          replies.push(m.reply(`welcome, ${sender}`).then((o) => o.routed && console.log(`${ms()}  Hub's welcome to ${sender} delivered, routed: true`)));
        }
        if (n === alice && m.sender === dave.socket.id) {
          const sender = who(m.sender);
          replies.push(m.reply(`hi ${sender}, from Alice (routed)`).then((o) => console.log(`${ms()}  Alice's reply to ${sender} delivered, routed: ${o.routed}`)));
        }
      }
    });
  }

  for (const n of [alice, bob, carol]) {
    await n.socket.connect('127.0.0.1', hub.socket.port);
    console.log(`${ms()}  ${n.name} joined through Hub`);
  }
  await dave.socket.connect('127.0.0.1', carol.socket.port);
  console.log(`${ms()}  Dave joined through Carol only`);
  for (const n of [hub, alice, bob, carol]) await until(n.socket, () => n.socket.routingTable.length >= (n === carol ? 4 : 3), `${n.name} to mesh`);
  console.log(`${ms()}  mesh formed: ${nodes.map((n) => `${n.name} ${n.socket.routingTable.length}`).join(', ')} neighbours\n`);

  for (const n of nodes) n.socket.send(`hello from ${n.name}`);
  const greetings = (n: Node): number => n.log.filter((l) => l.startsWith('broadcast')).length;
  await Promise.all(nodes.map((n) => until(n.socket, () => greetings(n) >= nodes.length - 1, `${n.name} to hear every greeting`)));
  console.log(`${ms()}  every node heard every greeting`);
  let replyTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(replies),
    new Promise((_, reject) => {
      replyTimer = setTimeout(() => reject(new Error('replies took too long')), 8_000);
    }),
  ]).finally(() => clearTimeout(replyTimer));
  const welcomes = (n: Node): boolean => n === hub || n.log.some((l) => l.includes(`welcome, ${n.name}`));
  await Promise.all(nodes.map((n) => until(n.socket, () => welcomes(n) && (n !== dave || n.log.some((l) => l.includes('from Alice'))), `${n.name}'s replies`)));
  console.log(`${ms()}  every reply arrived\n`);

  console.log('What each node got:');
  for (const n of nodes) {
    console.log(`\n  ${n.name} (${n.socket.routingTable.map((p) => who(p.id)).join(', ')} as neighbours)`);
    for (const line of n.log) console.log(`    ${line}`);
  }
  const relayed = nodes.reduce((sum, n) => sum + ((n.socket.status as { broadcastsRelayed?: number }).broadcastsRelayed ?? 0), 0);
  console.log(`\n${nodes.length} nodes, ${nodes.reduce((s, n) => s + n.log.length, 0)} messages delivered, ${relayed} relays; done in ${Date.now() - started} ms.`);
  await Promise.all(nodes.map((n) => n.socket.close()));
};

const guard = setTimeout(() => {
  console.error(`demo: did not finish in ${DEMO_TIMEOUT_MS} ms`);
  process.exit(1);
}, DEMO_TIMEOUT_MS);
guard.unref();

run().then(
  () => clearTimeout(guard),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
