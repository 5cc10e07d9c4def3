import { describe, expect, it } from 'vitest';
import { SimCluster, SimRandom, runSeed, type ClusterOptions } from '../../../src/raft/sim/index.js';

const OPTS: ClusterOptions = {
  nodes: 3,
  tickMs: 50,
  electionTick: 10,
  heartbeatTick: 1,
  minSync: 5,
  maxSync: 10,
  compactEvery: 20,
  compactKeep: 5,
  network: { minDelay: 1, maxDelay: 3, drop: 0, duplicate: 0, reorder: 0 },
  store: 'file',
  payloadBytes: 300,
};

function stableCluster(seed: number, opts: Partial<ClusterOptions> = {}): SimCluster {
  const c = new SimCluster(new SimRandom(seed), { ...OPTS, ...opts });
  expect(c.runUntilTrue(() => c.agreedLeader() !== 0, 10_000, 10)).toBeGreaterThan(0);
  return c;
}

const settled = (c: SimCluster): boolean => c.agreedLeader() !== 0 && c.minApplied() >= Math.max(0, ...c.acks.map((a) => a.index));

describe.each(['loop', 'driver'] as const)('FileStorage on the simulated disk (%s)', (host) => {
  it('crashes mid-write tear segment tails; every server restarts from what it repaired', () => {
    const c = stableCluster(21, { host });
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 8; i++) c.propose();
      c.runUntil(c.now + 3); // inside the fsync window of the loop host
      const victim = c.memberIds()[round % 3];
      c.crash(victim);
      c.runUntil(c.now + 300);
      c.restart(victim);
      expect(c.runUntilTrue(() => settled(c), c.now + 10_000, 10)).toBeGreaterThan(0);
    }
    const torn = c.stores.reduce((n, s) => n + (s.disk?.stats.tornWrites ?? 0), 0);
    if (host === 'loop') expect(torn).toBeGreaterThan(0);
    expect(c.failed.size).toBe(0);
    expect(c.acks.length).toBeGreaterThan(30);
    expect(c.checker.violations).toEqual([]);
  });

  it('a failed fsync stops the server for good; the others carry on without it', () => {
    const c = stableCluster(22, { host });
    const victim = c.memberIds().find((id) => id !== c.agreedLeader()) as number;
    c.diskVictim = victim;
    c.diskFault(victim, 'eio');
    for (let i = 0; i < 5; i++) c.propose();
    c.runUntil(c.now + 500);
    expect(c.failed.get(victim)).toMatch(/fsync .* failed/);
    expect(c.host(victim).state).toBe('crashed');
    c.restart(victim); // an operator would have to repair it first: the simulator never does
    expect(c.host(victim).state).toBe('crashed');
    for (let i = 0; i < 5; i++) c.propose();
    expect(c.runUntilTrue(() => settled(c), c.now + 10_000, 10)).toBeGreaterThan(0);
    expect(c.checker.violations).toEqual([]);
  });
});

describe('disk faults', () => {
  it('a full disk stops the server (the write is undone first)', () => {
    const c = stableCluster(23, { host: 'driver' });
    const victim = c.agreedLeader();
    c.diskVictim = victim;
    c.diskFault(victim, 'full');
    c.propose();
    c.runUntil(c.now + 200);
    expect(c.failed.get(victim)).toMatch(/ENOSPC/);
    expect(c.runUntilTrue(() => c.agreedLeader() !== 0, c.now + 10_000, 10)).toBeGreaterThan(0);
    expect(c.checker.violations).toEqual([]);
  });

  it('rot found on restart keeps the server down; found on a server whose disk had no fault, it is a violation', () => {
    let refused = 0;
    for (let seed = 30; seed < 60 && refused < 2; seed++) {
      const c = stableCluster(seed);
      for (let i = 0; i < 30; i++) c.propose();
      c.runUntil(c.now + 1000);
      const victim = c.memberIds().find((id) => id !== c.agreedLeader()) as number;
      const blameless = refused === 1; // the second time, nobody expects this disk to fail
      if (!blameless) c.diskVictim = victim;
      c.diskFault(victim, 'flip');
      c.crash(victim);
      c.restart(victim);
      if (!c.failed.has(victim)) continue; // the flip hit a torn-looking tail, or a dropped segment
      refused++;
      expect(c.failed.get(victim)).toMatch(/kici\/raft/);
      const props = c.checker.violations.map((v) => v.property);
      expect(props).toEqual(blameless ? ['durability'] : []);
      expect(c.runUntilTrue(() => settled(c), c.now + 10_000, 10)).toBeGreaterThan(0);
    }
    expect(refused).toBe(2);
  });

  it('a server that loses its disk (hard state included) is caught voting twice or worse', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 80 && !seen.has('vote safety'); seed++) {
      const r = await runSeed(seed, { loseDiskOnCrash: true, choice: { forced: ['file'], plain: true } });
      for (const v of r.violations) seen.add(v.property);
    }
    expect(seen).toContain('vote safety');
  });

  it('seeds with disk faults keep one server at most down, and the rest live', async () => {
    let down = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runSeed(seed, { host: 'driver', choice: { forced: ['disk-faults'], plain: true } });
      expect(r.failed.length).toBeLessThanOrEqual(1);
      down += r.failed.length;
      expect(r.violations).toEqual([]);
    }
    expect(down).toBeGreaterThan(3);
  });
});
