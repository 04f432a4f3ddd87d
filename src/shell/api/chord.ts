/**
 * `ChordSocket`: the seeds' dictionary API over the chord core (`src/core/chord/node.ts`), with
 * everything a MeshSocket offers. A thin facade: it turns calls into chord commands and command
 * outcomes into promises, and keeps no protocol state of its own.
 */
import * as O from 'fp-ts/lib/Option.js';
import { defaultChordLimits, type ChordConfig } from '../../core/chord/config.js';
import { chordItems, chordKeys, chordStatus, chordStep, initChord, isJoined, nextChordWakeup, type ChordState } from '../../core/chord/node.js';
import type { TableName } from '../../core/chord/ring.js';
import * as ring from '../../core/chord/routing.js';
import { nodeId, protocolId } from '../../core/ids.js';
import { awaitingConnections, isQueuedForUser, routingTable } from '../../core/node.js';
import type { NodeConfig } from '../../core/config.js';
import type { ChordError, CommandId, Input, NodeEvent } from '../../core/types.js';
import type { WireValue } from '../../core/wire/value.js';
import { nodeCapabilities } from '../caps.js';
import type { Core } from '../net/runtime.js';
import { SEND_QUEUE_BYTES_MAX } from '../net/transport.js';
import { checkChordKey, checkLimits } from './arguments.js';
import { BadArgument, Ts2pError } from './errors.js';
import { MESH_COMPRESSION_DEFAULT } from './mesh.js';
import { GenericMeshSocket, type MeshDeps, type MeshSocketOptions } from './socket.js';

/** A key: text (hashed as UTF-8) or bytes. */
export type ChordKey = string | Uint8Array;

/** Options for a chord socket: a mesh socket's, plus the chord bounds. */
export interface ChordSocketOptions extends MeshSocketOptions {
  /** Overrides for the chord bounds (peersMax, voteQuorum, getTimeoutMs, …). */
  readonly chord?: Partial<ChordConfig>;
}

/** A chord command failed; `code` names why (NoQuorum, NotFound, Timeout, NotJoined, …). */
export class ChordRequestFailed extends Ts2pError {
  /** Stable machine-readable reason. */
  declare readonly code: ChordError['_tag'];
  constructor(readonly error: ChordError) {
    super(error._tag, describeChordError(error));
  }
}

/** One line for a chord failure. */
export const describeChordError = (e: ChordError): string => {
  switch (e._tag) {
    case 'NoQuorum':
      return `no value reached the quorum (best ${e.bestVotes} of 5, needs ${e.quorum})`;
    case 'NotFound':
      return 'key not found';
    case 'Timeout':
      return e.write === true
        ? `timed out after ${e.afterMs} ms with the stores not yet sent (a peer that owns a table is not reading)`
        : `timed out after ${e.afterMs} ms (best ${e.bestVotes} agreeing tables)`;
    case 'NotJoined':
      return 'no node stores data: join() this node or connect to a storing peer';
    case 'Busy':
      return `too many requests in flight (limit ${e.limit})`;
    case 'BadValue':
      return `bad value: ${e.detail}`;
    case 'Disconnected':
      return `the connection to ${e.peer}, which owns a table of the key, closed before the write had left: it may not have arrived`;
    case 'Shutdown':
      return 'the socket closed';
  }
};

const chordDeps = (chord: ChordConfig): MeshDeps<ChordState> => ({
  makeCore: (config: NodeConfig): Core<ChordState> => {
    const env = { config, caps: nodeCapabilities, chord };
    return { init: (at) => initChord(env, at), step: (s, input) => chordStep(env, s, input), nextWakeup: nextChordWakeup };
  },
  protocolId: (subnet, encryption) => protocolId(nodeCapabilities, subnet, encryption),
  nodeId: (outAddr, proto, salt) => nodeId(nodeCapabilities, outAddr, proto, salt),
  routingTable: (s) => routingTable(s.mesh),
  awaiting: (s) => awaitingConnections(s.mesh),
  status: (s) => chordStatus(s),
  isQueuedForUser,
});

/** Command ids of chord calls start here, clear of the mesh facade's own. */
const CHORD_CMD_BASE = 1 << 30;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A key as text when its bytes are UTF-8 (notify carries every key as bytes), else the bytes. */
const asText = (k: ChordKey): ChordKey => {
  if (typeof k === 'string') return k;
  try {
    return utf8.decode(k);
  } catch {
    return k;
  }
};

