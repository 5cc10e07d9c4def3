/**
 * The cluster as the admin API and `/cluster/health` see it, and revocation: what the node's Raft
 * and links know, with certificate expiry from the database's record of issued certificates.
 */
import { ClusterUnavailableError, RevokeSelfError, UnknownMemberError, type ClusterAdmin, type ClusterStatusView } from '../../admin/index.js';
import type { ClusterRepository } from '../../store/index.js';
import type { PeerFaults } from '../../transport/index.js';
import { NotLeaderError, type ClusterNode } from './cluster-node.js';

type Certificates = Pick<ClusterRepository, 'listNodeCertificates' | 'revokeNode'>;

/** What an edge worker last reported to this node (see edge-workers.ts). */
export type WorkerReports = (node: string) => { agents: number; outboxDepth: number; outboxBytes: number; at: number } | undefined;

export function clusterView(node: ClusterNode, certificates: Certificates, clusterId: string, reports: WorkerReports = () => undefined): () => Promise<ClusterStatusView> {
  return async () => {
    const status = node.raft.status();
    const issued = new Map((await certificates.listNodeCertificates()).map((c) => [c.serial, c]));
    const reason = node.unreadyReason();
    const shards = new Map<string, number>();
    for (const owner of node.raft.state.shardOwners().values()) shards.set(owner.node, (shards.get(owner.node) ?? 0) + 1);
    return {
      clusterId,
      nodeId: node.nodeId,
      term: status.term,
      commitIndex: status.commit,
      appliedIndex: status.applied,
      leader: node.leader() ?? null,
      ready: reason === undefined,
      reason: reason ?? null,
      members: node.members().map((m) => {
        const match = status.match[m.raftId];
        const certificate = m.certificateSerial ? issued.get(m.certificateSerial) : undefined;
        const report = m.role === 'worker' ? reports(m.node) : undefined;
        return {
          node: m.node,
          raftId: m.raftId,
          address: m.address,
          role: m.role,
          standing: m.standing,
          connected: node.isConnected(m.node),
          self: m.node === node.nodeId,
          leader: m.raftId === status.leader,
          matchIndex: match ?? null,
          lag: match === undefined ? null : Math.max(0, status.lastIndex - match),
          shards: shards.get(m.node) ?? 0,
          certificate: certificate ? { serial: certificate.serial, notAfter: certificate.notAfter.toISOString() } : null,
          held: report ? { agents: report.agents, outboxDepth: report.outboxDepth, outboxBytes: report.outboxBytes, reportedAt: new Date(report.at).toISOString() } : null,
        };
      }),
    };
  };
}

export function clusterAdmin(node: ClusterNode, certificates: Certificates, clusterId: string, faults: PeerFaults | undefined, reports?: WorkerReports): ClusterAdmin {
  return {
    status: clusterView(node, certificates, clusterId, reports),
    revoke: async (nodeId) => {
      if (nodeId === node.nodeId) throw new RevokeSelfError(nodeId);
      const member = node.members().find((m) => m.node === nodeId);
      if (!member) throw new UnknownMemberError(nodeId);
      // The database first: once recorded, the node can never join again, whatever happens next.
      const revoked = await certificates.revokeNode(nodeId, new Date(), 'revoked by an administrator');
      const serials = [...new Set([...revoked.serials, ...(member.certificateSerial ? [member.certificateSerial] : [])])];
      let outcomes;
      try {
        outcomes = await node.removeMember(nodeId, serials);
      } catch (e) {
        if (e instanceof NotLeaderError) throw new ClusterUnavailableError(e.message);
        throw new ClusterUnavailableError(`the revocation is recorded, but the cluster did not confirm it (${(e as Error).message}); run it again`);
      }
      const removed = outcomes[outcomes.length - 1];
      if (!removed?.applied) throw new ClusterUnavailableError(`the revocation is recorded, but the cluster refused to remove the member (${removed && !removed.applied ? removed.reason : 'no outcome'}); run it again`);
      return { nodeId, newlyRevoked: revoked.newlyRevoked, serials };
    },
    ...(faults ? { faults: { cut: (peer, direction) => faults.cut(peer, direction), heal: (peer) => faults.heal(peer) } } : {}),
  };
}
