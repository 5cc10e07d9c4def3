import type { Clock } from '../clock/index.js';
import type { Leadership } from './leadership.js';

export interface Duty {
  name: string;
  everyMs: number;
  /** Runs only on the leader; gets the term to stamp on its writes. */
  run(term: number): Promise<void>;
}

/**
 * Runs coordinator duties on a timer, only while this node leads. A duty never overlaps itself,
 * and a failing duty is reported and retried on its next tick rather than stopping the others.
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
    try {
      await duty.run(this.leadership.term());
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
