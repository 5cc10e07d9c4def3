import { describe, it, expect } from 'vitest';
import { Network, encodeState, payload } from './network.js';
import { MemoryStorage, type Entry, type Message, type NodeId } from '../../../src/raft/index.js';

const bytes = new TextEncoder();

/** Fill a node's storage with entries of the given terms (index 1 first) and a hard state. */
function craft(n: Network, id: NodeId, terms: number[], term: number, vote = 0, commit = 0): void {
  const s: MemoryStorage = n.peer(id).storage;
  const ents: Entry[] = terms.map((t, i) => ({ index: i + 1, term: t, type: 'normal', data: bytes.encode(`${i + 1}@${t}`) }));
  s.append(ents);
  s.setHardState({ term, vote, commit });
  n.restart(id);
  // A restarted node keeps quiet (grants no votes) for one election timeout: let that pass.
  for (let i = 0; i < (n.options.electionTick ?? 10); i++) n.node(id).tick();
  n.processAll();
  n.pending = [];
}

/** Strip entries at or after `index` from appends: they are "lost" while the rest gets through. */
function withoutEntriesFrom(index: number) {
  return (m: Message): Message =>
    m.type === 'append' && m.entries ? { ...m, entries: m.entries.filter((e) => e.index < index) } : m;
}

function logOf(n: Network, id: NodeId): string[] {
  const s = n.peer(id).storage;
  return s.entries(s.firstIndex(), s.lastIndex() + 1).map((e) => `${e.index}@${e.term}:${payload(e)}`);
}

