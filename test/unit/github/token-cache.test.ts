import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { InstallationTokenCache, type InstallationToken } from '../../../src/github/index.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

function setup(refreshBeforeMs?: number) {
  const clock = new ManualClock(1_000_000);
  const calls: number[] = [];
  const gates: { resolve: (t: InstallationToken) => void; reject: (e: Error) => void }[] = [];
  let manual = false;
  let n = 0;
  const cache = new InstallationTokenCache(
    (id) => {
      calls.push(id);
      if (manual) return new Promise((resolve, reject) => gates.push({ resolve, reject }));
      n++;
      return Promise.resolve({ token: `t${id}-${n}`, expiresAt: clock.now() + HOUR });
    },
    { clock, refreshBeforeMs },
  );
  return { clock, calls, gates, cache, hold: () => (manual = true), release: () => (manual = false) };
}

describe('installation token cache', () => {
  it('keeps a token until 5 minutes before it expires, then mints a new one', async () => {
    const { clock, calls, cache } = setup();
    const first = await cache.get(7);
    clock.advance(HOUR - 5 * MINUTE - 1);
    expect(await cache.get(7)).toBe(first);
    expect(calls).toEqual([7]);
    clock.advance(1);
    const second = await cache.get(7);
    expect(second.token).not.toBe(first.token);
    expect(calls).toEqual([7, 7]);
    expect(cache.mintCount()).toBe(2);
  });

  it('keeps one token per installation', async () => {
    const { calls, cache } = setup();
    const a = await cache.get(1);
    const b = await cache.get(2);
    expect(a.token).not.toBe(b.token);
    expect(await cache.get(1)).toBe(a);
    expect(calls).toEqual([1, 2]);
  });

  it('has one mint in flight at a time: concurrent callers share it', async () => {
    const { calls, cache, gates, hold, clock } = setup();
    hold();
    const waiting = [cache.get(3), cache.get(3), cache.get(3)];
    expect(calls).toEqual([3]);
    gates[0]!.resolve({ token: 'shared', expiresAt: clock.now() + HOUR });
    const tokens = await Promise.all(waiting);
    expect(tokens.map((t) => t.token)).toEqual(['shared', 'shared', 'shared']);
    expect(calls).toEqual([3]);
  });

  it('keeps nothing when a mint fails, and the next call tries again', async () => {
    const { calls, cache, gates, hold, release } = setup();
    hold();
    const failing = [cache.get(4), cache.get(4)];
    gates[0]!.reject(new Error('502'));
    for (const p of failing) await expect(p).rejects.toThrow('502');
    release();
    expect((await cache.get(4)).token).toMatch(/^t4-/);
    expect(calls).toEqual([4, 4]);
  });

  it('invalidate drops a refused token (only that one)', async () => {
    const { calls, cache } = setup();
    const first = await cache.get(5);
    cache.invalidate(5, 'some other token');
    expect(await cache.get(5)).toBe(first);
    cache.invalidate(5, first.token);
    expect((await cache.get(5)).token).not.toBe(first.token);
    expect(calls).toEqual([5, 5]);
  });

  it('honours a shorter refresh margin, and a token already inside the margin is replaced at once', async () => {
    const { clock, calls, cache } = setup(MINUTE);
    await cache.get(6);
    clock.advance(HOUR - 2 * MINUTE);
    await cache.get(6);
    expect(calls).toEqual([6]);
    clock.advance(MINUTE);
    await cache.get(6);
    expect(calls).toEqual([6, 6]);
  });
});
