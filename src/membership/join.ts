/**
 * Joining a cluster from a join token: make this node's key and certificate request, ask a member
 * (`requestJoin` checks the member's CA against the token first), and keep what comes back in the
 * data directory, so the next start runs as a member. The node's key never leaves the machine.
 */
import { createNodeRequest, parseJoinToken, saveNodeCredentials } from '../certificates/index.js';
import { requestJoin } from '../transport/index.js';
import { writeJoinSecrets, writeMembership, type Membership } from './member-file.js';

export interface JoinAsCoordinator {
  clusterDir: string;
  nodeId: string;
  /** The token as the operator gave it. */
  token: string;
  /** Members' cluster ports. */
  peers: string[];
  /** Where the other nodes reach this node's cluster port. */
  address: string;
  deadlineMs?: number;
  onRetry?(peer: string, why: string): void;
}

export async function joinAsCoordinator(j: JoinAsCoordinator): Promise<Membership> {
  const token = parseJoinToken(j.token);
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
      if (made?.clusterId !== ca.clusterId) made = { clusterId: ca.clusterId, request: await createNodeRequest({ clusterId: ca.clusterId, nodeId: j.nodeId, role: 'coordinator' }) };
      return { nodeId: j.nodeId, role: 'coordinator', address: j.address, csr: made.request.requestPem };
    },
  });
  if (!made || accepted.clusterId !== made.clusterId) throw new Error('the join answer names another cluster than the CA it was asked through');
  const privateKey = made.request.privateKey;
  saveNodeCredentials(j.clusterDir, { certificatePem: accepted.certificate, privateKey, caCertificatePem: accepted.caCertificate });
  if (accepted.secrets) writeJoinSecrets(j.clusterDir, accepted.secrets);
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
