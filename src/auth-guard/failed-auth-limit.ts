import type { Clock } from '../clock/index.js';

/** What one more failure means for its address. */
export type AuthVerdict = { limited: false } | { limited: true; retryAfterSeconds: number };

export interface FailedAuthLimitOptions {
  /** Failures an address may have inside the window before further failures are refused. */
  maxFailures?: number;
  windowMs?: number;
  /** Addresses remembered at most; the one that failed least recently is forgotten first. */
  maxAddresses?: number;
}

const DEFAULTS = { maxFailures: 10, windowMs: 60_000, maxAddresses: 10_000 };

/**
 * Failed authentications per client address, over a sliding window. Only failures are counted
 * and only failures are refused: the caller checks the credential first, so a valid one from a
 * limited address always passes and an attacker sharing an address (a NAT, a proxy) cannot lock a
 * real admin or agent out.
 *
 * Memory is bounded twice over: an address keeps only its last `maxFailures` timestamps (all the
 * window needs to know), and at most `maxAddresses` addresses are kept. The map is kept in order
 * of last failure, so expired addresses sit at its front and are dropped there on every call.
 */
export class FailedAuthLimit {
  private readonly failures = new Map<string, number[]>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;

  constructor(
    private readonly clock: Clock,
    options: FailedAuthLimitOptions = {},
  ) {
    this.max = options.maxFailures ?? DEFAULTS.maxFailures;
    this.windowMs = options.windowMs ?? DEFAULTS.windowMs;
    this.maxAddresses = options.maxAddresses ?? DEFAULTS.maxAddresses;
  }

  /**
   * Record one failed authentication from `address`. The verdict says whether the address had
   * already used up its failures (the caller then answers 429 / 4003 instead of 401 / 4010).
   * Failures while limited are recorded too, so a client that keeps guessing stays limited.
   */
  fail(address: string): AuthVerdict {
    const now = this.clock.now();
    this.forgetExpired(now);
    const recent = (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
    const limited = recent.length >= this.max;
    recent.push(now);
    if (recent.length > this.max) recent.shift();
    // Re-inserted so the map stays ordered by last failure.
    this.failures.delete(address);
    this.failures.set(address, recent);
    this.evictOverflow();
    if (!limited) return { limited: false };
    // The address is free again once the oldest of its last `max` failures leaves the window.
    const waitMs = recent[0] + this.windowMs - now;
    return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** Has `address` used up its failures right now? Records nothing (a door may refuse before any work). */
  isLimited(address: string): boolean {
    const now = this.clock.now();
    return (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs).length >= this.max;
  }

  /** Addresses currently remembered (bounded by `maxAddresses`). */
  get size(): number {
    return this.failures.size;
  }

  private forgetExpired(now: number): void {
    for (const [address, times] of this.failures) {
      if (times[times.length - 1] > now - this.windowMs) return;
      this.failures.delete(address);
    }
  }

  private evictOverflow(): void {
    for (const address of this.failures.keys()) {
      if (this.failures.size <= this.maxAddresses) return;
      this.failures.delete(address);
    }
  }
}
