import type { Clock } from '../clock/index.js';

/** Per-connection limits on what an agent may send (KiCI's numbers, protocol reference §1.5). */
export interface FrameLimits {
  messageBurst: number;
  messagesPerSecond: number;
  byteBurst: number;
  bytesPerSecond: number;
  /** A single frame above this (or above byteBurst) is refused outright. */
  maxFrameBytes: number;
  /** Violations that go on for longer than this close the connection. */
  sustainedMs: number;
  /** A streak of violations ends after this long without one. */
  quietMs: number;
  /** At most one warning per this interval, so a flood is not answered by a second flood. */
  warningIntervalMs: number;
}

export const AGENT_FRAME_LIMITS: FrameLimits = {
  messageBurst: 200,
  messagesPerSecond: 100,
  byteBurst: 2 * 1024 * 1024,
  bytesPerSecond: 500 * 1024,
  maxFrameBytes: 4 * 1024 * 1024,
  sustainedMs: 5_000,
  quietMs: 1_000,
  warningIntervalMs: 1_000,
};

/** What each slot an agent registers adds to its message and byte rates. */
export interface SlotRate {
  messagesPerSecond: number;
  bytesPerSecond: number;
}

/**
 * Ten short jobs a second per slot, at about six frames each (job.ack, job.status running, a step's
 * running and finished step.status, a log.chunk, the result), and 128 KiB/s of log per slot. So 4
 * agents of 25 slots can carry 1,000 short jobs/s, where KiCI's flat 100 messages/s held any agent
 * near 17 such jobs/s (33 if it sends only ack, running and result) whatever the server could do.
 */
export const AGENT_SLOT_RATE: SlotRate = {
  messagesPerSecond: 60,
  bytesPerSecond: 128 * 1024,
};

/**
 * The limits of an agent that registered `slots`: each rate is the slots' share or `base`'s,
 * whichever is higher (so small agents keep KiCI's numbers), and each burst keeps `base`'s ratio to
 * its rate (two seconds' worth in KiCI's). The slots buy rate, never a bigger single frame.
 */
export function limitsForSlots(slots: number, base: FrameLimits = AGENT_FRAME_LIMITS, perSlot: SlotRate = AGENT_SLOT_RATE): FrameLimits {
  const messagesPerSecond = Math.max(base.messagesPerSecond, slots * perSlot.messagesPerSecond);
  const bytesPerSecond = Math.max(base.bytesPerSecond, slots * perSlot.bytesPerSecond);
  return {
    ...base,
    messagesPerSecond,
    messageBurst: Math.round((base.messageBurst * messagesPerSecond) / base.messagesPerSecond),
    bytesPerSecond,
    byteBurst: Math.round((base.byteBurst * bytesPerSecond) / base.bytesPerSecond),
    maxFrameBytes: Math.min(base.maxFrameBytes, base.byteBurst),
  };
}

export type FrameVerdict =
  | { kind: 'within' }
  /** Over the limit: the frame is still processed; `warn` says whether to tell the agent now. */
  | { kind: 'over'; retryAfterMs: number; warn: boolean }
  | { kind: 'close'; reason: string };

/**
 * Two token buckets (messages and bytes) for one agent connection. Unlike KiCI it never asks for a
 * frame to be dropped: an over-limit frame may carry a job's result, so the caller processes it and
 * warns; only a flood that goes on past `sustainedMs` (or one absurd frame) ends the connection.
 */
export class FrameBudget {
  private messages: number;
  private bytes: number;
  private updatedAt: number;
  private streakStart?: number;
  private lastViolation = -Infinity;
  private lastWarning = -Infinity;

  constructor(
    private readonly clock: Clock,
    private limits: FrameLimits = AGENT_FRAME_LIMITS,
  ) {
    this.messages = limits.messageBurst;
    this.bytes = limits.byteBurst;
    this.updatedAt = clock.now();
  }

  /**
   * Meter by `limits` from now on (the agent registered its slots). What is left in the buckets
   * carries over, never topped up, and so does a violation streak: re-registering buys no frames.
   */
  retune(limits: FrameLimits): void {
    this.refill(this.clock.now());
    this.limits = limits;
    this.messages = Math.min(this.messages, limits.messageBurst);
    this.bytes = Math.min(this.bytes, limits.byteBurst);
  }

  /** Checked before parsing, for every frame (heartbeats too): a frame no bucket could ever hold. */
  oversize(frameBytes: number): string | undefined {
    const cap = Math.min(this.limits.maxFrameBytes, this.limits.byteBurst);
    return frameBytes > cap ? `frame of ${frameBytes} bytes exceeds the ${cap}-byte limit` : undefined;
  }

  /** Charge one non-heartbeat frame of `frameBytes` against the buckets. */
  admit(frameBytes: number): FrameVerdict {
    const tooBig = this.oversize(frameBytes);
    if (tooBig) return { kind: 'close', reason: tooBig };
    const now = this.clock.now();
    this.refill(now);
    if (this.streakStart !== undefined && now - this.lastViolation >= this.limits.quietMs) this.streakStart = undefined;
    const within = this.messages >= 1 && this.bytes >= frameBytes;
    this.messages = Math.max(0, this.messages - 1);
    this.bytes = Math.max(0, this.bytes - frameBytes);
    if (within) return { kind: 'within' };

    this.streakStart ??= now;
    this.lastViolation = now;
    if (now - this.streakStart > this.limits.sustainedMs) {
      return { kind: 'close', reason: `rate limit exceeded for more than ${this.limits.sustainedMs / 1000} s` };
    }
    const warn = now - this.lastWarning >= this.limits.warningIntervalMs;
    if (warn) this.lastWarning = now;
    return { kind: 'over', retryAfterMs: this.retryAfterMs(frameBytes), warn };
  }

  /** Time until both buckets could take another frame of this size. */
  private retryAfterMs(frameBytes: number): number {
    const forMessage = ((1 - this.messages) * 1000) / this.limits.messagesPerSecond;
    const forBytes = ((frameBytes - this.bytes) * 1000) / this.limits.bytesPerSecond;
    return Math.max(1, Math.ceil(Math.max(forMessage, forBytes)));
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.messages = Math.min(this.limits.messageBurst, this.messages + (elapsed * this.limits.messagesPerSecond) / 1000);
    this.bytes = Math.min(this.limits.byteBurst, this.bytes + (elapsed * this.limits.bytesPerSecond) / 1000);
  }
}
