import { describe, expect, it } from 'vitest';
import { measureFailover, percentile } from '../../../src/raft/sim/index.js';

const LAN = { minDelay: 0.2, maxDelay: 2, drop: 0, duplicate: 0, reorder: 0 };

describe('failover measurement', () => {
  it('replaces a killed leader after one election timeout or so, and commits right after', () => {
    const f = measureFailover({ name: 't', nodes: 3, tickMs: 50, heartbeatTick: 1, electionTick: 10, network: LAN, trials: 40, seed: 1 });
    expect(f.failures).toBe(0);
    expect(f.safetyViolations).toBe(0);
    expect(f.toLeader).toHaveLength(40);
    // A follower waits at least the minimum timeout (500 ms) less one heartbeat since it last heard.
    expect(Math.min(...f.toLeader)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...f.toLeader)).toBeLessThan(3000);
    f.toLeader.forEach((t, i) => expect(f.toCommit[i]).toBeGreaterThanOrEqual(t));
  });

  it('the narrow paper range squeezes election timeouts into 150–155 ms', () => {
    const f = measureFailover({
      name: 'paper',
      nodes: 5,
      tickMs: 1,
      heartbeatTick: 75,
      electionTick: 150,
      spreadTicks: 5,
      preVote: false,
      checkQuorum: false,
      network: { minDelay: 5, maxDelay: 10, drop: 0, duplicate: 0, reorder: 0 },
      trials: 30,
      seed: 2,
    });
    expect(f.failures).toBe(0);
    // Never sooner than min timeout minus a heartbeat interval.
    expect(Math.min(...f.toLeader)).toBeGreaterThanOrEqual(75);
  });

  it('percentile uses nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    expect(Number.isNaN(percentile([], 0.5))).toBe(true);
  });
});
