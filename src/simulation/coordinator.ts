/**
 * A simulated node's coordinator: the orchestrator's own (cluster/coordinator.ts: the real
 * MembershipSteward, placement, rebalancing paced by the RebalanceBudget, the watch on members
 * whose link went down, judged alive by the real Liveness), with the simulation's stand-in for the
 * join door as its admission: the founder records itself, and the leader proposes each joiner
 * once its join time has come.
 */
import { Coordinator, type ClusterCommand, type ClusterRaft, type StoredShard } from '../cluster/index.js';
import type { ProcessClock } from './process-clock.js';
import { traceLog } from './trace.js';

export interface Joiner {
  node: string;
  raftId: number;
  /** Virtual ms since the start from which it asks to join. */
  at: number;
}

export interface CoordinatorParts {
  nodeId: string;
  raftId: number;
  raft: ClusterRaft;
  clock: ProcessClock;
  /** Virtual ms since the start (join times are counted in it). */
  elapsed(): number;
  heartbeatMs: number;
  joiners: readonly Joiner[];
  rebalanceShardsPerSecond: number;
  /** Is this coordinator alive, as this node sees it (Liveness over its links)? */
  alive(node: string): boolean;
  /** How long a member whose link went down takes to count as dead, and whether its link is up. */
  staleMs: number;
  linkUp(node: string): boolean;
  /** The shard rows of the store: where shards the map does not name yet go. */
  storedShards(): StoredShard[];
  trace(line: string): void;
}

/** Each node's cluster port, as members record it. */
export function simAddress(node: string): string {
  return `${node}.sim:4001`;
}

export function simCoordinator(p: CoordinatorParts): Coordinator {
  const record = async (command: ClusterCommand) => {
    const outcome = await p.raft.propose(command);
    p.trace(outcome.applied ? `proposed ${describe(command)}` : `refused ${describe(command)}: ${outcome.reason}`);
  };
  // This node's own record first (the founder), then every joiner whose time has come.
  const admit = async () => {
    if (!p.raft.state.member(p.nodeId)) await record({ type: 'member_added', node: p.nodeId, raftId: p.raftId, address: simAddress(p.nodeId), role: 'coordinator' });
    for (const j of p.joiners) {
      if (j.at > p.elapsed() || p.raft.state.member(j.node) || p.raft.state.wasRemoved(j.raftId)) continue;
      await record({ type: 'member_added', node: j.node, raftId: j.raftId, address: simAddress(j.node), role: 'coordinator' });
    }
  };
  const log = traceLog(p.trace);
  return new Coordinator({
    nodeId: p.nodeId,
    raft: p.raft,
    clock: p.clock,
    log: { info: log, warn: log },
    choreEveryMs: p.heartbeatMs * 4,
    rebalanceShardsPerSecond: p.rebalanceShardsPerSecond,
    alive: p.alive,
    storedShards: async () => p.storedShards(),
    admit,
    staleMs: p.staleMs,
    linkUp: p.linkUp,
  });
}

function describe(c: ClusterCommand): string {
  return 'node' in c ? `${c.type} ${c.node}` : c.type;
}
