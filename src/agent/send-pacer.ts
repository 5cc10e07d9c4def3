import type { Clock } from '../clock/index.js';

export interface SendPacerOptions {
  /** Sustained frames per second. */
  ratePerSecond: number;
  /** Frames that may go out back to back. */
  burst: number;
}

/**
 * A token bucket on the agent's own sends. It keeps a reconnect replay or a chatty job under the
 * orchestrator's per-connection limit (KiCI: 200 burst, 100/s), so logs queue here instead of being
 * shed there; a `rate.limit.warning` empties the bucket for the time the orchestrator asks.
 */
export class SendPacer {
  private tokens: number;
  private updatedAt: number;
  private blockedUntil = 0;

  constructor(
    private readonly clock: Clock,
    private readonly options: SendPacerOptions,
  ) {
    this.tokens = options.burst;
    this.updatedAt = clock.now();
  }

  tryTake(): boolean {
    this.refill();
    if (this.clock.now() < this.blockedUntil || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** For frames that go out regardless (statuses): they still count against the budget. */
  charge(): void {
    this.refill();
    this.tokens = Math.max(0, this.tokens - 1);
  }

  backOff(ms: number): void {
    this.refill();
    this.tokens = 0;
    this.blockedUntil = Math.max(this.blockedUntil, this.clock.now() + ms);
  }

  /** Milliseconds until tryTake can succeed again. */
  waitMs(): number {
    this.refill();
    const blocked = Math.max(0, this.blockedUntil - this.clock.now());
    const refill = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.options.ratePerSecond);
    return Math.max(blocked, refill, 1);
  }

  private refill(): void {
    const now = this.clock.now();
    const from = Math.max(this.updatedAt, Math.min(now, this.blockedUntil));
    if (now > from) {
      this.tokens = Math.min(this.options.burst, this.tokens + ((now - from) * this.options.ratePerSecond) / 1000);
    }
    this.updatedAt = now;
  }
}
