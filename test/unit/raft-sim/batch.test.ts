import { describe, expect, it } from 'vitest';
import { formatFailure, runBatch, type SeedResult } from '../../../src/raft/sim/index.js';

describe('seed batches', () => {
  it('500 seeds on 3 nodes find no violation', () => {
    const failures: string[] = [];
    const s = runBatch({ from: 1, count: 500, nodes: 3, onFailure: (r: SeedResult) => failures.push(formatFailure(r)) });
    expect(failures).toEqual([]);
    expect(s.violations).toBe(0);
    expect(s.seeds).toBe(500);
    // Healing always produced a leader well inside the bound (10 election timeouts = 5 s).
    expect(s.worstTimeToLeader).toBeGreaterThanOrEqual(0);
    expect(s.worstTimeToLeader).toBeLessThanOrEqual(5000);
    expect(s.worstTermGrowth).toBeLessThanOrEqual(2);
  });

  it('100 seeds on 5 nodes find no violation', () => {
    const failures: string[] = [];
    const s = runBatch({ from: 1, count: 100, nodes: 5, onFailure: (r: SeedResult) => failures.push(formatFailure(r)) });
    expect(failures).toEqual([]);
    expect(s.violations).toBe(0);
  });
});
