import { describe, expect, it } from 'vitest';
import { clockSkewSeconds, DatabaseClock, ManualClock, systemClock, type TimeSource } from '../../../src/clock/index.js';

/** A reference whose answers the test gives, one per request, after moving the local clock as it likes. */
class FakeTimeSource implements TimeSource {
  calls = 0;
  private pending: { resolve: (ms: number) => void; reject: (e: Error) => void }[] = [];

  sample(): Promise<number> {
    this.calls += 1;
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  get waiting(): number {
    return this.pending.length;
  }

  answer(ms: number): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no sample is waiting');
    next.resolve(ms);
  }

  fail(message = 'connection refused'): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no sample is waiting');
    next.reject(new Error(message));
  }
}

/** Let the promise callbacks of an answered sample run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Start a DatabaseClock whose first measurement took `roundTrip` ms and read `reference`. */
async function started(local: ManualClock, source: FakeTimeSource, reference: number, roundTrip = 0, options = {}) {
  const starting = DatabaseClock.start(source, local, options);
  local.advance(roundTrip);
  source.answer(reference);
  return starting;
}

/** One scheduled re-measurement: the period passes, the answer comes `roundTrip` ms later. */
async function resampled(local: ManualClock, source: FakeTimeSource, period: number, reference: (sentAt: number) => number, roundTrip = 0) {
  local.advance(period);
  expect(source.waiting).toBe(1);
  const sentAt = local.now();
  local.advance(roundTrip);
  source.answer(reference(sentAt));
  await settle();
}

