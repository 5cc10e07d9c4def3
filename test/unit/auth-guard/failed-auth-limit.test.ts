import { describe, expect, it } from 'vitest';
import { FailedAuthLimit } from '../../../src/auth-guard/index.js';
import { ManualClock } from '../../../src/clock/index.js';

function failTimes(limit: FailedAuthLimit, address: string, n: number) {
  return Array.from({ length: n }, () => limit.fail(address));
}

describe('FailedAuthLimit', () => {
  it('lets 10 failures through within a minute and limits the 11th, with the seconds until it lifts', () => {
    const limit = new FailedAuthLimit(new ManualClock(1_000_000));
    expect(failTimes(limit, '10.0.0.1', 10).every((v) => !v.limited)).toBe(true);
    expect(limit.fail('10.0.0.1')).toEqual({ limited: true, retryAfterSeconds: 60 });
  });

  it('slides: failures older than a minute stop counting one by one', () => {
    const clock = new ManualClock(0);
    const limit = new FailedAuthLimit(clock);
    failTimes(limit, 'a', 5); // at 0 s
    clock.advance(50_000);
    failTimes(limit, 'a', 5); // at 50 s: the window is full
    clock.advance(9_999);
    // Limited, and recorded too; the failures at 0 s leave in a millisecond (rounded up to 1 s).
    expect(limit.fail('a')).toEqual({ limited: true, retryAfterSeconds: 1 });
    clock.advance(1);
    // 60 s: the five at 0 s have left; six remain, so four more fit before the limit holds again.
    expect(failTimes(limit, 'a', 4).every((v) => !v.limited)).toBe(true);
    expect(limit.fail('a').limited).toBe(true);
  });

  it('answers a Retry-After that is honest for a client that waits it out', () => {
    const clock = new ManualClock(0);
    const limit = new FailedAuthLimit(clock);
    for (const address of ['a', 'b']) {
      failTimes(limit, address, 10);
      expect(limit.fail(address)).toEqual({ limited: true, retryAfterSeconds: 60 });
    }
    clock.advance(59_999);
    expect(limit.fail('a').limited).toBe(true);
    clock.advance(1);
    expect(limit.fail('b')).toEqual({ limited: false });
  });

  it('keeps an address that goes on guessing limited, and frees it a minute after it stops', () => {
    const clock = new ManualClock(0);
    const limit = new FailedAuthLimit(clock);
    failTimes(limit, 'a', 10);
    // One guess a second for two minutes: the first ten leaving the window frees no new guesses.
    for (let i = 0; i < 120; i++) {
      clock.advance(1_000);
      expect(limit.fail('a').limited).toBe(true);
    }
    clock.advance(60_000);
    expect(limit.fail('a')).toEqual({ limited: false });
  });

  it('counts each address on its own', () => {
    const limit = new FailedAuthLimit(new ManualClock(0));
    failTimes(limit, '10.0.0.1', 10);
    expect(limit.fail('10.0.0.1').limited).toBe(true);
    expect(limit.fail('10.0.0.2')).toEqual({ limited: false });
  });

  it('honours a configured limit and window', () => {
    const clock = new ManualClock(0);
    const limit = new FailedAuthLimit(clock, { maxFailures: 2, windowMs: 5_000 });
    failTimes(limit, 'a', 2);
    expect(limit.fail('a')).toEqual({ limited: true, retryAfterSeconds: 5 });
    clock.advance(5_000);
    expect(limit.fail('a')).toEqual({ limited: false });
  });

  it('forgets addresses whose failures have left the window', () => {
    const clock = new ManualClock(0);
    const limit = new FailedAuthLimit(clock);
    for (let i = 0; i < 100; i++) limit.fail(`10.0.0.${i}`);
    expect(limit.size).toBe(100);
    clock.advance(60_000);
    limit.fail('10.0.1.1');
    expect(limit.size).toBe(1);
  });

  it('never remembers more than maxAddresses, dropping the one that failed least recently', () => {
    const clock = new ManualClock(0);
    const limit = new FailedAuthLimit(clock, { maxAddresses: 3 });
    failTimes(limit, 'old', 10);
    clock.advance(1);
    limit.fail('b');
    limit.fail('c');
    limit.fail('d');
    expect(limit.size).toBe(3);
    // 'old' was evicted, so it starts from scratch rather than being limited.
    expect(limit.fail('old')).toEqual({ limited: false });
    expect(limit.size).toBe(3);
  });
});
