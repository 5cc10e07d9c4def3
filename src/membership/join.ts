/**
 * Joining a cluster from a join token: make this node's key and certificate request, ask a member
 * (`requestJoin` checks the member's CA against the token first), and keep what comes back in the
 * data directory, so the next start runs as a member. The node's key never leaves the machine.
 *
 * A coordinator names the address the other nodes reach its cluster port at, and is handed the
 * secrets the cluster shares (sealed to its key). A worker is never dialled (it sits behind NAT
 * and dials the coordinators), so it names no address, and it is handed no secrets: it keeps no
 * database and holds no CA key.
 */
import { createNodeRequest, type NodeRole, parseJoinToken, saveNodeCredentials } from '../certificates/index.js';
import { requestJoin } from '../transport/index.js';
import { writeJoinSecrets, writeMembership, type Membership } from './member-file.js';

interface JoinParts {
  clusterDir: string;
  nodeId: string;
  /** The token as the operator gave it. */
  token: string;
  /** Members' cluster ports (a worker: the coordinators it dials). */
  peers: string[];
  deadlineMs?: number;
  onRetry?(peer: string, why: string): void;
}

export interface JoinAsCoordinator extends JoinParts {
  /** Where the other nodes reach this node's cluster port. */
  address: string;
}

export type JoinCluster = (JoinAsCoordinator & { role: 'coordinator' }) | (JoinParts & { role: 'worker' });

export function joinAsCoordinator(j: JoinAsCoordinator): Promise<Membership> {
  return joinCluster({ ...j, role: 'coordinator' });
}

export async function joinCluster(j: JoinCluster): Promise<Membership> {
  const token = parseJoinToken(j.token);
  const role: NodeRole = j.role;
  // A request names the cluster; the token names only its CA. The cluster id is read from the CA
  // certificate the member shows, which requestJoin has checked against the token: one key and
  // request are made for it, whichever member finally admits this node.
  let made: { clusterId: string; request: Awaited<ReturnType<typeof createNodeRequest>> } | undefined;
  const accepted = await requestJoin({
    peers: j.peers,
    token,
    tokenText: j.token,
    deadlineMs: j.deadlineMs,
    onRetry: j.onRetry,
    request: async (ca) => {
      if (made?.clusterId !== ca.clusterId) made = { clusterId: ca.clusterId, request: await createNodeRequest({ clusterId: ca.clusterId, nodeId: j.nodeId, role }) };
      const csr = made.request.requestPem;
      return j.role === 'coordinator' ? { nodeId: j.nodeId, role: 'coordinator', address: j.address, csr } : { nodeId: j.nodeId, role: 'worker', csr };
    },
  });
  if (!made || accepted.clusterId !== made.clusterId) throw new Error('the join answer names another cluster than the CA it was asked through');
  if (accepted.nodeId !== j.nodeId) throw new Error(`the join answer admits node ${accepted.nodeId}, not ${j.nodeId}`);
  const privateKey = made.request.privateKey;
  saveNodeCredentials(j.clusterDir, { certificatePem: accepted.certificate, privateKey, caCertificatePem: accepted.caCertificate });
  // A worker keeps no secrets of the cluster, even if a member were to hand it some.
  if (accepted.secrets && j.role === 'coordinator') writeJoinSecrets(j.clusterDir, accepted.secrets);
  const membership: Membership = {
    clusterId: accepted.clusterId,
    nodeId: accepted.nodeId,
    raftId: accepted.raftId,
    founder: false,
    members: accepted.members.map((m) => ({ node: m.node, raftId: m.raftId, address: m.address })),
  };
  writeMembership(j.clusterDir, membership);
  return membership;
}