/** A node of a chord DHT (py2p/js2p `ChordSocket`): a mesh socket with a distributed dictionary. */
export class ChordSocket extends GenericMeshSocket<ChordState> {
  private cmdSeq = CHORD_CMD_BASE;
  private readonly calls = new Map<CommandId, { resolve: (v: WireValue | undefined) => void; reject: (e: Error) => void }>();

  /**
   * Throws `BadArgument` for a `chord` bound it does not have, below 0, a quorum outside 1–5, or a
   * `handoffBatchBytes` not below `sendQueueBytesMax`; then as MeshSocket. Unless given,
   * `handoffBatchBytes` is its default or half of `sendQueueBytesMax`, whichever is smaller.
   */
  constructor(options: ChordSocketOptions = {}) {
    const { chord, ...mesh } = options;
    if (chord !== undefined) checkLimits(chord, defaultChordLimits);
    const queue = options.sendQueueBytesMax ?? SEND_QUEUE_BYTES_MAX;
    const batch = chord?.handoffBatchBytes;
    if (batch !== undefined && !(batch > 0 && batch < queue)) {
      throw new BadArgument(`chord.handoffBatchBytes must be positive and below sendQueueBytesMax (${queue}), got ${batch}`);
    }
    const handoffBatchBytes = batch ?? Math.max(1, Math.min(defaultChordLimits.handoffBatchBytes, Math.floor(queue / 2)));
    super(chordDeps({ ...defaultChordLimits, ...chord, handoffBatchBytes }), {
      compression: MESH_COMPRESSION_DEFAULT,
      protocol: { subnet: 'chord', encryption: 'Plaintext' },
      ...mesh,
    });
  }

  protected override onCoreEvent(e: NodeEvent): void {
    if (e._tag !== 'ChordResult' && e._tag !== 'ChordFailed') return;
    const call = this.calls.get(e.cmd);
    if (call === undefined) return;
    this.calls.delete(e.cmd);
    if (e._tag === 'ChordResult') call.resolve(e.value);
    else call.reject(new ChordRequestFailed(e.error));
  }

  private async call(make: (at: number, cmd: CommandId) => Input): Promise<WireValue | undefined> {
    await this.ready;
    const cmd = ++this.cmdSeq;
    const result = new Promise<WireValue | undefined>((resolve, reject) => this.calls.set(cmd, { resolve, reject }));
    this.command((at) => make(at, cmd));
    return result;
  }

  /** Start storing data; storing peers hand over the keys this node now owns. */
  async join(): Promise<void> {
    await this.call((at, cmd) => ({ _tag: 'ChordJoin', at, cmd }));
  }

  /** Stop storing data; every item held goes to the ring first. */
  async unjoin(): Promise<void> {
    await this.call((at, cmd) => ({ _tag: 'ChordUnjoin', at, cmd }));
  }

  /** Whether this node stores data. */
  get joined(): boolean {
    const s = this.coreState;
    return s !== undefined && isJoined(s);
  }

  /**
   * The value ≥ quorum (default 3) of the five tables agree on. Rejects with ChordRequestFailed
   * (NotFound, NoQuorum, Timeout, NotJoined), or resolves with `fallback` when one is given.
   */
  async get(key: ChordKey, ...fallback: [] | [WireValue]): Promise<WireValue> {
    checkChordKey(key);
    try {
      return (await this.call((at, cmd) => ({ _tag: 'ChordGet', at, cmd, key }))) ?? null;
    } catch (e) {
      if (fallback.length === 1 && e instanceof ChordRequestFailed && e.code !== 'Shutdown') return fallback[0];
      throw e;
    }
  }

  /** Stores a value under a key in all five tables (null deletes). */
  async set(key: ChordKey, value: WireValue): Promise<void> {
    checkChordKey(key);
    await this.call((at, cmd) => ({ _tag: 'ChordSet', at, cmd, key, value }));
  }

  /** Deletes a key. */
  async delete(key: ChordKey): Promise<void> {
    await this.set(key, null);
  }

  /** Sets every entry of a Map or a plain object. */
  async update(entries: ReadonlyMap<ChordKey, WireValue> | Readonly<Record<string, WireValue>>): Promise<void> {
    const list = entries instanceof Map ? [...entries] : Object.entries(entries);
    await Promise.all(list.map(([k, v]) => this.set(k as ChordKey, v as WireValue)));
  }

  /** Gets a key and deletes it; with a fallback, a missing key resolves with it. */
  async pop(key: ChordKey, ...fallback: [] | [WireValue]): Promise<WireValue> {
    try {
      const v = await this.get(key);
      await this.delete(key);
      return v;
    } catch (e) {
      if (fallback.length === 1 && e instanceof ChordRequestFailed && e.code !== 'Shutdown') return fallback[0];
      throw e;
    }
  }

