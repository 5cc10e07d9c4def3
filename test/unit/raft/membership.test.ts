import { describe, it, expect } from 'vitest';
import { Network, encodeState } from './network.js';
import { ProposalDroppedError, type Message, type NodeId } from '../../../src/raft/index.js';

function others(leader: NodeId, ids: NodeId[]): NodeId[] {
  return ids.filter((id) => id !== leader);
}

describe('raft membership changes', () => {
  it('adds a learner that receives the log but neither votes nor counts in the quorum', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.propose(leader, 'a');
    n.stabilize();
    n.node(leader).proposeConfChange({ type: 'add_learner', node: 4, context: 'ws://node4' });
    n.stabilize();
    for (const id of [1, 2, 3]) expect(n.node(id).status().conf).toMatchObject({ voters: [1, 2, 3], learners: [4] });
    n.join(4);
    n.tick(3);
    expect(n.peer(4).applied).toEqual(['a']);

    // Learner acks do not make a quorum: with both other voters cut off, nothing commits.
    for (const id of others(leader, [1, 2, 3])) n.isolate(id);
    const { index } = n.propose(leader, 'b');
    n.stabilize();
    expect(n.node(4).status().lastIndex).toBeGreaterThanOrEqual(index);
    expect(n.node(leader).status().commit).toBeLessThan(index);

    // A learner never campaigns, however long it is left alone.
    n.heal();
    n.stabilize();
    for (const id of [1, 2, 3]) n.stop(id);
    const term = n.node(4).status().term;
    n.tick(100);
    expect(n.node(4).status()).toMatchObject({ role: 'follower', term });
  });

  it('promotes a learner, which then counts in the quorum', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.node(leader).proposeConfChange({ type: 'add_learner', node: 4 });
    n.stabilize();
    n.join(4);
    n.tick(3);
    n.node(leader).proposeConfChange({ type: 'promote', node: 4 });
    n.stabilize();
    n.tick(2);
    for (const id of [1, 2, 3, 4]) {
      expect(n.node(id).status().conf.voters.sort()).toEqual([1, 2, 3, 4]);
      expect(n.node(id).status().conf.learners).toEqual([]);
    }
    // Four voters: the leader plus one other is not a quorum, plus node 4 is.
    const [a, b] = others(leader, [1, 2, 3]);
    n.isolate(a);
    n.isolate(b);
    const first = n.propose(leader, 'x');
    n.stabilize();
    expect(n.node(leader).status().commit).toBeLessThan(first.index);
    n.heal();
    n.isolate(a);
    n.tick(2);
    expect(n.node(leader).status().commit).toBeGreaterThanOrEqual(first.index);
    expect(n.peer(4).applied).toEqual(['x']);
  });

  it('adds a voter directly', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.propose(leader, 'a');
    n.node(leader).proposeConfChange({ type: 'add_voter', node: 4 });
    n.stabilize();
    n.join(4);
    n.tick(3);
    expect(n.peer(4).applied).toEqual(['a']);
    expect(n.node(leader).status().conf.voters).toContain(4);
    // The new voter can win an election.
    n.stop(leader);
    n.tick(60);
    expect(n.leader()).toBeDefined();
    expect(n.leader()).not.toBe(leader);
  });

  it('removes a voter; the rest carry on with the smaller quorum', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const [gone, stays] = others(leader, [1, 2, 3]);
    n.node(leader).proposeConfChange({ type: 'remove', node: gone });
    n.stabilize();
    expect(n.node(leader).status().conf.voters.sort()).toEqual([leader, stays].sort());
    expect(n.node(stays).status().conf.removed).toEqual([gone]);
    n.stop(gone);
    n.propose(leader, 'after');
    n.stabilize();
    expect(n.peer(stays).applied).toEqual(['after']);
  });

  it('never reuses a removed id', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const [gone] = others(leader, [1, 2, 3]);
    n.node(leader).proposeConfChange({ type: 'remove', node: gone });
    n.stabilize();
    expect(() => n.node(leader).proposeConfChange({ type: 'add_voter', node: gone })).toThrow(/never reused/);
    expect(() => n.node(leader).proposeConfChange({ type: 'add_learner', node: gone })).toThrow(ProposalDroppedError);
    // Even if such an entry were applied, the configuration would not take the id back.
    const conf = n.node(leader).applyConfChange({ type: 'add_voter', node: gone });
    expect(conf.voters).not.toContain(gone);
  });

  it('refuses a second change while the first is not applied', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.node(leader).proposeConfChange({ type: 'add_learner', node: 4 });
    expect(() => n.node(leader).proposeConfChange({ type: 'add_learner', node: 5 })).toThrow(/pending/);
    n.stabilize();
    expect(() => n.node(leader).proposeConfChange({ type: 'add_learner', node: 5 })).not.toThrow();
    n.stabilize();
    expect(n.node(leader).status().conf.learners).toEqual([4, 5]);
  });

  it('removing the leader hands leadership to a remaining voter', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.propose(leader, 'a');
    n.node(leader).proposeConfChange({ type: 'remove', node: leader });
    n.stabilize();
    expect(n.node(leader).status().role).toBe('follower');
    n.tick(30);
    const next = n.leader();
    expect(next).toBeDefined();
    expect(next).not.toBe(leader);
    expect(n.node(next!).status().conf.voters).not.toContain(leader);
    n.propose(next!, 'b');
    n.stabilize();
    const rest = others(leader, [1, 2, 3]);
    for (const id of rest) expect(n.peer(id).applied).toEqual(['a', 'b']);
    // The removed node never campaigns again.
    n.stop(next!);
    n.tick(60);
    expect(n.node(leader).status().role).toBe('follower');
  });

  it('rejects invalid changes at proposal time', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    expect(() => n.node(leader).proposeConfChange({ type: 'promote', node: 2 })).toThrow(/not a learner/);
    expect(() => n.node(leader).proposeConfChange({ type: 'add_voter', node: 2 })).toThrow(/already a voter/);
    expect(() => n.node(leader).proposeConfChange({ type: 'remove', node: 9 })).toThrow(/not a member/);
  });
});

