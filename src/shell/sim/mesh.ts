/**
 * The mesh node kind for the simulator: the real mesh core (`src/core/node.ts`) with Node's
 * hashing and compression, configured the way a MeshSocket configures it, except that the salt
 * and the PRNG seed come from the run seed instead of from crypto, and that the nodes of one kind
 * share a memo of message ids (`digests.ts`: the bytes of a broadcast are hashed once, not once
 * per receiver; every receiver still checks its frames' checksums).
 */
import { defaultLimits, type NodeConfig } from '../../core/config.js';
import { nodeId, protocolId } from '../../core/ids.js';
import { commandRefusal, initNode, isQueuedForUser, nextWakeup, nodeStatus, routingTable, step, type Env, type NodeState } from '../../core/node.js';
import { nodeCapabilities } from '../caps.js';
import { memoisedDigests } from './digests.js';
import type { KindParams, NodeKind } from './kind.js';

/** Compression a simulated mesh node offers unless told otherwise (a MeshSocket's default). */
export const SIM_COMPRESSION: ReadonlyArray<number> = [0x13, 0x11];

const protocolIds = new Map<string, string>();
const protocolIdOf = (subnet: string): string => {
  let id = protocolIds.get(subnet);
  if (id === undefined) protocolIds.set(subnet, (id = protocolId(nodeCapabilities, subnet, 'Plaintext')));
  return id;
};

/** The entries of `limits` that name a key of `defaults` (other kinds' keys are ignored). */
export const pickLimits = <T extends object>(defaults: T, limits: Readonly<Record<string, number>>): Partial<T> => {
  const out: Record<string, number> = {};
  for (const k of Object.keys(defaults)) {
    const v = limits[k];
    if (v !== undefined) out[k] = v;
  }
  return out as Partial<T>;
};

/** The mesh configuration of a simulated node: its id, subnet, address, seed and bounds. */
export const simNodeConfig = (p: KindParams, compression: ReadonlyArray<number>): NodeConfig => {
  const protocol = { subnet: p.subnet, encryption: 'Plaintext', id: protocolIdOf(p.subnet) };
  return {
    id: nodeId(nodeCapabilities, p.address, protocol.id, p.salt),
    protocol,
    outAddr: p.address,
    compression,
    seed: p.seed,
    ...defaultLimits,
    ...pickLimits(defaultLimits, p.limits),
  };
};

/** A mesh node kind offering the given compression methods (none: `[]`). */
export const meshKindWith = (compression: ReadonlyArray<number>): NodeKind<Env, NodeState> => {
  const caps = memoisedDigests(nodeCapabilities);
  return {
    name: 'mesh',
    makeEnv: (p) => ({ config: simNodeConfig(p, compression), caps }),
    nodeId: (env) => env.config.id,
    init: initNode,
    step,
    nextWakeup,
    peers: routingTable,
    isQueuedForUser,
    protocol: (env) => env.config.protocol,
    status: nodeStatus,
    refusal: commandRefusal,
    limits: defaultLimits,
  };
};

/** The mesh node kind, offering zlib and gzip like a MeshSocket. */
export const meshKind: NodeKind<Env, NodeState> = meshKindWith(SIM_COMPRESSION);