  /** Pops the first known key: [key, value]. Rejects with NotFound when no key is known. */
  async popitem(): Promise<[ChordKey, WireValue]> {
    const key = this.keys()[0];
    if (key === undefined) throw new ChordRequestFailed({ _tag: 'NotFound' });
    return [key, await this.pop(key)];
  }

  /** The keys this node has heard of (set here, or announced by notify); UTF-8 keys as text. */
  keys(): ReadonlyArray<ChordKey> {
    const s = this.coreState;
    return s === undefined ? [] : chordKeys(s).map(asText);
  }

  /** The value of every known key (keys that cannot be read are left out). */
  async values(): Promise<WireValue[]> {
    return (await this.items()).map(([, v]) => v);
  }

  /** [key, value] for every known key that can be read. */
  async items(): Promise<Array<[ChordKey, WireValue]>> {
    const keys = this.keys();
    const settled = await Promise.allSettled(keys.map((k) => this.get(k)));
    return keys.flatMap((k, i) => {
      const r = settled[i];
      return r?.status === 'fulfilled' ? [[k, r.value] as [ChordKey, WireValue]] : [];
    });
  }

  /** A local Map of every readable key. */
  async copy(): Promise<Map<ChordKey, WireValue>> {
    return new Map(await this.items());
  }

  /** This node's point on the ring (its id read as a base58 integer). */
  get position(): bigint | undefined {
    return this.coreState?.position;
  }

  /** The storing peers with their ring points. */
  private storingPeers(): Array<{ readonly id: string; readonly position: bigint }> {
    const s = this.coreState;
    if (s === undefined) return [];
    return [...s.peers].filter(([, p]) => p.storing).map(([id, p]) => ({ id, position: p.position }));
  }

  /** The storing peer nearest below this node on the ring (the seeds' `next`), or undefined. */
  get nextPeer(): string | undefined {
    const s = this.coreState;
    return s === undefined ? undefined : O.toUndefined(ring.next(s.position, this.storingPeers()))?.id;
  }

  /** The storing peer nearest above this node on the ring (the seeds' `prev`), or undefined. */
  get prevPeer(): string | undefined {
    const s = this.coreState;
    return s === undefined ? undefined : O.toUndefined(ring.prev(s.position, this.storingPeers()))?.id;
  }

  /** The ring's nodes this one knows (storing peers, and itself when joined). */
  private candidates(): Array<{ readonly id: string; readonly position: bigint }> {
    const s = this.coreState;
    if (s === undefined) return [];
    const peers = this.storingPeers();
    return isJoined(s) ? [...peers, { id: this.id, position: s.position }] : peers;
  }

  /** The id of the known node that owns ring point `position` (the seeds' `find`), or undefined. */
  find(position: bigint): string | undefined {
    return O.toUndefined(ring.find(position, this.candidates()))?.id;
  }

  /** The id of the known node nearest at or above `position` (the seeds' `find_prev`), or undefined. */
  findPrev(position: bigint): string | undefined {
    return O.toUndefined(ring.findPrev(position, this.candidates()))?.id;
  }

  /** What this node itself holds: per table, key58 → value. */
  dumpData(): Record<TableName, Map<string, WireValue>> {
    const out = { sha1: new Map(), sha224: new Map(), sha256: new Map(), sha384: new Map(), sha512: new Map() } as Record<TableName, Map<string, WireValue>>;
    const s = this.coreState;
    if (s !== undefined) for (const it of chordItems(s)) out[it.table].set(it.key58, it.value);
    return out;
  }

  /** Merges a map into the map under `key` (created when absent); resolves with the merged map. */
  async applyDelta(key: ChordKey, delta: ReadonlyMap<WireValue, WireValue> | Readonly<Record<string, WireValue>>): Promise<Map<WireValue, WireValue>> {
    const d: ReadonlyMap<WireValue, WireValue> = delta instanceof Map ? delta : new Map(Object.entries(delta));
    const current = await this.get(key, new Map());
    if (!(current instanceof Map)) throw new ChordRequestFailed({ _tag: 'BadValue', detail: 'the stored value is not a map' });
    await this.call((at, cmd) => ({ _tag: 'ChordApplyDelta', at, cmd, key, delta: d }));
    const merged = new Map(current as Map<WireValue, WireValue>);
    for (const [k, v] of d) merged.set(k, v);
    return merged;
  }

  override async close(): Promise<void> {
    await super.close();
    for (const c of this.calls.values()) c.reject(new ChordRequestFailed({ _tag: 'Shutdown' }));
    this.calls.clear();
  }
}
