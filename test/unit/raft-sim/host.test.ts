import { describe, expect, it } from 'vitest';
import { ObservedStorage, SimCluster, SimRandom, SimStorage, type ClusterOptions } from '../../../src/raft/sim/index.js';

const OPTS: ClusterOptions = {
  nodes: 3,
  tickMs: 50,
  electionTick: 10,
  heartbeatTick: 1,
  minSync: 0.5,
  maxSync: 1,
  compactEvery: 0,
  compactKeep: 0,
  network: { minDelay: 1, maxDelay: 3, drop: 0, duplicate: 0, reorder: 0 },
};

function stableCluster(seed: number, opts: Partial<ClusterOptions> = {}): SimCluster {
  const c = new SimCluster(new SimRandom(seed), { ...OPTS, ...opts });
  const at = c.runUntilTrue(() => c.agreedLeader() !== 0, 10_000, 10);
  expect(at).toBeGreaterThan(0);
  return c;
}

describe.each(['loop', 'driver'] as const)('simulated hosts (%s)', (host) => {
  it('elect a leader and replicate client proposals to every node', () => {
    const c = stableCluster(1, { host });
    for (let i = 0; i < 5; i++) {
      c.propose();
      c.runUntil(c.now + 100);
    }
    c.runUntil(c.now + 500);
    expect(c.acks.length).toBeGreaterThan(0);
    const top = Math.max(...c.acks.map((a) => a.index));
    for (const id of c.memberIds()) expect(c.checker.appliedOf(id).index).toBeGreaterThanOrEqual(top);
    expect(c.checker.violations).toEqual([]);
  });

  it('a paused node neither ticks nor handles messages, then catches up on resume', () => {
    const c = stableCluster(2, { host });
    const leader = c.agreedLeader();
    const follower = c.memberIds().find((id) => id !== leader) as number;
    c.pause(follower);
    const before = c.checker.appliedOf(follower).index;
    for (let i = 0; i < 5; i++) {
      c.propose();
      c.runUntil(c.now + 100);
    }
    c.runUntil(c.now + 3000); // far past its election timeout: a running node would have campaigned
    expect(c.checker.appliedOf(follower).index).toBe(before);
    expect(c.host(follower).status()?.role).toBe('follower');
    c.resume(follower);
    c.runUntil(c.now + 500);
    expect(c.checker.appliedOf(follower).index).toBeGreaterThan(before);
    expect(c.checker.violations).toEqual([]);
  });

  it('a crashed node restarts from its storage and rejoins', () => {
    const c = stableCluster(4, { host });
    const leader = c.agreedLeader();
    c.propose();
    c.runUntil(c.now + 200);
    const kept = c.host(leader).storage.lastIndex();
    c.crash(leader);
    expect(c.host(leader).status()).toBeNull();
    c.runUntil(c.now + 3000);
    const next = c.leader();
    expect(next).not.toBe(0);
    expect(next).not.toBe(leader);
    c.restart(leader);
    expect(c.host(leader).storage.lastIndex()).toBe(kept);
    const at = c.runUntilTrue(() => c.agreedLeader() !== 0 && c.minApplied() >= c.checker.committedIndex, c.now + 10_000, 10);
    expect(at).toBeGreaterThan(0);
    expect(c.checker.violations).toEqual([]);
  });
});

describe('simulated hosts (loop only)', () => {
  it('a crash in the fsync window loses the unsynced write; restart reads only the durable state', () => {
    const c = stableCluster(3, { minSync: 20, maxSync: 20 });
    const leader = c.agreedLeader();
    const host = c.host(leader);
    const last = host.storage.lastIndex();
    c.propose();
    c.propose();
    // The leader appended the proposals and is waiting 20 ms on fsync.
    c.runUntil(c.now + 1);
    expect(host.storage.lastIndex()).toBeGreaterThan(last);
    expect(((host.storage as ObservedStorage).inner as SimStorage).unsyncedRecords()).toBeGreaterThan(0);
    c.crash(leader);
    expect(host.state).toBe('crashed');
    c.restart(leader);
    expect(host.storage.lastIndex()).toBe(last);
    const at = c.runUntilTrue(() => c.agreedLeader() !== 0, c.now + 10_000, 10);
    expect(at).toBeGreaterThan(0);
    expect(c.checker.violations).toEqual([]);
  });

  it('the checker catches real violations when crashes also wipe the disk', async () => {
    const { runSeed } = await import('../../../src/raft/sim/index.js');
    let caught = 0;
    for (let seed = 1; seed <= 60 && caught === 0; seed++) {
      if ((await runSeed(seed, { loseDiskOnCrash: true })).violations.length > 0) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  });
});
