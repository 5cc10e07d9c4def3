import { describe, it, expect } from 'vitest';
import { Network } from './network.js';
import type { Message } from '../../../src/raft/index.js';

describe('raft elections', () => {
  it('a single-node cluster elects itself and commits', () => {
    const n = new Network([1]);
    const leader = n.elect();
    expect(leader).toBe(1);
    n.propose(1, 'a');
    n.stabilize();
    const s = n.node(1).status();
    expect(s.role).toBe('leader');
    expect(s.commit).toBe(2); // the leader's empty entry, then "a"
    expect(n.peer(1).applied).toEqual(['a']);
  });

  it('three nodes elect exactly one leader that everyone follows', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.tick(3);
    const statuses = [1, 2, 3].map((id) => n.node(id).status());
    expect(statuses.filter((s) => s.role === 'leader')).toHaveLength(1);
    for (const s of statuses) {
      expect(s.leader).toBe(leader);
      expect(s.term).toBe(statuses[0].term);
      expect(s.commit).toBe(1); // the new leader's empty entry is committed everywhere
    }
  });

  it('the election timeout is randomised within [electionTick, 2*electionTick)', () => {
    const n = new Network([1, 2, 3], { electionTick: 10 });
    let ticks = 0;
    while (n.leader() === undefined) {
      n.tick();
      ticks++;
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(ticks).toBeLessThan(20);
  });

  it('a committed proposal reaches every node in the same order', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    for (const p of ['a', 'b', 'c']) n.propose(leader, p);
    n.stabilize();
    for (const id of [1, 2, 3]) expect(n.peer(id).applied).toEqual(['a', 'b', 'c']);
  });

  it('followers refuse to propose', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const follower = leader === 1 ? 2 : 1;
    expect(() => n.propose(follower, 'x')).toThrow(/not the leader/);
  });

  it('pre-vote keeps an isolated follower from inflating its term', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const f = leader === 3 ? 2 : 3;
    const term = n.node(leader).status().term;
    n.isolate(f);
    n.tick(100); // ten election timeouts
    expect(n.node(f).status().term).toBe(term);
    n.heal();
    n.tick(5);
    expect(n.leader()).toBe(leader);
    expect(n.node(leader).status().term).toBe(term);
  });

  it('without pre-vote an isolated follower inflates its term and disrupts the leader on return', () => {
    const n = new Network([1, 2, 3], { preVote: false, checkQuorum: false });
    const leader = n.elect();
    const f = leader === 3 ? 2 : 3;
    const term = n.node(leader).status().term;
    n.isolate(f);
    n.tick(100);
    expect(n.node(f).status().term).toBeGreaterThan(term + 2);
    n.heal();
    n.tick(30);
    expect(n.node(leader).status().term).toBeGreaterThan(term + 2);
  });

  it('check-quorum: an isolated leader steps down within one election timeout', () => {
    const n = new Network([1, 2, 3], { electionTick: 10 });
    const leader = n.elect();
    n.tick(2);
    n.isolate(leader);
    expect(n.node(leader).hasQuorumLease()).toBe(true);
    let ticks = 0;
    while (n.node(leader).status().role === 'leader') {
      n.tick();
      ticks++;
      if (ticks > 50) break;
    }
    expect(ticks).toBeLessThanOrEqual(10);
    expect(n.node(leader).hasQuorumLease()).toBe(false);
    // The majority side elects someone else meanwhile.
    const others = [1, 2, 3].filter((id) => id !== leader);
    n.tick(40);
    expect(others.some((id) => n.node(id).status().role === 'leader')).toBe(true);
  });

  it('a follower that heard from a live leader ignores vote and pre-vote requests', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const [a, b] = [1, 2, 3].filter((id) => id !== leader);
    const st = n.node(b).status();
    const req = (type: 'vote' | 'prevote', context?: string): Message => ({
      type,
      from: a,
      to: b,
      term: st.term + 1,
      index: st.lastIndex + 5,
      logTerm: st.term,
      ...(context ? { context } : {}),
    });
    n.node(b).step(req('prevote'));
    n.node(b).step(req('vote'));
    expect(n.node(b).status().term).toBe(st.term);
    expect(n.node(b).ready().messages).toEqual([]);
    n.node(b).advance();
    // A leadership-transfer campaign is allowed through.
    n.node(b).step(req('vote', 'transfer'));
    const rd = n.node(b).ready();
    n.node(b).advance();
    expect(n.node(b).status().term).toBe(st.term + 1);
    expect(rd.messages).toMatchObject([{ type: 'vote_resp', to: a, reject: false }]);
  });

  it('a node grants pre-votes once it stopped hearing from the leader', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.stop(leader);
    const [a, b] = [1, 2, 3].filter((id) => id !== leader);
    n.tick(40);
    const l2 = n.leader();
    expect([a, b]).toContain(l2);
    expect(n.node(l2!).status().term).toBe(n.node(a).status().term);
  });

  it('a restarted node keeps its term and vote', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const f = leader === 3 ? 2 : 3;
    const before = n.node(f).status();
    n.restart(f);
    const after = n.node(f).status();
    expect(after.term).toBe(before.term);
    expect(after.vote).toBe(before.vote);
    expect(after.commit).toBe(before.commit);
    expect(after.role).toBe('follower');
  });
});

describe('raft determinism', () => {
  it('the same inputs and random seed give the same message trace', () => {
    const trace = () => {
      const n = new Network([1, 2, 3, 4, 5]);
      const l = n.elect();
      n.propose(l, 'a');
      n.isolate(l);
      n.tick(40);
      n.heal();
      n.tick(5);
      return JSON.stringify(n.delivered.map((m) => [m.type, m.from, m.to, m.term, m.index ?? -1, m.reject ?? false]));
    };
    const a = trace();
    expect(a.length).toBeGreaterThan(1000);
    expect(trace()).toBe(a);
  });
});
