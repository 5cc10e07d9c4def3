/**
 * Reconnect backoff as a pure function of the attempt, the policy and a seeded random: the
 * ceiling doubles up to the cap, every draw lies in [0, ceiling], draws spread (full jitter), and
 * a link that lasted resets the growth.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { DEFAULT_BACKOFF, ReconnectBackoff, reconnectCeiling, reconnectDelay } from '../../../src/transport/index.js';

const policy = { initialDelayMs: 100, maxDelayMs: 5_000, stableAfterMs: 10_000 };

describe('reconnect backoff', () => {
  it('doubles its ceiling from the initial delay up to the cap, and stays there', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50, 5_000].map((n) => reconnectCeiling(n, policy))).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 5_000]);
    expect(DEFAULT_BACKOFF.maxDelayMs).toBe(5_000);
  });

  it('draws each delay uniformly below the ceiling: growing, jittered, never above the cap', () => {
    const random = new SeededRandom(42);
    for (let attempt = 0; attempt < 12; attempt++) {
      const draws = Array.from({ length: 400 }, () => reconnectDelay(attempt, policy, random));
      const ceiling = reconnectCeiling(attempt, policy);
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...draws)).toBeLessThanOrEqual(ceiling);
      // Full jitter: draws cover the range rather than cluster at the ceiling.
      expect(new Set(draws).size).toBeGreaterThan(Math.min(50, ceiling / 4));
      const mean = draws.reduce((s, d) => s + d, 0) / draws.length;
      expect(mean).toBeGreaterThan(ceiling * 0.35);
      expect(mean).toBeLessThan(ceiling * 0.65);
    }
  });

  it('is the same sequence for the same seed', () => {
    const a = new ReconnectBackoff(policy, new SeededRandom(9));
    const b = new ReconnectBackoff(policy, new SeededRandom(9));
    const seq = (r: ReconnectBackoff) => Array.from({ length: 20 }, () => r.nextDelay());
    expect(seq(a)).toEqual(seq(b));
  });

  it('a link that lasted resets the growth; a short one does not', () => {
    const clock = new ManualClock(0);
    const backoff = new ReconnectBackoff(policy, new SeededRandom(1));
    for (let i = 0; i < 6; i++) backoff.nextDelay();
    expect(backoff.attempts).toBe(6);
    backoff.connected(clock.now());
    clock.advance(policy.stableAfterMs - 1);
    backoff.disconnected(clock.now());
    expect(backoff.attempts).toBe(6);
    backoff.connected(clock.now());
    clock.advance(policy.stableAfterMs);
    backoff.disconnected(clock.now());
    expect(backoff.attempts).toBe(0);
    expect(backoff.nextDelay()).toBeLessThanOrEqual(policy.initialDelayMs);
  });

  it('stays finite for absurd attempt counts', () => {
    expect(reconnectCeiling(Number.MAX_SAFE_INTEGER, policy)).toBe(5_000);
    expect(reconnectDelay(10_000, { ...policy, maxDelayMs: 250 }, new SeededRandom(3))).toBeLessThanOrEqual(250);
  });
});
