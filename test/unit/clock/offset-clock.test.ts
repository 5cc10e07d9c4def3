import { describe, expect, it } from 'vitest';
import { clockSkewSeconds, DatabaseClock, ManualClock, MAX_CLOCK_OFFSET_MS, offsetClock, systemClock } from '../../../src/clock/index.js';

describe('offsetClock', () => {
  it('reads the base clock shifted by the offset, either way', () => {
    const machine = new ManualClock(10_000_000);
    expect(offsetClock(machine, 3_600_000).now()).toBe(13_600_000);
    expect(offsetClock(machine, -3_600_000).now()).toBe(6_400_000);
    machine.advance(250);
    expect(offsetClock(machine, -1_000).now()).toBe(10_000_250 - 1_000);
  });

  it('keeps timers as durations: a timer fires after its milliseconds, not at a shifted instant', () => {
    const machine = new ManualClock(0);
    const skewed = offsetClock(machine, 60_000);
    const fired: number[] = [];
    skewed.setTimer(100, () => fired.push(skewed.now()));
    const cancel = skewed.setTimer(200, () => fired.push(-1));
    machine.advance(99);
    expect(fired).toEqual([]);
    machine.advance(1);
    expect(fired).toEqual([60_100]);
    cancel();
    machine.advance(1_000);
    expect(fired).toEqual([60_100]);
  });

  it('hands the base back when there is no offset (a test clock stays the one the test holds)', () => {
    const machine = new ManualClock(5);
    expect(offsetClock(machine, 0)).toBe(machine);
    expect(offsetClock(systemClock, 0)).toBe(systemClock);
  });

  it('follows the real time of the system clock', () => {
    const skewed = offsetClock(systemClock, -MAX_CLOCK_OFFSET_MS);
    const before = Date.now();
    const read = skewed.now();
    expect(read).toBeGreaterThanOrEqual(before - MAX_CLOCK_OFFSET_MS);
    expect(read).toBeLessThanOrEqual(Date.now() - MAX_CLOCK_OFFSET_MS);
  });

  it('refuses more than a day either way, and fractions of a millisecond', () => {
    const machine = new ManualClock(0);
    expect(offsetClock(machine, MAX_CLOCK_OFFSET_MS).now()).toBe(86_400_000);
    expect(() => offsetClock(machine, MAX_CLOCK_OFFSET_MS + 1)).toThrow(RangeError);
    expect(() => offsetClock(machine, -MAX_CLOCK_OFFSET_MS - 1)).toThrow(RangeError);
    expect(() => offsetClock(machine, 1.5)).toThrow(RangeError);
    expect(() => offsetClock(machine, Number.NaN)).toThrow(RangeError);
  });

  it('under a DatabaseClock, is corrected back to the reference: the skew shows as the measured offset', async () => {
    const machine = new ManualClock(50_000_000);
    // The database reads the machine's true time; the node's clock is 90 s ahead of it.
    const deadlines = await DatabaseClock.start({ sample: async () => machine.now() }, offsetClock(machine, 90_000));
    expect(deadlines.skewMs()).toBe(-90_000);
    expect(clockSkewSeconds(deadlines)).toBe(-90);
    expect(deadlines.now()).toBe(machine.now());
    deadlines.stop();
  });
});
