/**
 * Virtual time for the cluster simulator: the raft simulator's event queue, stepped one event at a
 * time, with every promise continuation an event started run to its end before the next event.
 * The real code under test (actors, runs, the Raft driver's proposals) is async: without the
 * settle between events its continuations would run at whatever virtual time the loop reached.
 */
import { EventQueue } from '../raft/index.js';

/**
 * Where virtual time starts, as wall-clock ms. Clock readings look like real timestamps, and a
 * reading of 0 (which some code treats as "unset") never happens.
 */
export const VIRTUAL_EPOCH_MS = 1_700_000_000_000;

export class SimLoop {
  readonly queue = new EventQueue();
  private events = 0;

  /** The wall-clock reading every process of the simulation shares. */
  now(): number {
    return VIRTUAL_EPOCH_MS + this.queue.now();
  }

  /** Virtual ms since the start. */
  elapsed(): number {
    return this.queue.now();
  }

  /** Events run so far. */
  get count(): number {
    return this.events;
  }

  after(ms: number, run: () => void): () => void {
    const ev = this.queue.schedule(ms, run);
    return () => {
      ev.cancelled = true;
    };
  }

  /** At `ms` virtual ms since the start (now, if that has passed). */
  at(ms: number, run: () => void): void {
    this.queue.scheduleAt(ms, run);
  }

  /**
   * Run events up to `until` (virtual ms since the start), settling after each; stops early once
   * `stop` says so after an event. Resolves with whether it stopped early.
   */
  async runUntil(until: number, stop: () => boolean): Promise<boolean> {
    while (this.queue.step(until)) {
      this.events++;
      await settle();
      if (stop()) return true;
    }
    this.queue.advanceTo(until);
    return false;
  }
}

/**
 * Resolves once every promise continuation queued so far, and every one they queue, has run.
 * Nothing in a simulation does I/O or sets a real timer, so the first macrotask after them is
 * this one: the order of everything still depends only on the seed.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
