/**
 * One process's clock: virtual time, and timers that die with the process. A crashed node's
 * timers stay in the queue but do nothing when they come due, as a killed process runs nothing.
 */
import type { Clock } from '../clock/index.js';
import type { SimLoop } from './loop.js';

export class ProcessClock implements Clock {
  private alive = true;

  constructor(private readonly loop: SimLoop) {}

  now(): number {
    return this.loop.now();
  }

  setTimer(ms: number, fn: () => void): () => void {
    return this.loop.after(ms, () => {
      if (this.alive) fn();
    });
  }

  /** The process is gone: none of its timers fire from now on. */
  kill(): void {
    this.alive = false;
  }

  get running(): boolean {
    return this.alive;
  }
}
