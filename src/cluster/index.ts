export { SingleNodeLeadership, type Leadership } from './leadership.js';
export { ShardTable, type ShardAssignment } from './shard-table.js';
export { CoordinatorDuties, type Duty } from './duties.js';
export { ClusterState, type Member, type ShardOwnership, type PlacedAgent, type Outcome } from './cluster-state.js';
export { clusterCommand, encodeCommand, decodeCommand, type ClusterCommand, type MemberRole, type MemberStanding } from './commands.js';
export { ClusterRaft, DEFAULT_RAFT_TIMING, type ClusterRaftOptions, type RaftTiming } from './cluster-raft.js';
export { MembershipSteward, type MembershipLog } from './membership.js';
export { forceNewCluster, type ForcedCluster } from './recovery.js';
export { placeShards, type Assignment, type PlacementInput, type StoredShard } from './shard-placement.js';
