/**
 * How long a dialler waits before its next attempt: exponential growth from `initialDelayMs`,
 * capped at `maxDelayMs` (`KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS`), with full jitter (a
 * uniform draw between zero and the ceiling) so that nodes that lost a peer together do not dial
 * it again together. A link that stayed up for `stableAfterMs` resets the growth: the next loss
 * starts again from the smallest delay.
 */
import type { Random } from '../../clock/index.js';

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  stableAfterMs: number;
}

export const DEFAULT_MAX_RECONNECT_DELAY_MS = 5_000;
export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: DEFAULT_MAX_RECONNECT_DELAY_MS, stableAfterMs: 10_000 };

/** The ceiling of attempt `attempt` (0-based): initial·2^attempt, never above the cap. */
export function reconnectCeiling(attempt: number, policy: BackoffPolicy): number {
  // 2^31 of anything passes any sane cap; stopping there keeps the arithmetic finite.
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 31));
}

/** The delay before attempt `attempt`: a uniform draw in [0, ceiling]. */
export function reconnectDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  return random.int(0, reconnectCeiling(attempt, policy));
}

/** One dialler's attempt count, grown by failures and reset by a link that lasted. */
export class ReconnectBackoff {
  private attempt = 0;
  private upSince: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: Random,
  ) {}

  /** Attempts since the last stable link (0 when fresh). */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, counting it. */
  nextDelay(): number {
    const delay = reconnectDelay(this.attempt, this.policy, this.random);
    this.attempt += 1;
    return delay;
  }

  connected(now: number): void {
    this.upSince = now;
  }

  disconnected(now: number): void {
    if (this.upSince !== undefined && now - this.upSince >= this.policy.stableAfterMs) this.attempt = 0;
    this.upSince = undefined;
  }
}
