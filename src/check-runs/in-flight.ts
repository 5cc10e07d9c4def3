/**
 * Counts the reporter's outside work in flight (GitHub calls, target look-ups, log reads), so a
 * caller can wait until none is: `idle()` resolves when every check is either quiet or waiting on
 * the clock (a debounce or a retry's backoff). Tests driving a ManualClock wait on it instead of
 * sleeping; a shutdown can wait on it to let the last updates out.
 */
export class WorkInFlight {
  private running = 0;
  private waiters: (() => void)[] = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      if (this.running === 0) this.wake();
    }
  }

  async idle(): Promise<void> {
    for (;;) {
      // One turn of the event loop first: work that follows finished work starts in microtasks,
      // and must be counted before "nothing is running" is believed.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.running === 0) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
