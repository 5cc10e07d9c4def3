import { describe, it, expect } from 'vitest';
import { Network } from './network.js';
import { ProposalDroppedError, type NodeId } from '../../../src/raft/index.js';

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
    n.add(4, { voters: [1, 2, 3], learners: [4] });
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
    n.add(4, { voters: [1, 2, 3], learners: [4] });
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
    n.add(4, { voters: [1, 2, 3, 4], learners: [] });
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
