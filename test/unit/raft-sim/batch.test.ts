import { describe, expect, it } from 'vitest';
import { formatFailure, runBatch, runSeed, type FeatureChoice, type SeedResult } from '../../../src/raft/sim/index.js';

/** Every feature by its share, except the costly load mode, which has a test of its own below. */
const WITHOUT_LOAD: FeatureChoice = { forced: [], plain: false, off: ['load'] };

describe('seed batches', () => {
  it('500 seeds on 3 nodes find no violation', async () => {
    const failures: string[] = [];
    const s = await runBatch({ from: 1, count: 500, nodes: 3, choice: WITHOUT_LOAD, onFailure: (r: SeedResult) => failures.push(formatFailure(r)) });
    expect(failures).toEqual([]);
    expect(s.violations).toBe(0);
    expect(s.seeds).toBe(500);
    // Healing always produced a leader well inside the bound (10 election timeouts = 5 s).
    expect(s.worstTimeToLeader).toBeGreaterThanOrEqual(0);
    expect(s.worstTimeToLeader).toBeLessThanOrEqual(5000);
    expect(s.worstTermGrowth).toBeLessThanOrEqual(2);
  });

  it('100 seeds on 5 nodes find no violation', async () => {
    const failures: string[] = [];
    const s = await runBatch({ from: 1, count: 100, nodes: 5, choice: WITHOUT_LOAD, onFailure: (r: SeedResult) => failures.push(formatFailure(r)) });
    expect(failures).toEqual([]);
    expect(s.violations).toBe(0);
  });

  it('load seeds (many proposals in flight, flow control squeezed) find no violation', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = await runSeed(seed, { choice: { forced: ['load', 'reads'], plain: true } });
      expect(r.violations.map((v) => `${seed}: ${v.property}: ${v.detail}`)).toEqual([]);
      // The window kept the leader busy: far more than the ~130 open-loop proposals of a seed.
      expect(r.acked).toBeGreaterThan(1000);
    }
  });
});
