/**
 * A clock that reads the time of a shared reference (the cluster's PostgreSQL) rather than this
 * machine's: deadlines written by one node and read by another after a shard moves (ack, recovery,
 * stale, queue and workflow timeouts) then mean the same instant on both, however far apart their
 * local clocks are.
 *
 * It never asks the reference on `now()`: it keeps `offset = reference − local`, measured with
 * round-trip compensation (local t0, reference T, local t1: `offset = T − (t0 + t1) / 2`, assuming
 * the answer was taken half-way), re-measured every `resampleMs` on the base clock's timer, and
 * uses, of the last `window` measurements, the one with the smallest round trip (the least
 * uncertain: the error of one measurement is at most half its round trip). `now()` is the base
 * clock's time plus that offset. Durations are the same on both clocks, so `setTimer` is the base
 * clock's.
 *
 * The offset is not clamped: a new, better measurement may move `now()` back by a few
 * milliseconds. And a step of the local clock (NTP) is absorbed only as new measurements replace
 * the older ones in the window (at most `window × resampleMs`).
 */
import { type Clock, systemClock } from './index.js';

/** The reference's time: milliseconds since the epoch, as the reference sees it now. */
export interface TimeSource {
  sample(): Promise<number>;
}

export interface DatabaseClockOptions {
  /** Time between two measurements (default 30 s). */
  resampleMs?: number;
  /** How many recent measurements the smallest round trip is chosen among (default 5). */
  window?: number;
  /** A measurement not answered within this is a failure (default 10 s). */
  sampleTimeoutMs?: number;
  /** A measurement that failed (the last offset is kept). */
  onError?: (error: Error) => void;
}

/** One measurement: the reference's offset from the base clock and the round trip it took. */
export interface ClockSample {
  offsetMs: number;
  roundTripMs: number;
  /** Base clock time the measurement ended. */
  at: number;
}

export const DEFAULT_RESAMPLE_MS = 30_000;
export const DEFAULT_SAMPLE_WINDOW = 5;
export const DEFAULT_SAMPLE_TIMEOUT_MS = 10_000;

export class DatabaseClock implements Clock {
  private readonly resampleMs: number;
  private readonly window: number;
  private readonly sampleTimeoutMs: number;
  private samples: ClockSample[] = [];
  private chosen: ClockSample | undefined;
  private cancelNext: (() => void) | undefined;
  private stopped = false;

  private constructor(
    private readonly source: TimeSource,
    private readonly base: Clock,
    private readonly options: DatabaseClockOptions,
  ) {
    this.resampleMs = positive(options.resampleMs ?? DEFAULT_RESAMPLE_MS, 'resampleMs');
    this.window = Math.floor(positive(options.window ?? DEFAULT_SAMPLE_WINDOW, 'window'));
    this.sampleTimeoutMs = positive(options.sampleTimeoutMs ?? DEFAULT_SAMPLE_TIMEOUT_MS, 'sampleTimeoutMs');
  }

  /**
   * Measure once (and wait for it: a clock with no offset yet would hand out the local time), then
   * re-measure every `resampleMs` until `stop()`. Rejects when the first measurement fails.
   */
  static async start(source: TimeSource, base: Clock = systemClock, options: DatabaseClockOptions = {}): Promise<DatabaseClock> {
    const clock = new DatabaseClock(source, base, options);
    clock.accept(await clock.measure());
    clock.scheduleNext();
    return clock;
  }

  now(): number {
    return this.base.now() + this.skewMs();
  }

  setTimer(ms: number, fn: () => void): () => void {
    return this.base.setTimer(ms, fn);
  }

  /** The reference's time minus the base clock's, in milliseconds (positive: the reference is ahead). */
  skewMs(): number {
    return this.chosen?.offsetMs ?? 0;
  }

  /** The round trip of the measurement the offset comes from. */
  roundTripMs(): number {
    return this.chosen?.roundTripMs ?? 0;
  }

  /**
   * Measure now, outside the schedule. Resolves true when the measurement was taken; false when it
   * failed, which `onError` is told and which keeps the offset as it was.
   */
  async resample(): Promise<boolean> {
    try {
      const sample = await this.measure();
      if (!this.stopped) this.accept(sample);
      return true;
    } catch (e) {
      if (!this.stopped) this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  /** No more measurements; the clock keeps answering with the last offset. */
  stop(): void {
    this.stopped = true;
    this.cancelNext?.();
    this.cancelNext = undefined;
  }

  private async measure(): Promise<ClockSample> {
    const t0 = this.base.now();
    const reference = await this.withTimeout(this.source.sample());
    const t1 = this.base.now();
    if (typeof reference !== 'number' || !Number.isFinite(reference)) throw new Error(`the time source answered no usable time: ${String(reference)}`);
    if (t1 < t0) throw new Error('the local clock went back during the measurement');
    return { offsetMs: Math.round(reference - (t0 + t1) / 2), roundTripMs: t1 - t0, at: t1 };
  }

  private accept(sample: ClockSample): void {
    this.samples = [...this.samples, sample].slice(-this.window);
    // The smallest round trip; among equals, the most recent.
    this.chosen = this.samples.reduce((best, s) => (s.roundTripMs <= best.roundTripMs ? s : best));
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.cancelNext = this.base.setTimer(this.resampleMs, () => {
      this.cancelNext = undefined;
      void this.resample().then(() => this.scheduleNext());
    });
  }

  private withTimeout<T>(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.base.setTimer(this.sampleTimeoutMs, () => reject(new Error(`the time source did not answer within ${this.sampleTimeoutMs} ms`)));
      pending.then(
        (value) => {
          cancel();
          resolve(value);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`DatabaseClock: ${name} must be a positive number, not ${value}`);
  return value;
}

/**
 * What `kici_clock_skew_seconds` shows: the reference's time minus this node's, in seconds, when
 * `clock` is a DatabaseClock; 0 for any other clock (the system clock, a test's manual clock).
 */
export function clockSkewSeconds(clock: Clock): number {
  return clock instanceof DatabaseClock ? clock.skewMs() / 1000 : 0;
}
