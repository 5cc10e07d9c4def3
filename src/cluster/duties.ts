import type { Clock } from '../clock/index.js';
import type { Leadership } from './leadership.js';

export interface Duty {
  name: string;
  everyMs: number;
  /** Runs only on the leader; gets the term to stamp on its writes. */
  run(term: number): Promise<void>;
}

/**
 * Where a leader claims its term before a duty runs (the store's term of record): false when a
 * later leader has claimed one, so this node is deposed whatever its Raft has heard yet.
 */
export type TermClaim = (term: number) => Promise<boolean>;

/**
 * Runs coordinator duties on a timer, only while this node leads and its term is the term of
 * record. A duty never overlaps itself, and a failing duty is reported and retried on its next
 * tick rather than stopping the others.
 */
export class CoordinatorDuties {
  /** The pending timer of each duty, so stop() can cancel it. */
  private readonly timers = new Map<string, () => void>();
  private readonly running = new Set<string>();
  private stopped = false;

  constructor(
    private readonly leadership: Leadership,
    private readonly clock: Clock,
    private readonly onError: (duty: string, error: unknown) => void,
    private readonly claim?: TermClaim,
    /** A duty skipped because a later term is recorded (a deposed coordinator). */
    private readonly onDeposed?: (duty: string, term: number) => void,
  ) {}

  add(duty: Duty, runNow = false): void {
    const loop = () => {
      if (this.stopped) return;
      const cancel = this.clock.setTimer(duty.everyMs, async () => {
        await this.runOnce(duty);
        loop();
      });
      this.timers.set(duty.name, cancel);
    };
    if (runNow) void this.runOnce(duty);
    loop();
  }

  async runOnce(duty: Duty): Promise<void> {
    if (this.stopped || !this.leadership.isLeader() || this.running.has(duty.name)) return;
    this.running.add(duty.name);
    const term = this.leadership.term();
    try {
      if (this.claim && !(await this.claim(term))) return this.onDeposed?.(duty.name, term);
      await duty.run(term);
    } catch (e) {
      this.onError(duty.name, e);
    } finally {
      this.running.delete(duty.name);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }
}
