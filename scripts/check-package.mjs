// After `npm run build`: the package as an application sees it. Plain Node imports `ts2p` and
// `ts2p/sim` by name (the package's `exports` point at dist/), then uses each briefly: an id of
// PROTOCOL.md §3, a message round-trip, a socket that listens on loopback and closes, a chord
// node's set, deltas and get, and a three-node simulation whose broadcast reaches both other nodes. Exits non-zero on any failure.
import assert from 'node:assert/strict';

const ts2p = await import('ts2p');
const sim = await import('ts2p/sim');

assert.equal(new ts2p.Protocol('mesh', 'Plaintext').id, 'EpAmyZWv9rZUKmjQgU3FTUD4GrJHvVEXizmghVBc8eGD');
assert.deepEqual(ts2p.fromBase58(ts2p.toBase58(123456789n)), { _tag: 'Right', right: 123456789n });

const sent = new ts2p.InternalMessage(0, 'NODEID', [0, 'hello'], 1500000000);
const back = ts2p.InternalMessage.decode(sent.bytes);
assert.equal(back._tag, 'Right');
assert.deepEqual(back.right.packets, [0, 'NODEID', 1500000000, 0, 'hello']);

const node = new ts2p.MeshSocket({ host: '127.0.0.1', port: 0, debugLevel: 'silent' });
await node.ready;
assert.ok(node.id.length > 0);
await node.close();

// A lone joined chord node holds all five tables: a set, two deltas and a get go through its store.
const chord = new ts2p.ChordSocket({ host: '127.0.0.1', port: 0, debugLevel: 'silent' });
await chord.ready;
await chord.join();
await chord.set('k', 'v');
assert.equal(await chord.get('k'), 'v');
await chord.applyDelta('m', new Map([['a', 1]]));
await chord.applyDelta('m', new Map([['b', 2]]));
assert.deepEqual(await chord.get('m'), new Map([['a', 1], ['b', 2]]));
await chord.close();

const s = new sim.Simulation({ seed: 7 });
const [a, b, c] = ['a', 'b', 'c'].map((name) => s.addNode({ name }));
s.connect(b, a);
s.connect(c, a);
s.runUntilIdle();
s.broadcast(b, ['ping']);
s.runUntilIdle();
assert.deepEqual(s.delivered(a).length, 1);
assert.deepEqual(s.delivered(c).length, 1);

console.log(`package check: 'ts2p' and 'ts2p/sim' import from dist/ and work (Node ${process.version})`);