describe('raft log replication', () => {
  it('resolves a long divergent follower log with few rejections (fast back-off)', () => {
    const n = new Network([1, 2, 3]);
    const leaderLog = [1, ...Array(50).fill(2), ...Array(50).fill(4)];
    craft(n, 1, leaderLog, 4);
    craft(n, 3, leaderLog, 4);
    craft(n, 2, [1, ...Array(100).fill(3)], 3);
    n.node(1).campaign();
    n.stabilize();
    expect(n.leader()).toBe(1);
    const rejections = n.countDelivered((m) => m.type === 'append_resp' && m.from === 2 && m.reject === true);
    expect(rejections).toBeGreaterThan(0);
    expect(rejections).toBeLessThanOrEqual(3);
    expect(logOf(n, 2)).toEqual(logOf(n, 1));
    expect(n.node(2).status().commit).toBe(102);
  });

  it('Figure 8: a leader never commits an older-term entry by counting replicas', () => {
    const n = new Network([1, 2, 3, 4, 5], { maxEntriesPerMsg: 1 });
    // S1 led term 2 and wrote index 2; S5 led term 3 and wrote a different index 2; now S1 is back.
    craft(n, 1, [1, 2], 3);
    craft(n, 2, [1], 3);
    craft(n, 3, [1], 3);
    craft(n, 4, [1], 3);
    craft(n, 5, [1, 3], 3, 5);
    n.stop(4);
    n.stop(5);
    // S1 wins term 4 with S2 and S3, but its own (term 4) entry at index 3 does not reach them yet.
    n.transform = withoutEntriesFrom(3);
    n.node(1).campaign();
    n.stabilize();
    expect(n.node(1).status()).toMatchObject({ role: 'leader', term: 4 });
    // Index 2 (term 2) is now on S1, S2, S3: a majority of five, yet it must stay uncommitted.
    expect(n.node(2).status().lastIndex).toBe(2);
    expect(n.node(3).status().lastIndex).toBe(2);
    expect(n.node(1).status().commit).toBeLessThan(2);
    // Once the term-4 entry is on a majority, both commit together.
    n.transform = undefined;
    n.tick(2);
    expect(n.node(1).status().commit).toBe(3);
    expect(n.node(2).status().commit).toBe(3);
  });

  it('Figure 8 (d): the uncommitted older-term entry may be overwritten by a later leader', () => {
    // Without check-quorum, so S2 and S3 do not hold on to S1's lease after it is gone.
    const n = new Network([1, 2, 3, 4, 5], { maxEntriesPerMsg: 1, checkQuorum: false });
    craft(n, 1, [1, 2], 3);
    craft(n, 2, [1], 3);
    craft(n, 3, [1], 3);
    craft(n, 4, [1], 3);
    craft(n, 5, [1, 3], 3, 5);
    n.stop(4);
    n.stop(5);
    n.transform = withoutEntriesFrom(3);
    n.node(1).campaign();
    n.stabilize();
    expect(n.node(2).status().lastIndex).toBe(2);
    // S1 crashes before committing; S5 (last term 3) wins with S2, S3, S4 and overwrites index 2.
    n.heal();
    n.stop(1);
    for (let i = 0; i < 3 && n.leader() !== 5; i++) {
      n.node(5).campaign();
      n.stabilize();
    }
    expect(n.leader()).toBe(5);
    for (const id of [2, 3, 4, 5]) expect(n.node(id).status().commit).toBeGreaterThanOrEqual(2);
    expect(logOf(n, 2)[1]).toBe('2@3:2@3');
    expect(logOf(n, 3)[1]).toBe('2@3:2@3');
  });

  it('a stale leader rejoining steps down and loses its uncommitted entries', () => {
    const n = new Network([1, 2, 3], { checkQuorum: false });
    const old = n.elect();
    n.propose(old, 'a');
    n.stabilize();
    n.isolate(old);
    n.propose(old, 'stale1');
    n.propose(old, 'stale2');
    n.tick(40);
    const fresh = [1, 2, 3].find((id) => id !== old && n.node(id).status().role === 'leader');
    expect(fresh).toBeDefined();
    n.propose(fresh!, 'b');
    n.stabilize();
    // Without check-quorum the old leader still believes it leads, at its old term.
    expect(n.node(old).status().role).toBe('leader');
    n.heal();
    n.tick(3);
    expect(n.node(old).status().role).toBe('follower');
    expect(n.node(old).status().term).toBe(n.node(fresh!).status().term);
    expect(n.leader()).toBe(fresh);
    for (const id of [1, 2, 3]) expect(n.peer(id).applied).toEqual(['a', 'b']);
    expect(logOf(n, old)).toEqual(logOf(n, fresh!));
    expect(logOf(n, old).some((l) => l.includes('stale'))).toBe(false);
  });

  it('a stale leader that cannot hear the new one learns the new term from answers to its appends', () => {
    const n = new Network([1, 2, 3], { checkQuorum: false });
    const old = n.elect();
    n.isolate(old);
    n.tick(40);
    const fresh = [1, 2, 3].find((id) => id !== old && n.node(id).status().role === 'leader')!;
    expect(fresh).toBeDefined();
    n.heal();
    n.cutLink(fresh, old); // the new leader's messages never reach the old one
    n.tick(2);
    expect(n.node(old).status().role).toBe('follower');
    expect(n.node(old).status().term).toBe(n.node(fresh).status().term);
  });

  it('with check-quorum the stale leader steps down before it rejoins, and catches up after', () => {
    const n = new Network([1, 2, 3]);
    const old = n.elect();
    n.isolate(old);
    n.propose(old, 'stale');
    n.tick(40);
    expect(n.node(old).status().role).not.toBe('leader');
    const fresh = n.leader()!;
    expect(fresh).not.toBe(old);
    n.propose(fresh, 'b');
    n.stabilize();
    n.heal();
    n.tick(3);
    expect(n.leader()).toBe(fresh);
    expect(n.peer(old).applied).toEqual(['b']);
  });

  it('a partitioned follower rejoining does not disrupt the leader (pre-vote)', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const f = leader === 1 ? 2 : 1;
    n.isolate(f);
    n.tick(60);
    n.propose(leader, 'x');
    n.stabilize();
    const term = n.node(leader).status().term;
    n.heal();
    n.tick(20);
    expect(n.leader()).toBe(leader);
    expect(n.node(leader).status().term).toBe(term);
    expect(n.peer(f).applied).toEqual(['x']);
  });

  it('sends a snapshot to a follower whose next entries were compacted away', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    const f = leader === 3 ? 2 : 3;
    n.isolate(f);
    for (let i = 0; i < 20; i++) n.propose(leader, `e${i}`);
    n.stabilize();
    const st = n.node(leader).status();
    n.peer(leader).storage.compact(st.applied, encodeState(n.peer(leader).applied), st.conf);
    n.heal();
    n.tick(3);
    expect(n.countDelivered((m) => m.type === 'snapshot' && m.to === f)).toBe(1);
    expect(n.peer(f).storage.snapshot().meta.index).toBe(st.applied);
    expect(n.peer(f).applied).toEqual(n.peer(leader).applied);
    n.propose(leader, 'after');
    n.stabilize();
    expect(n.peer(f).applied.at(-1)).toBe('after');
    expect(n.node(f).status().commit).toBe(n.node(leader).status().commit);
  });

  it('resends a lost snapshot after an election timeout', () => {
    const n = new Network([1, 2, 3], { electionTick: 10 });
    const leader = n.elect();
    const f = leader === 3 ? 2 : 3;
    n.isolate(f);
    for (let i = 0; i < 5; i++) n.propose(leader, `e${i}`);
    n.stabilize();
    const st = n.node(leader).status();
    n.peer(leader).storage.compact(st.applied, encodeState(n.peer(leader).applied), st.conf);
    n.heal();
    let dropped = 0;
    n.drop = (m) => m.type === 'snapshot' && dropped++ === 0;
    n.tick(2);
    expect(n.peer(f).applied).toEqual([]);
    n.tick(15);
    expect(dropped).toBeGreaterThanOrEqual(2);
    expect(n.peer(f).applied).toEqual(n.peer(leader).applied);
  });

  it('flow control caps in-flight appends per follower', () => {
    const n = new Network([1, 2, 3], { maxInflight: 2, maxEntriesPerMsg: 1 });
    const leader = n.elect();
    n.tick(2);
    const f = leader === 3 ? 2 : 3;
    for (let i = 0; i < 10; i++) n.propose(leader, `p${i}`);
    n.processAll();
    const appends = n.pending.filter((m) => m.to === f && m.type === 'append' && (m.entries?.length ?? 0) > 0);
    expect(appends).toHaveLength(2);
    n.stabilize();
    expect(n.peer(f).applied).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`));
  });

  it('a follower in probe state gets one append at a time', () => {
    const n = new Network([1, 2, 3], { maxEntriesPerMsg: 1 });
    const leader = n.elect();
    const f = leader === 3 ? 2 : 3;
    n.isolate(f);
    for (let i = 0; i < 5; i++) n.propose(leader, `p${i}`);
    n.stabilize();
    n.heal();
    n.node(leader).tick(); // heartbeat: the answer re-opens probing
    n.processAll();
    n.deliverPending();
    n.processAll();
    n.deliverPending();
    n.processAll();
    const appends = n.pending.filter((m) => m.to === f && m.type === 'append');
    expect(appends.length).toBeLessThanOrEqual(1);
    n.stabilize();
    n.tick(2);
    expect(n.peer(f).applied).toHaveLength(5);
  });

  it('restarts from storage and re-applies committed entries', () => {
    const n = new Network([1, 2, 3]);
    const leader = n.elect();
    n.propose(leader, 'a');
    n.propose(leader, 'b');
    n.stabilize();
    n.tick(2);
    const f = leader === 3 ? 2 : 3;
    n.restart(f);
    n.processAll();
    expect(n.peer(f).applied).toEqual(['a', 'b']);
  });
});
