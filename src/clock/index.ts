/**
 * Time and randomness, injected everywhere so the same code runs in production and in the
 * deterministic simulator. Nothing outside this room reads Date.now() or Math.random() directly
 * in a pure core.
 */
import { randomUUID } from 'node:crypto';

export interface Clock {
  /** Milliseconds since the epoch (wall clock; may be virtual in tests). */
  now(): number;
  /** Schedule `fn` after `ms`; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
}

/**
 * New identifiers (runs, jobs). A port like the clock: production draws random UUIDs, a simulator
 * or test hands out a predictable sequence so a replay creates the same rows.
 */
export interface IdSource {
  newId(): string;
}

export const systemIds: IdSource = { newId: () => randomUUID() };

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export const systemRandom: Random = {
  next: () => Math.random(),
  int: (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1)),
};

/** A manually advanced clock for tests: timers fire in due order when `advance` passes them. */
export class ManualClock implements Clock {
  private current: number;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Move time forward, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = due.at;
      due.fn();
    }
    this.current = target;
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export class SeededRandom implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

// A node's clock set wrong on purpose (chaos runs only).
export { MAX_CLOCK_OFFSET_MS, offsetClock } from './offset-clock.js';

// The time of a shared reference (the cluster's database) over a port the store satisfies.
export {
  type ClockSample,
  clockSkewSeconds,
  DatabaseClock,
  type DatabaseClockOptions,
  DEFAULT_RESAMPLE_MS,
  DEFAULT_SAMPLE_TIMEOUT_MS,
  DEFAULT_SAMPLE_WINDOW,
  type TimeSource,
} from './database-clock.js';
