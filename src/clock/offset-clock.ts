/**
 * A clock shifted by a fixed offset: how a chaos run makes one node a machine whose wall clock is
 * wrong (KICI_FAULT_CLOCK_OFFSET_MS). Only `now()` moves; timers are durations, and a machine whose
 * clock is set wrong still counts seconds at the same rate.
 */
import type { Clock } from './index.js';

/** The largest shift a node accepts: a day either way is wrong enough for any chaos scenario. */
export const MAX_CLOCK_OFFSET_MS = 24 * 60 * 60 * 1000;

/** `base` read `offsetMs` later (negative: earlier). An offset of 0 hands `base` back unchanged. */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  if (!Number.isInteger(offsetMs) || Math.abs(offsetMs) > MAX_CLOCK_OFFSET_MS) {
    throw new RangeError(`offsetClock: the offset must be a whole number of milliseconds within ±${MAX_CLOCK_OFFSET_MS}, not ${offsetMs}`);
  }
  if (offsetMs === 0) return base;
  return {
    now: () => base.now() + offsetMs,
    setTimer: (ms, fn) => base.setTimer(ms, fn),
  };
}
