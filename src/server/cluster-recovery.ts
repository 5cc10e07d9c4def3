/**
 * Carrying out `kici-admin cluster recover --force` at start: this node's Raft log is rebuilt as
 * a one-member cluster (the old log is kept beside it), the members it removed are revoked in the
 * database too, and every shard becomes this node's at an epoch above any stored, so whatever the
 * lost nodes might still write is fenced.
 */
import { renameSync } from 'node:fs';
import path from 'node:path';
import { forceNewCluster } from '../cluster/index.js';
import { forcedRecoveryDone, pendingForcedRecovery, type Membership } from '../membership/index.js';
import { FileStorage } from '../raft/index.js';
import type { Store } from '../store/index.js';
import { clusterDirOf } from './cluster-start.js';
import type { Logger } from './logger.js';
import { RAFT_DIR } from './wiring/cluster-node.js';

export async function recoverIfAsked(dataDir: string, membership: Membership | undefined, store: Pick<Store, 'shards' | 'cluster' | 'coordinatorTerm'>, now: Date, log: Pick<Logger, 'warn'>): Promise<boolean> {
  const clusterDir = clusterDirOf(dataDir);
  const askedAt = pendingForcedRecovery(clusterDir);
  if (askedAt === undefined) return false;
  if (!membership) throw new Error(`a forced recovery was asked for (${path.join(clusterDir, 'recover-force')}), but this node has never been a member of a cluster: remove the file`);
  const raftDir = path.join(dataDir, RAFT_DIR);
  const old = new FileStorage(raftDir);
  let forced;
  try {
    forced = forceNewCluster(old, { node: membership.nodeId, raftId: membership.raftId });
  } finally {
    old.close();
  }
  const kept = `${raftDir}.before-recovery-${now.toISOString().replace(/[:.]/g, '-')}`;
  renameSync(raftDir, kept);
  const fresh = new FileStorage(raftDir);
  try {
    fresh.applySnapshot(forced.snapshot);
    fresh.setHardState({ term: forced.term, vote: 0, commit: forced.snapshot.meta.index });
    fresh.sync();
  } finally {
    fresh.close();
  }
  for (const node of forced.removed) await store.cluster.revokeNode(node, now, 'removed by a forced recovery');
  const epoch = await store.shards.takeAll(membership.nodeId);
  // The lost members' terms may be above this node's: its duties must not be fenced out by them.
  await store.coordinatorTerm.reset();
  forcedRecoveryDone(clusterDir);
  log.warn(
    { askedAt, removed: forced.removed, shardEpoch: epoch, index: forced.snapshot.meta.index, oldLog: kept },
    'forced recovery: this node is now a cluster of one; the removed members are revoked and every shard is this node\'s',
  );
  return true;
}
