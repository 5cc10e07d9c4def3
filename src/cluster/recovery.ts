/**
 * Forcing a new cluster from one survivor's log, when a majority of coordinators is gone for good
 * (`kici-admin cluster recover --force`, as etcd's `--force-new-cluster`). The survivor's state is
 * rebuilt from everything its log holds that it knows is committed, every other member is removed
 * (their Raft ids retired, their certificates revoked), and the result becomes a snapshot whose
 * configuration names the survivor as the only voter. Entries the survivor never learned were
 * committed are dropped: that is the price of recovering without a quorum, and why it is forced.
 */
import type { ConfState, LogStorage, Snapshot } from '../raft/index.js';
import { ClusterState } from './cluster-state.js';
import { encodeCommand } from './commands.js';

export interface ForcedCluster {
  snapshot: Snapshot;
  /** The term to keep as the node's hard state: never below one it already voted in. */
  term: number;
  /** The members removed, by node id. */
  removed: string[];
}

export function forceNewCluster(storage: LogStorage, self: { node: string; raftId: number }): ForcedCluster {
  const state = new ClusterState();
  const base = storage.snapshot();
  state.restore(base.data);
  const { hardState } = storage.initialState();
  const commit = Math.min(hardState.commit, storage.lastIndex());
  const from = Math.max(base.meta.index + 1, storage.firstIndex());
  if (commit >= from) {
    for (const e of storage.entries(from, commit + 1)) if (e.type === 'normal' && e.data.length > 0) state.apply(e.data);
  }
  const removed: string[] = [];
  const retired = new Set<number>();
  for (const m of state.memberList()) {
    if (m.raftId !== self.raftId) retired.add(m.raftId);
    if (m.node === self.node) continue;
    state.apply(encodeCommand({ type: 'member_removed', node: m.node }));
    removed.push(m.node);
  }
  // The database is the record of who owned what at which epoch: the survivor takes every shard
  // there (above any epoch stored), and the leader places the map again from it.
  state.clearShardMap();
  const index = Math.max(commit, base.meta.index);
  // The snapshot names the term of the entry it ends at, as any snapshot does; the node's own term
  // (its hard state) never goes back.
  const entryTerm = index > 0 ? storage.term(index) : 0;
  const term = Math.max(hardState.term, entryTerm);
  const previous = base.meta.conf;
  const conf: ConfState = {
    voters: [self.raftId],
    learners: [],
    removed: [...new Set([...(previous.removed ?? []), ...previous.voters, ...previous.learners, ...retired])].filter((id) => id !== self.raftId).sort((a, b) => a - b),
  };
  return { snapshot: { meta: { index, term: entryTerm, conf }, data: state.snapshot() }, term, removed };
}
