/**
 * A node's cluster membership as its data directory keeps it, and joining a cluster with a token.
 * The orchestrator reads it at start; `kici-admin join` writes it ahead of a first start.
 */
export { joinAsCoordinator, type JoinAsCoordinator, joinCluster, type JoinCluster } from './join.js';
export {
  JOIN_SECRETS_FILE,
  MEMBER_FILE,
  type Membership,
  MembershipFileError,
  openJoinSecrets,
  readMembership,
  rewriteJoinSecretKeys,
  writeMembership,
} from './member-file.js';
export { FORCED_RECOVERY_FILE, forcedRecoveryDone, pendingForcedRecovery, requestForcedRecovery } from './forced-recovery.js';
export { localNodeId } from './node-id.js';
