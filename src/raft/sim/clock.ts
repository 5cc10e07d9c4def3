/**
 * One server's clock, as its process sees it: a monotonic clock that runs at its own rate (quartz
 * drifts), and timers that fire late because the event loop was busy (usually by a fraction of a
 * millisecond, now and then by a GC-sized pause). The driver's DriverClock is one of these per
 * server, so the election timeout and the lease are measured on each server's own clock, as in a
 * deployment.
 *
 * Rates are drawn so that no two clocks of a seed differ by more than the core's assumed
 * `maxClockDrift` (rate = (1 + drift)^u for u in [-1/2, 1/2]); the extremes are drawn often,
 * because the lease margin only matters at the extremes.
 */
import type { DriverClock } from '../driver.js';
import type { EventQueue } from './events.js';
import type { SimRandom } from './random.js';

/** How late timers fire. */
export interface TimerLag {
  /** Mean of the usual lag, exponentially distributed, in ms. */
  mean: number;
  /** Chance that a timer fires after a long stall instead. */
  spikeChance: number;
  /** A stall lasts uniform in [spikeMax / 10, spikeMax] ms. */
  spikeMax: number;
}

export const NO_LAG: TimerLag = { mean: 0, spikeChance: 0, spikeMax: 0 };

/** A clock rate for one server: within (1 + drift)^±½ of true time, extremes favoured. */
export function drawRate(rng: SimRandom, drift: number): number {
  if (drift <= 0) return 1;
  const roll = rng.next();
  const u = roll < 1 / 3 ? -0.5 : roll < 2 / 3 ? 0.5 : rng.next() - 0.5;
  return Math.pow(1 + drift, u);
}

export class NodeClock implements DriverClock {
  /** Local time at true time 0: processes do not agree on the epoch either. */
  private readonly offset: number;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: SimRandom,
    /** Local ms per true ms. */
    readonly rate: number,
    private readonly lag: TimerLag,
  ) {
    this.offset = rng.between(0, 1000);
  }

  now(): number {
    return this.offset + this.queue.now() * this.rate;
  }

  /**
   * `ms` of local time, then however late the event loop gets to it. When it fires, now() has
   * reached the deadline exactly: a caller that re-arms for "the rest" must never be handed a
   * rounding error to wait for, again and again, at one instant.
   */
  setTimer(ms: number, fn: () => void): () => void {
    // A nanosecond over: `now() + (t - now())` can round below t, and t is what callers compare.
    const deadline = this.now() + Math.max(0, ms) + 1e-6;
    let at = (deadline - this.offset) / this.rate;
    while (this.offset + at * this.rate < deadline) at += Math.max(at, 1) * 2 ** -50;
    const ev = this.queue.scheduleAt(at + this.lateness(), fn);
    return () => {
      ev.cancelled = true;
    };
  }

  private lateness(): number {
    const l = this.lag;
    if (l.spikeChance > 0 && this.rng.chance(l.spikeChance)) return this.rng.between(l.spikeMax / 10, l.spikeMax);
    return l.mean > 0 ? this.rng.exponential(l.mean) : 0;
  }
}