describe('a joining node', () => {
  it('starts empty and learns the configuration, removed ids included, from the leader', () => {
    const n = new Network([1, 2, 3]);
    n.node(1).campaign();
    n.stabilize();
    n.propose(1, 'a');
    n.stabilize();
    n.node(1).proposeConfChange({ type: 'remove', node: 3 });
    n.stabilize();
    n.node(1).proposeConfChange({ type: 'add_learner', node: 4 });
    n.stabilize();
    n.join(4);
    n.tick(2);
    // The bootstrap snapshot (index 0) came first, so replaying the log gave the same history.
    const snaps = n.delivered.filter((m) => m.type === 'snapshot' && m.to === 4);
    expect(snaps.map((m) => m.snapshot!.meta.index)).toEqual([0]);
    expect(n.node(4).status().conf).toEqual(n.node(1).status().conf);
    expect(n.node(4).status().conf).toEqual({ voters: [1, 2], learners: [4], removed: [3] });
    expect(n.peer(4).applied).toEqual(['a']);

    // Once it leads, it refuses to bring the removed id back.
    n.node(1).proposeConfChange({ type: 'promote', node: 4 });
    n.stabilize();
    n.node(1).transferLeadership(4);
    n.stabilize();
    expect(n.node(4).status().role).toBe('leader');
    expect(() => n.node(4).proposeConfChange({ type: 'add_learner', node: 3 })).toThrow(/never reused/);
  });

  it('gets the leader\'s latest snapshot when the log is compacted', () => {
    const n = new Network([1, 2, 3]);
    n.node(1).campaign();
    n.stabilize();
    for (const p of ['a', 'b', 'c']) n.propose(1, p);
    n.stabilize();
    n.node(1).proposeConfChange({ type: 'add_learner', node: 4 });
    n.stabilize();
    const st = n.node(1).status();
    n.peer(1).storage.compact(st.applied, encodeState(n.peer(1).applied), st.conf);
    n.join(4);
    n.tick(2);
    const snaps = n.delivered.filter((m) => m.type === 'snapshot' && m.to === 4);
    expect(snaps.map((m) => m.snapshot!.meta.index)).toEqual([st.applied]);
    expect(n.node(4).status().conf).toEqual({ voters: [1, 2, 3], learners: [4], removed: [] });
    expect(n.peer(4).applied).toEqual(['a', 'b', 'c']);
  });

  it('neither campaigns nor accepts entries before it has a configuration', () => {
    const n = new Network([1, 2, 3]);
    n.join(9);
    n.tick(50);
    expect(n.node(9).status()).toMatchObject({ role: 'follower', term: 0, lastIndex: 0 });
    const append: Message = { type: 'append', from: 1, to: 9, term: 1, index: 0, logTerm: 0, entries: [], commit: 0 };
    n.node(9).step(append);
    expect(n.node(9).ready().messages).toMatchObject([{ type: 'append_resp', reject: true, needSnapshot: true }]);
  });
});

describe('a leader that removes itself', () => {
  it('keeps leading until the remaining voters know the removal committed, so they can elect', () => {
    const n = new Network([1, 2, 3, 4]);
    n.node(1).campaign();
    n.stabilize();
    n.stop(4); // down for good: the old configuration {1,2,3,4} would need node 1 to elect anyone
    const { index } = n.node(1).proposeConfChange({ type: 'remove', node: 1 });
    // The appends telling the others the removal committed are lost, and so is any timeout_now.
    n.drop = (m) => m.from === 1 && (((m.type === 'append' || m.type === 'heartbeat') && (m.commit ?? 0) >= index) || m.type === 'timeout_now');
    n.stabilize();
    expect(n.node(1).status().conf.voters).toEqual([2, 3, 4]);
    expect(n.node(2).status().commit).toBeLessThan(index);
    expect(n.node(1).status().role).toBe('leader');
    n.drop = undefined;
    // The operator shuts the removed node down once it has handed over.
    for (let i = 0; i < 5 && n.node(1).status().role === 'leader'; i++) n.tick(1);
    expect(n.node(1).status().role).toBe('follower');
    n.stop(1);
    n.tick(40);
    const leader = [2, 3].find((id) => n.node(id).status().role === 'leader');
    expect(leader).toBeDefined();
    expect(n.node(leader!).status().conf.voters).toEqual([2, 3, 4]);
  });
});

