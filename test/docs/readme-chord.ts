import { ChordSocket } from '../../src/index.js';

const dht = new ChordSocket({ host: '127.0.0.1', port: 4444 });  // subnet 'chord' by default
await dht.ready;
await dht.join();                        // store data; storing peers hand over what it now owns
await dht.set('colour', 'blue');         // stored under sha1, sha224, sha256, sha384 and sha512
await dht.get('colour');                 // the value ≥ 3 of the 5 tables agree on
await dht.get('missing', null);          // a fallback instead of a NotFound rejection
await dht.unjoin();                      // hands every item held to the ring first
