import { describe, expect, it } from 'vitest';
import { LinkWatch } from '../../../src/agent/index.js';
import { ManualClock } from '../../../src/clock/index.js';

function watch(timeoutMs: number) {
  const clock = new ManualClock(0);
  const pings: number[] = [];
  const deaths: number[] = [];
  const w = new LinkWatch(clock, timeoutMs, { ping: () => pings.push(clock.now()), dead: (silent) => deaths.push(silent) });
  return { clock, w, pings, deaths };
}

describe('link watch', () => {
  it('pings a quiet link every quarter timeout or so and gives it up once a whole timeout passed in silence', () => {
    const { clock, w, pings, deaths } = watch(10_000);
    w.start();
    clock.advance(9_999);
    // A quarter of the timeout, rounded up to the next check (every second).
    expect(pings).toEqual([3000, 6000, 9000]);
    expect(deaths).toEqual([]);
    clock.advance(1);
    expect(deaths).toEqual([10_000]);
    // Nothing more once it has been given up.
    clock.advance(60_000);
    expect(deaths).toHaveLength(1);
  });

  it('keeps a link that answers, and needs no pings on a busy one', () => {
    const { clock, w, pings, deaths } = watch(1000);
    w.start();
    for (let i = 0; i < 40; i++) {
      clock.advance(250);
      // Every ping is answered before the next check.
      if (pings.at(-1) === clock.now()) w.heard();
    }
    expect(deaths).toEqual([]);
    const quietPings = pings.length;
    expect(quietPings).toBeGreaterThan(0);
    for (let i = 0; i < 40; i++) {
      clock.advance(100);
      w.heard();
    }
    expect(pings).toHaveLength(quietPings);
    expect(deaths).toEqual([]);
  });

  it('stops for good when stopped, and starts afresh', () => {
    const { clock, w, deaths } = watch(1000);
    w.start();
    clock.advance(500);
    w.stop();
    clock.advance(5000);
    expect(deaths).toEqual([]);
    w.start();
    clock.advance(999);
    expect(deaths).toEqual([]);
    clock.advance(1);
    expect(deaths).toEqual([1000]);
  });
});
