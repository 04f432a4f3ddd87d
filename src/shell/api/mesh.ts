/**
 * `MeshSocket`: the mesh facade bound to the real mesh core, Node's hashing and compression, and
 * the protocol's id derivations.
 */
import { nodeCapabilities } from '../caps.js';
import { compressionFlags } from '../../core/flags.js';
import { protocolId, nodeId } from '../../core/ids.js';
import { awaitingConnections, initNode, isQueuedForUser, nextWakeup, nodeStatus, routingTable, step, type NodeState } from '../../core/node.js';
import type { NodeConfig } from '../../core/config.js';
import type { Core } from '../net/runtime.js';
import { GenericMeshSocket, type MeshDeps, type MeshSocketOptions } from './socket.js';

const meshCore = (config: NodeConfig): Core<NodeState> => {
  const env = { config, caps: nodeCapabilities };
  return {
    init: (at) => initNode(env, at),
    step: (state, input) => step(env, state, input),
    nextWakeup,
  };
};

/** The real core, as the facade needs it. */
export const meshDeps: MeshDeps<NodeState> = {
  makeCore: meshCore,
  protocolId: (subnet, encryption) => protocolId(nodeCapabilities, subnet, encryption),
  nodeId: (outAddr, proto, salt) => nodeId(nodeCapabilities, outAddr, proto, salt),
  routingTable: (s) => routingTable(s),
  awaiting: (s) => awaitingConnections(s),
  status: (s) => nodeStatus(s),
  isQueuedForUser,
};

/**
 * Compression offered by default, in preference order. Snappy first: it costs a fraction of zlib
 * per message, and the sending rule (our first method the peer also offers) still picks zlib with
 * js2p, which has no snappy on Node 20, and snappy with py2p, which prefers it too.
 */
export const MESH_COMPRESSION_DEFAULT: ReadonlyArray<number> = [compressionFlags.snappy, compressionFlags.zlib, compressionFlags.gzip];

/** A node of a mesh network (py2p/js2p `MeshSocket`). */
export class MeshSocket extends GenericMeshSocket<NodeState> {
  constructor(options: MeshSocketOptions = {}) {
    super(meshDeps, { compression: MESH_COMPRESSION_DEFAULT, ...options });
  }
}
