import { Command } from 'commander';
import type { ClusterMemberView, ClusterStatusView } from '../api/deps.js';
import { apiFor, globals } from './context.js';
import { recoverCommand } from './membership.js';
import { printFields, printJson, printTable } from './output.js';

/** The columns `peer list` and `cluster status` show each member in. */
export const MEMBER_COLUMNS = ['node', 'role', 'standing', 'address', 'connected', 'leader', 'shards', 'lag', 'held', 'expires'];

/** A member as a table row: the leader marked, lag known on the leader only, its certificate's expiry. */
export function memberRow(m: ClusterMemberView): Record<string, unknown> {
  return {
    node: m.node,
    role: m.role,
    standing: m.standing,
    address: m.address,
    connected: m.connected ? 'yes' : 'no',
    leader: m.leader ? '*' : '',
    shards: m.shards,
    lag: m.lag,
    // An edge worker's outbox: reports waiting for a coordinator (blank on coordinators).
    held: m.held ? `${m.held.outboxDepth} (${m.held.outboxBytes} B)` : '',
    expires: m.certificate?.notAfter ?? null,
  };
}

export function clusterCommands(): Command {
  const cluster = new Command('cluster').description("the cluster's consensus as this node sees it");

  cluster
    .command('status')
    .description('who leads, the Raft term and indexes, whether this node is in quorum, and each member')
    .action(async (_o, cmd: Command) => {
      const s = await apiFor(cmd).call<ClusterStatusView>('GET', '/cluster/status');
      if (globals(cmd).json) return printJson(s);
      printFields({
        cluster: s.clusterId,
        'this node': s.nodeId,
        leader: s.leader ? `${s.leader.node} (${s.leader.address})` : 'none known',
        term: s.term,
        'commit index': s.commitIndex,
        'applied index': s.appliedIndex,
        ready: s.ready ? 'yes' : `no: ${s.reason ?? 'out of quorum'}`,
      });
      process.stdout.write('\n');
      printTable(s.members.map(memberRow), MEMBER_COLUMNS);
    });

  cluster.addCommand(recoverCommand());
  return cluster;
}
