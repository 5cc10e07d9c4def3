import { describe, expect, it } from 'vitest';
import { EventQueue, NO_LAG, NodeClock, SimRandom, drawRate } from '../../../src/raft/sim/index.js';

describe('server clocks', () => {
  it('rates stay within (1 + drift)^±½, so no two clocks differ by more than the drift', () => {
    const rng = new SimRandom(5);
    const rates = Array.from({ length: 200 }, () => drawRate(rng, 0.1));
    expect(Math.max(...rates) / Math.min(...rates)).toBeLessThanOrEqual(1.1 + 1e-12);
    expect(Math.max(...rates) / Math.min(...rates)).toBeGreaterThan(1.099); // the extremes are drawn
    expect(drawRate(rng, 0)).toBe(1);
  });

  it('a timer fires once its own clock has advanced by the delay, never a hair before', () => {
    const q = new EventQueue();
    const clock = new NodeClock(q, new SimRandom(1), 0.95, NO_LAG);
    const start = clock.now();
    let firedAt = -1;
    clock.setTimer(100, () => (firedAt = clock.now()));
    while (q.step(Infinity)) {
      /* run */
    }
    expect(firedAt - start).toBeGreaterThanOrEqual(100);
    expect(firedAt - start).toBeLessThan(100.001);
    expect(q.now()).toBeCloseTo(100 / 0.95, 4); // a slow clock takes longer in true time
  });

  it('timers fire late: usually a little, sometimes after a stall', () => {
    const q = new EventQueue();
    const clock = new NodeClock(q, new SimRandom(2), 1, { mean: 1, spikeChance: 0.05, spikeMax: 300 });
    const lates: number[] = [];
    const arm = (n: number): void => {
      if (n === 0) return;
      const due = q.now() + 10;
      clock.setTimer(10, () => {
        lates.push(q.now() - due);
        arm(n - 1);
      });
    };
    arm(400);
    while (q.step(Infinity)) {
      /* run */
    }
    expect(Math.min(...lates)).toBeGreaterThanOrEqual(0);
    expect(lates.filter((l) => l >= 30).length).toBeGreaterThan(5);
    expect(lates.filter((l) => l < 5).length).toBeGreaterThan(300);
    expect(Math.max(...lates)).toBeLessThanOrEqual(300);
  });
});
