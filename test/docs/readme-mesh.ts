import { MeshSocket, Protocol } from '../../src/index.js';

const node = new MeshSocket({ host: '127.0.0.1', port: 4444, protocol: new Protocol('mesh', 'Plaintext') });
await node.ready;                                   // listening; node.id is set
const peer = await node.connect('127.0.0.1', 5555); // resolves with the peer's id after the handshake
console.log('connected to', peer);
node.send('hello', 42);                             // broadcast [0x00, 'hello', 42]
node.on('message', (msg) => console.log(msg.sender, msg.packets));
for await (const msg of node) await msg.reply('got it');  // ends when the socket closes
await node.close();
