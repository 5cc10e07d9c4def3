import { describe, it, expect } from 'vitest';
import { Network } from './network.js';

describe('raft leadership transfer', () => {
  it('hands leadership to an up-to-date follower', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const target = leader === 3 ? 2 : 3;
    const term = n.node(leader).status().term;
    n.node(leader).transferLeadership(target);
    expect(() => n.propose(leader, 'x')).toThrow(/transfer/);
    n.stabilize();
    expect(n.leader()).toBe(target);
    expect(n.node(target).status().term).toBe(term + 1);
    expect(n.node(leader).status().role).toBe('follower');
    expect(n.countDelivered((m) => m.type === 'timeout_now' && m.to === target)).toBe(1);
  });

  it('catches a lagging target up before handing over', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const target = leader === 3 ? 2 : 3;
    n.isolate(target);
    for (let i = 0; i < 5; i++) n.propose(leader, `e${i}`);
    n.stabilize();
    n.heal();
    n.node(leader).transferLeadership(target);
    n.stabilize();
    n.tick(3);
    expect(n.leader()).toBe(target);
    expect(n.peer(target).applied).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('aborts after an election timeout when the target does not answer', () => {
    const n = new Network([1, 2, 3], { electionTick: 10 });
    const leader = n.elect();
    const target = leader === 3 ? 2 : 3;
    n.stop(target);
    n.node(leader).transferLeadership(target);
    expect(() => n.propose(leader, 'x')).toThrow(/transfer/);
    n.tick(10);
    expect(n.leader()).toBe(leader);
    expect(() => n.propose(leader, 'y')).not.toThrow();
  });
});

describe('raft read index and lease', () => {
  it('the leader confirms leadership with a heartbeat round before answering', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.propose(leader, 'a');
    n.stabilize();
    const commit = n.node(leader).status().commit;
    n.node(leader).readIndex('r1');
    n.processAll();
    expect(n.peer(leader).readStates).toEqual([]); // not before a quorum answered
    n.stabilize();
    expect(n.peer(leader).readStates).toEqual([{ index: commit, context: 'r1' }]);
  });

  it('an isolated leader gets no read state', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.isolate(leader);
    n.node(leader).readIndex('r2');
    n.stabilize();
    expect(n.peer(leader).readStates).toEqual([]);
  });

  it('a single-node leader answers at once; followers refuse', () => {
    const one = new Network([1]);
    one.elect();
    one.node(1).readIndex('solo');
    one.processAll();
    expect(one.peer(1).readStates).toMatchObject([{ context: 'solo' }]);

    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const f = leader === 1 ? 2 : 1;
    expect(() => n.node(f).readIndex('x')).toThrow(/not the leader/);
  });

  it('a read asked before the new term committed anything waits for that commit', () => {
    const n = new Network([1, 2, 3]);
    n.node(1).campaign();
    n.processAll();
    // Deliver only the vote round: node 1 becomes leader, its empty entry not yet acknowledged.
    for (let i = 0; i < 4 && n.node(1).status().role !== 'leader'; i++) {
      n.pending = n.pending.filter((m) => m.type !== 'append');
      n.deliverPending();
      n.processAll();
    }
    expect(n.node(1).status().role).toBe('leader');
    n.pending = n.pending.filter((m) => m.type !== 'append');
    n.node(1).readIndex('early');
    n.processAll();
    expect(n.pending.some((m) => m.context === 'early')).toBe(false);
    n.stabilize();
    expect(n.peer(1).readStates).toEqual([]);
    n.tick(2); // heartbeats re-open replication; the empty entry commits, then the read goes out
    const commit = n.node(1).status().commit;
    expect(n.peer(1).readStates).toEqual([{ index: commit, context: 'early' }]);
  });

  it('the lease holds while a quorum answers and lapses within one election timeout after', () => {
    const n = new Network([1, 2, 3], { electionTick: 10 });
    const leader = n.elect();
    n.tick(20);
    expect(n.node(leader).hasQuorumLease()).toBe(true);
    n.isolate(leader);
    n.tick(10);
    expect(n.node(leader).hasQuorumLease()).toBe(false);
  });
});

describe('raft lease edges', () => {
  it('a new leader holds no lease until a quorum answered one of its heartbeats', () => {
    const n = new Network([1, 2, 3]);
    n.node(1).campaign();
    // Deliver votes only: node 1 leads, but nobody has answered a heartbeat yet.
    for (let i = 0; i < 4 && n.node(1).status().role !== 'leader'; i++) {
      n.processAll();
      n.pending = n.pending.filter((m) => m.type !== 'append');
      n.deliverPending();
    }
    expect(n.node(1).status().role).toBe('leader');
    expect(n.node(1).hasQuorumLease()).toBe(false);
    n.tick(1);
    expect(n.node(1).hasQuorumLease()).toBe(true);
  });

  it('a restarted node grants no vote for one election timeout (it may have promised a leader)', () => {
    const n = new Network([1, 2, 3], { electionTick: 10 });
    const leader = n.elect();
    const [a, b] = [1, 2, 3].filter((id) => id !== leader);
    n.restart(b);
    const st = n.node(b).status();
    const prevote = { type: 'prevote' as const, from: a, to: b, term: st.term + 1, index: st.lastIndex, logTerm: st.term };
    n.node(b).step(prevote);
    expect(n.node(b).ready().messages).toEqual([]);
    n.node(b).advance();
    for (let i = 0; i < 10; i++) n.node(b).tick();
    n.processAll();
    n.pending = [];
    n.node(b).step(prevote);
    expect(n.node(b).ready().messages).toMatchObject([{ type: 'prevote_resp', to: a, reject: false }]);
    n.node(b).advance();
  });
});
