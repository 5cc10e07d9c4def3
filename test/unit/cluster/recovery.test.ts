/**
 * Forcing a new cluster from one survivor's log: built on a real MemoryStorage holding real
 * encoded commands, read back through a real ClusterState.
 */
import { describe, expect, it } from 'vitest';
import { type ClusterCommand, ClusterState, encodeCommand, forceNewCluster } from '../../../src/cluster/index.js';
import { encodeConfChange, type Entry, MemoryStorage } from '../../../src/raft/index.js';

const SERIAL = { a: 'aa01', b: 'bb02', c: 'cc03', d: 'dd04' } as const;

const added = (node: 'a' | 'b' | 'c' | 'd', raftId: number): ClusterCommand => ({
  type: 'member_added',
  node,
  raftId,
  address: `${node}.local:4001`,
  role: 'coordinator',
  certificateSerial: SERIAL[node],
});

function entry(index: number, term: number, command: ClusterCommand): Entry {
  return { index, term, type: 'normal', data: encodeCommand(command) };
}

function restored(data: Uint8Array): ClusterState {
  const state = new ClusterState();
  state.restore(data);
  return state;
}

/**
 * A three-coordinator log as the survivor `a` holds it: entries 1..6 committed (the members, a
 * promotion, a conf change, shard assignments, a setting), entry 7 (`d` joining) appended but not
 * known to be committed.
 */
function threeMemberLog(hardTerm = 2): MemoryStorage {
  const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
  storage.append([
    entry(1, 1, added('a', 1)),
    entry(2, 1, added('b', 2)),
    entry(3, 1, added('c', 3)),
    { index: 4, term: 2, type: 'conf_change', data: encodeConfChange({ type: 'add_learner', node: 9 }) },
    entry(5, 2, { type: 'shard_assigned', shard: 0, node: 'b', epoch: 3 }),
    entry(6, 2, { type: 'shard_assigned', shard: 1, node: 'a', epoch: 4 }),
    entry(7, 2, added('d', 4)),
  ]);
  storage.setHardState({ term: hardTerm, vote: 1, commit: 6 });
  return storage;
}

