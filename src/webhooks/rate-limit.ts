import type { Clock } from '../clock/index.js';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimit {
  take(sourceId: string, limitPerMinute: number): RateDecision;
}

const WINDOW_MS = 60_000;

/**
 * Per-source sliding 60 s window, in memory on the node that receives the delivery. A window holds
 * at most `limit` timestamps, so memory stays bounded by the limits themselves; idle sources are
 * forgotten once their window empties.
 */
export class SlidingWindowRateLimit implements RateLimit {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  take(sourceId: string, limitPerMinute: number): RateDecision {
    if (!(limitPerMinute > 0)) return { ok: true };
    const now = this.clock.now();
    const window = this.prune(sourceId, now);
    if (window.length >= limitPerMinute) {
      const oldest = window[window.length - limitPerMinute];
      const waitMs = oldest + WINDOW_MS - now;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    window.push(now);
    this.windows.set(sourceId, window);
    return { ok: true };
  }

  private prune(sourceId: string, now: number): number[] {
    const window = this.windows.get(sourceId) ?? [];
    let drop = 0;
    while (drop < window.length && window[drop] <= now - WINDOW_MS) drop++;
    const kept = drop === 0 ? window : window.slice(drop);
    if (kept.length === 0) this.windows.delete(sourceId);
    return kept;
  }
}