describe('DatabaseClock', () => {
  it('adds the measured offset to the local time, compensating for the round trip', async () => {
    const local = new ManualClock(1_000_000);
    const source = new FakeTimeSource();
    // Sent at 1_000_000, answered at 1_000_100: the reference read 1_005_050 half-way, at local 1_000_050.
    const clock = await started(local, source, 1_005_050, 100);
    expect(clock.skewMs()).toBe(5_000);
    expect(clock.roundTripMs()).toBe(100);
    expect(clock.now()).toBe(1_000_100 + 5_000);
    local.advance(1_234);
    expect(clock.now()).toBe(1_001_334 + 5_000);
    clock.stop();
  });

  it('measures a reference that is behind as a negative offset', async () => {
    const local = new ManualClock(50_000);
    const source = new FakeTimeSource();
    const clock = await started(local, source, 50_000 - 7_200_000 + 10, 20);
    expect(clock.skewMs()).toBe(-7_200_000);
    expect(clock.now()).toBe(50_020 - 7_200_000);
    clock.stop();
  });

  it('hands timers to the base clock: durations are the same on both', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const clock = await started(local, source, 60_000);
    const fired: number[] = [];
    clock.setTimer(500, () => fired.push(clock.now()));
    const cancel = clock.setTimer(600, () => fired.push(-1));
    cancel();
    local.advance(1_000);
    expect(fired).toEqual([60_500]);
    clock.stop();
  });

  it('measures again every resampleMs on the base clock and follows a reference that drifts', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const clock = await started(local, source, 1_000, 0, { resampleMs: 30_000, window: 1 });
    expect(source.calls).toBe(1);
    local.advance(29_999);
    expect(source.waiting).toBe(0);
    // The reference is now 1_500 ms ahead.
    await resampled(local, source, 1, (at) => at + 1_500);
    expect(source.calls).toBe(2);
    expect(clock.skewMs()).toBe(1_500);
    // The next one is scheduled 30 s after the last measurement ended.
    await resampled(local, source, 30_000, (at) => at + 2_000);
    expect(source.calls).toBe(3);
    expect(clock.skewMs()).toBe(2_000);
    clock.stop();
  });

  it('defaults to measuring every 30 s', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const clock = await started(local, source, 0);
    local.advance(29_999);
    expect(source.calls).toBe(1);
    local.advance(1);
    expect(source.calls).toBe(2);
    clock.stop();
  });

  it('uses the measurement with the smallest round trip among the last few', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    // A slow first answer (800 ms) that read the reference late: offset 400 + true offset.
    const clock = await started(local, source, 800 + 1_000, 800, { resampleMs: 10_000, window: 3 });
    expect(clock.skewMs()).toBe(1_400);
    // A quick one (10 ms), exact: the true offset is 1_000.
    await resampled(local, source, 10_000, (at) => at + 5 + 1_000, 10);
    expect(clock.skewMs()).toBe(1_000);
    expect(clock.roundTripMs()).toBe(10);
    // A slow, skewed one does not displace it.
    await resampled(local, source, 10_000, (at) => at + 1_000 + 600, 600);
    expect(clock.skewMs()).toBe(1_000);
    await resampled(local, source, 10_000, (at) => at + 1_000 + 300, 300);
    expect(clock.skewMs()).toBe(1_000);
    // Once the quick one is older than the window (3), the best of the last three wins.
    await resampled(local, source, 10_000, (at) => at + 1_000 + 50 + 120, 100);
    expect(clock.skewMs()).toBe(1_120);
    expect(clock.roundTripMs()).toBe(100);
    clock.stop();
  });

  it('among equal round trips, takes the most recent', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const clock = await started(local, source, 100, 0, { resampleMs: 1_000 });
    await resampled(local, source, 1_000, (at) => at + 200);
    expect(clock.skewMs()).toBe(200);
    clock.stop();
  });

  it('keeps the last offset when a measurement fails, reports it, and carries on', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const errors: string[] = [];
    const clock = await started(local, source, 3_000, 0, { resampleMs: 1_000, onError: (e: Error) => errors.push(e.message) });
    local.advance(1_000);
    source.fail('connection refused');
    await settle();
    expect(errors).toEqual(['connection refused']);
    expect(clock.skewMs()).toBe(3_000);
    expect(clock.now()).toBe(1_000 + 3_000);
    // The schedule goes on after a failure.
    await resampled(local, source, 1_000, (at) => at + 4_000);
    expect(clock.skewMs()).toBe(4_000);
    clock.stop();
  });

  it('counts an answer that does not come within sampleTimeoutMs as a failure', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const errors: string[] = [];
    const clock = await started(local, source, 3_000, 0, { resampleMs: 1_000, sampleTimeoutMs: 500, onError: (e: Error) => errors.push(e.message) });
    local.advance(1_000);
    expect(source.waiting).toBe(1);
    local.advance(500);
    await settle();
    expect(errors).toEqual(['the time source did not answer within 500 ms']);
    expect(clock.skewMs()).toBe(3_000);
    // The late answer changes nothing; the next measurement is scheduled as usual.
    source.answer(local.now() + 99_999);
    await settle();
    expect(clock.skewMs()).toBe(3_000);
    await resampled(local, source, 1_000, (at) => at + 3_100);
    expect(clock.skewMs()).toBe(3_100);
    clock.stop();
  });

  it('refuses an answer that is not a time', async () => {
    const local = new ManualClock(0);
    await expect(DatabaseClock.start({ sample: async () => Number.NaN }, local)).rejects.toThrow('the time source answered no usable time: NaN');
    const errors: string[] = [];
    let answer: unknown = 42;
    const clock = await DatabaseClock.start({ sample: async () => answer as number }, local, { resampleMs: 1_000, onError: (e) => errors.push(e.message) });
    expect(clock.skewMs()).toBe(42);
    answer = '2024-01-01';
    local.advance(1_000);
    await settle();
    expect(errors).toEqual(['the time source answered no usable time: 2024-01-01']);
    expect(clock.skewMs()).toBe(42);
    clock.stop();
  });

  it('does not start when the first measurement fails, and leaves no timer behind', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const starting = DatabaseClock.start(source, local, { resampleMs: 1_000 });
    source.fail('no database');
    await expect(starting).rejects.toThrow('no database');
    local.advance(10_000);
    expect(source.calls).toBe(1);
  });

  it('a failing source that throws instead of rejecting is a failure too', async () => {
    const local = new ManualClock(0);
    const errors: string[] = [];
    let calls = 0;
    const source: TimeSource = {
      sample: () => {
        calls += 1;
        if (calls > 1) throw new Error('pool closed');
        return Promise.resolve(500);
      },
    };
    const clock = await DatabaseClock.start(source, local, { resampleMs: 1_000, onError: (e) => errors.push(e.message) });
    local.advance(1_000);
    await settle();
    expect(errors).toEqual(['pool closed']);
    expect(clock.skewMs()).toBe(500);
    clock.stop();
  });

  it('stop cancels the next measurement and keeps the last offset', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const clock = await started(local, source, 2_000, 0, { resampleMs: 1_000 });
    clock.stop();
    local.advance(60_000);
    expect(source.calls).toBe(1);
    expect(clock.now()).toBe(62_000);
  });

  it('stop during a measurement: its answer is dropped and nothing more is scheduled', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const errors: Error[] = [];
    const clock = await started(local, source, 2_000, 0, { resampleMs: 1_000, onError: (e: Error) => errors.push(e) });
    local.advance(1_000);
    expect(source.waiting).toBe(1);
    clock.stop();
    source.answer(local.now() + 9_000);
    await settle();
    expect(clock.skewMs()).toBe(2_000);
    local.advance(60_000);
    expect(source.calls).toBe(2);
    expect(errors).toEqual([]);
  });

  it('resample() measures outside the schedule', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    // A first measurement with a long round trip, so the next one (4 ms) is the better.
    const clock = await started(local, source, 50, 100, { resampleMs: 1_000_000 });
    expect(clock.skewMs()).toBe(0);
    const measuring = clock.resample();
    local.advance(4);
    source.answer(local.now() - 2 + 250);
    await expect(measuring).resolves.toBe(true);
    expect(clock.skewMs()).toBe(250);
    const failing = clock.resample();
    source.fail();
    await expect(failing).resolves.toBe(false);
    expect(clock.skewMs()).toBe(250);
    clock.stop();
  });

  it('rejects options that make no sense', async () => {
    const local = new ManualClock(0);
    const source = { sample: async () => 0 };
    await expect(DatabaseClock.start(source, local, { resampleMs: 0 })).rejects.toThrow('resampleMs must be a positive number');
    await expect(DatabaseClock.start(source, local, { window: -1 })).rejects.toThrow('window must be a positive number');
    await expect(DatabaseClock.start(source, local, { sampleTimeoutMs: Number.NaN })).rejects.toThrow('sampleTimeoutMs must be a positive number');
  });

  it('clockSkewSeconds reads its offset in seconds, and 0 for any other clock', async () => {
    const local = new ManualClock(0);
    const source = new FakeTimeSource();
    const clock = await started(local, source, -2_500);
    expect(clockSkewSeconds(clock)).toBe(-2.5);
    expect(clockSkewSeconds(local)).toBe(0);
    expect(clockSkewSeconds(systemClock)).toBe(0);
    clock.stop();
  });
});
