import type { ClusterStatusView } from '../../admin/index.js';
import type { Router } from '../http/router.js';

/**
 * `GET /cluster/health`: who leads and who is a member, for load balancers and dashboards. Like
 * `/health` it needs no token (it names nodes and addresses, never secrets) and answers 200 while
 * the process works; whether this node is in quorum is in the body and on `/ready`.
 */
export function clusterRoutes(router: Router, status: () => Promise<ClusterStatusView>): void {
  router.on('GET', '/cluster/health', async () => {
    const s = await status();
    return {
      status: 200,
      body: {
        clusterId: s.clusterId,
        nodeId: s.nodeId,
        leader: s.leader,
        term: s.term,
        commitIndex: s.commitIndex,
        ready: s.ready,
        reason: s.reason,
        members: s.members.map((m) => ({ node: m.node, address: m.address, role: m.role, standing: m.standing, connected: m.connected, leader: m.leader })),
      },
    };
  });
}
