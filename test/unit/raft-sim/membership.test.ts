import { describe, expect, it } from 'vitest';
import { SimCluster, SimRandom, runSeed, type ClusterOptions } from '../../../src/raft/sim/index.js';

const OPTS: ClusterOptions = {
  nodes: 3,
  tickMs: 50,
  electionTick: 10,
  heartbeatTick: 1,
  minSync: 0.1,
  maxSync: 0.5,
  compactEvery: 20,
  compactKeep: 5,
  network: { minDelay: 1, maxDelay: 3, drop: 0, duplicate: 0, reorder: 0 },
};

describe.each(['loop', 'driver'] as const)('membership changes (%s)', (host) => {
  it('adds a learner, promotes it, removes the old leader, and the cluster carries on', () => {
    const c = new SimCluster(new SimRandom(11), { ...OPTS, host });
    expect(c.runUntilTrue(() => c.agreedLeader() !== 0, 10_000, 10)).toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) c.propose(); // enough to compact, so the joiner may need a snapshot
    c.runUntil(c.now + 500);
    const joiner = c.nextId();
    expect(joiner).toBe(4);
    expect(c.proposeConfChange({ type: 'add_learner', node: joiner })).toBe(true);
    expect(c.runUntilTrue(() => c.conf.learners.includes(joiner), c.now + 5000, 10)).toBeGreaterThan(0);
    expect(c.runUntilTrue(() => c.checker.appliedOf(joiner).index >= c.checker.committedIndex, c.now + 5000, 10)).toBeGreaterThan(0);
    c.proposeConfChange({ type: 'promote', node: joiner });
    expect(c.runUntilTrue(() => c.conf.voters.includes(joiner), c.now + 5000, 10)).toBeGreaterThan(0);
    const old = c.leader();
    c.proposeConfChange({ type: 'remove', node: old });
    expect(c.runUntilTrue(() => c.isRetired(old), c.now + 5000, 10)).toBeGreaterThan(0);
    expect(c.memberIds()).not.toContain(old);
    expect(c.memberIds()).toContain(joiner);
    // A new leader among the remaining voters, and proposals still commit everywhere.
    expect(c.runUntilTrue(() => c.agreedLeader() !== 0, c.now + 5000, 10)).toBeGreaterThan(0);
    const acked = c.acks.length;
    for (let i = 0; i < 5; i++) c.propose();
    c.runUntil(c.now + 1000);
    expect(c.acks.length).toBeGreaterThan(acked);
    expect(c.minApplied()).toBeGreaterThanOrEqual(Math.max(...c.acks.map((a) => a.index)));
    expect(c.checker.violations).toEqual([]);
  });
});

describe('membership episodes in seeded scenarios', () => {
  it('some seeds replace a voter end to end without violations', async () => {
    let replaced = 0;
    for (let seed = 1; seed <= 60 && replaced < 2; seed++) {
      const r = await runSeed(seed, { trace: true, choice: { forced: [], plain: true } });
      expect(r.violations).toEqual([]);
      if (/conf remove/.test(r.trace) && /retire n\d/.test(r.trace)) replaced++;
    }
    expect(replaced).toBe(2);
  });
});

describe('membership through the leader\'s public API', () => {
  it('grows and shrinks the cluster, joiners starting empty', async () => {
    let grown = 0;
    let shrunk = 0;
    for (let seed = 1; seed <= 40 && (grown < 2 || shrunk < 2); seed++) {
      // Five servers, so that a shrink (never below three voters) has room.
      const r = await runSeed(seed, { nodes: 5, trace: true, choice: { forced: ['membership'], plain: true } });
      expect(r.violations).toEqual([]);
      const played = r.faults.join('\n');
      if (/grow: .* -> /.test(played) && /conf promote n\d/.test(r.trace)) grown++;
      if (/membership: removing n\d/.test(played) && /retire n\d/.test(r.trace)) shrunk++;
    }
    expect(grown).toBeGreaterThanOrEqual(2);
    expect(shrunk).toBeGreaterThanOrEqual(2);
  });
});