describe('forceNewCluster', () => {
  it('makes the survivor the only voter and retires every other raft id', () => {
    const { snapshot, removed } = forceNewCluster(threeMemberLog(), { node: 'a', raftId: 1 });
    expect(snapshot.meta.conf.voters).toEqual([1]);
    expect(snapshot.meta.conf.learners).toEqual([]);
    expect(snapshot.meta.conf.removed).toEqual([2, 3]);
    expect(removed.sort()).toEqual(['b', 'c']);
  });

  it('rebuilds the committed state with only the survivor as member, the others revoked and retired', () => {
    const { snapshot } = forceNewCluster(threeMemberLog(), { node: 'a', raftId: 1 });
    const state = restored(snapshot.data);
    expect(state.memberList().map((m) => m.node)).toEqual(['a']);
    expect(state.member('a')).toMatchObject({ raftId: 1, certificateSerial: SERIAL.a });
    expect(state.member('b')).toBeUndefined();
    expect(state.member('c')).toBeUndefined();
    expect(state.isRevoked(SERIAL.b)).toBe(true);
    expect(state.isRevoked(SERIAL.c)).toBe(true);
    expect(state.isRevoked(SERIAL.a)).toBe(false);
    expect(state.wasRemoved(2)).toBe(true);
    expect(state.wasRemoved(3)).toBe(true);
    expect(state.wasRemoved(1)).toBe(false);
    expect(state.nextRaftId()).toBeGreaterThan(3);
    // A removed id is refused if someone tries to hand it out again.
    expect(state.apply(encodeCommand({ type: 'member_added', node: 'e', raftId: 2, address: 'e.local:4001', role: 'coordinator' }))).toMatchObject({ applied: false });
  });

  it('forgets the shard map: the database records who owned what, and the leader places it again', () => {
    const state = restored(forceNewCluster(threeMemberLog(), { node: 'a', raftId: 1 }).snapshot.data);
    expect(state.shardMap()).toEqual([]);
  });

  it('drops the entry after the commit index', () => {
    const { snapshot, removed } = forceNewCluster(threeMemberLog(), { node: 'a', raftId: 1 });
    const state = restored(snapshot.data);
    expect(state.member('d')).toBeUndefined();
    expect(state.isRevoked(SERIAL.d)).toBe(false);
    expect(removed).not.toContain('d');
    // Raft id 4 was never committed to anyone: it is the next one handed out.
    expect(state.nextRaftId()).toBe(4);
  });

  it('takes the commit index as the snapshot index, and the term of the entry there', () => {
    const storage = threeMemberLog(2);
    const { snapshot } = forceNewCluster(storage, { node: 'a', raftId: 1 });
    expect(snapshot.meta.index).toBe(6);
    expect(snapshot.meta.term).toBe(storage.term(6));
    expect(snapshot.meta.term).toBe(2);
  });

  it('never takes the survivor back to an older term than its hard state', () => {
    // The survivor saw term 5 (elections it could not win) after entry 6 (term 2) was committed.
    const { snapshot, term } = forceNewCluster(threeMemberLog(5), { node: 'a', raftId: 1 });
    expect(snapshot.meta.index).toBe(6);
    // The snapshot names its last entry's term; the node keeps the newer one as its hard state.
    expect(snapshot.meta.term).toBe(2);
    expect(term).toBe(5);
  });

  it('reads nothing past what the storage holds, even if the hard state says more was committed', () => {
    const storage = threeMemberLog();
    storage.setHardState({ term: 2, vote: 1, commit: 50 });
    const { snapshot } = forceNewCluster(storage, { node: 'a', raftId: 1 });
    expect(snapshot.meta.index).toBe(7);
    expect(restored(snapshot.data).member('d')).toBeUndefined(); // d was committed this time, then removed
    expect(restored(snapshot.data).wasRemoved(4)).toBe(true);
    expect(snapshot.meta.conf.removed).toEqual([2, 3, 4]);
  });

  it('recovers from another survivor as well (the one the operator picked)', () => {
    const { snapshot, removed } = forceNewCluster(threeMemberLog(), { node: 'c', raftId: 3 });
    expect(snapshot.meta.conf).toMatchObject({ voters: [3], learners: [] });
    expect(snapshot.meta.conf.removed).toEqual([1, 2]);
    expect(removed.sort()).toEqual(['a', 'b']);
    const state = restored(snapshot.data);
    expect(state.memberList().map((m) => m.node)).toEqual(['c']);
    expect(state.isRevoked(SERIAL.a)).toBe(true);
  });

  it('works from a log compacted into a snapshot, keeping its removed ids and learners out', () => {
    // The state at index 5, as the driver would have compacted it.
    const before = new ClusterState();
    for (const c of [added('a', 1), added('b', 2), added('c', 3), { type: 'setting_set', key: 'site.name', value: 'ci' } as ClusterCommand]) {
      expect(before.apply(encodeCommand(c))).toEqual({ applied: true });
    }
    const storage = new MemoryStorage({ voters: [1, 2, 3], learners: [] });
    storage.append([
      entry(1, 1, added('a', 1)),
      entry(2, 1, added('b', 2)),
      entry(3, 1, added('c', 3)),
      { index: 4, term: 1, type: 'normal', data: new Uint8Array(0) },
      entry(5, 2, { type: 'setting_set', key: 'site.name', value: 'ci' }),
      entry(6, 3, { type: 'setting_set', key: 'site.owner', value: 'c' }),
      entry(7, 3, { type: 'setting_set', key: 'site.late', value: 'b' }),
    ]);
    storage.compact(5, before.snapshot(), { voters: [1, 2, 3], learners: [8], removed: [6] });
    storage.setHardState({ term: 3, vote: 1, commit: 6 });
    expect(storage.firstIndex()).toBe(6);

    const { snapshot, removed } = forceNewCluster(storage, { node: 'b', raftId: 2 });
    expect(snapshot.meta.index).toBe(6);
    expect(snapshot.meta.term).toBe(3);
    expect(snapshot.meta.conf.voters).toEqual([2]);
    expect(snapshot.meta.conf.learners).toEqual([]);
    expect(snapshot.meta.conf.removed).toEqual([1, 3, 6, 8]);
    expect(removed.sort()).toEqual(['a', 'c']);

    const state = restored(snapshot.data);
    expect(state.memberList().map((m) => m.node)).toEqual(['b']);
    expect(state.setting('site.name')).toBe('ci'); // from the compacted snapshot
    expect(state.setting('site.owner')).toBe('c'); // committed after it
    expect(state.setting('site.late')).toBeUndefined(); // appended, never known committed
    expect(state.isRevoked(SERIAL.a)).toBe(true);
    expect(state.isRevoked(SERIAL.c)).toBe(true);
    expect(state.nextRaftId()).toBeGreaterThan(3);
  });

  it('works from a log whose every entry was compacted (commit at the snapshot)', () => {
    const before = new ClusterState();
    for (const c of [added('a', 1), added('b', 2)]) before.apply(encodeCommand(c));
    const storage = new MemoryStorage({ voters: [1, 2], learners: [] });
    storage.append([entry(1, 1, added('a', 1)), entry(2, 4, added('b', 2))]);
    storage.compact(2, before.snapshot(), { voters: [1, 2], learners: [] });
    storage.setHardState({ term: 4, vote: 2, commit: 2 });

    const { snapshot, removed } = forceNewCluster(storage, { node: 'a', raftId: 1 });
    expect(snapshot.meta).toEqual({ index: 2, term: 4, conf: { voters: [1], learners: [], removed: [2] } });
    expect(removed).toEqual(['b']);
    const state = restored(snapshot.data);
    expect(state.memberList().map((m) => m.node)).toEqual(['a']);
    expect(state.isRevoked(SERIAL.b)).toBe(true);
  });

  it('leaves the storage it read untouched', () => {
    const storage = threeMemberLog();
    const snap = storage.snapshot();
    forceNewCluster(storage, { node: 'a', raftId: 1 });
    expect(storage.snapshot()).toBe(snap);
    expect(storage.lastIndex()).toBe(7);
    expect(storage.hardState()).toEqual({ term: 2, vote: 1, commit: 6 });
  });
});
