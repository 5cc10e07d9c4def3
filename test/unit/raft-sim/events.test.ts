import { describe, expect, it } from 'vitest';
import { EventQueue, SimRandom } from '../../../src/raft/sim/index.js';

describe('event queue and PRNG', () => {
  it('runs events in time order, ties in scheduling order, skipping cancelled ones', () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.schedule(5, () => seen.push('b'));
    q.schedule(1, () => seen.push('a'));
    q.schedule(5, () => seen.push('c'));
    const x = q.schedule(3, () => seen.push('x'));
    x.cancelled = true;
    q.schedule(5, () => q.schedule(0, () => seen.push('d')));
    while (q.step(100)) {
      /* run */
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(q.now()).toBe(5);
  });

  it('stops at the horizon and offers the driver clock shape', () => {
    const q = new EventQueue();
    const clock = q.clock();
    let fired = 0;
    const cancel = clock.setTimer(10, () => fired++);
    clock.setTimer(20, () => fired++);
    while (q.step(15)) {
      /* run */
    }
    expect(fired).toBe(1);
    cancel();
    expect(clock.now()).toBe(10);
  });

  it('the same seed gives the same stream; forks are independent and stable', () => {
    const a = new SimRandom(42);
    const b = new SimRandom(42);
    const xs = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(xs);
    expect(new SimRandom(43).next()).not.toBe(xs[0]);
    expect(new SimRandom(42).fork('net').next()).toBe(new SimRandom(42).fork('net').next());
    expect(new SimRandom(42).fork('net').next()).not.toBe(new SimRandom(42).fork('disk').next());
    const r = new SimRandom(1);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 5);
      expect(v >= 3 && v <= 5 && Number.isInteger(v)).toBe(true);
    }
  });
});
