import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { SlidingWindowRateLimit } from '../../../src/webhooks/index.js';

describe('SlidingWindowRateLimit', () => {
  it('allows the limit within 60 s, then refuses with the wait until a slot frees', () => {
    const clock = new ManualClock(1_000_000);
    const limit = new SlidingWindowRateLimit(clock);
    expect(limit.take('s', 2)).toEqual({ ok: true });
    clock.advance(10_000);
    expect(limit.take('s', 2)).toEqual({ ok: true });
    clock.advance(5_000);
    // The first delivery leaves the window 60 s after it arrived: 45 s from now.
    expect(limit.take('s', 2)).toEqual({ ok: false, retryAfterSeconds: 45 });
  });

  it('slides: a slot frees exactly when the oldest entry is 60 s old', () => {
    const clock = new ManualClock(0);
    const limit = new SlidingWindowRateLimit(clock);
    limit.take('s', 1);
    clock.advance(59_999);
    expect(limit.take('s', 1).ok).toBe(false);
    clock.advance(1);
    expect(limit.take('s', 1).ok).toBe(true);
  });

  it('refusals do not use up the window', () => {
    const clock = new ManualClock(0);
    const limit = new SlidingWindowRateLimit(clock);
    limit.take('s', 1);
    for (let i = 0; i < 5; i++) limit.take('s', 1);
    clock.advance(60_000);
    expect(limit.take('s', 1).ok).toBe(true);
  });

  it('keeps sources apart and treats 0 as unlimited', () => {
    const clock = new ManualClock(0);
    const limit = new SlidingWindowRateLimit(clock);
    expect(limit.take('a', 1).ok).toBe(true);
    expect(limit.take('b', 1).ok).toBe(true);
    expect(limit.take('a', 1).ok).toBe(false);
    for (let i = 0; i < 100; i++) expect(limit.take('c', 0).ok).toBe(true);
  });

  it('reports at least one second to wait', () => {
    const clock = new ManualClock(0);
    const limit = new SlidingWindowRateLimit(clock);
    limit.take('s', 1);
    clock.advance(59_900);
    expect(limit.take('s', 1)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });
});
