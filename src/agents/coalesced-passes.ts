/**
 * Passes over work that may grow while one runs (a queue drained as slots free): one pass at a
 * time, and a call during a pass asks for one more and resolves with it, so an awaited call has
 * seen everything that was there when it was made.
 */
export class CoalescedPasses {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly pass: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.passes().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      await this.pass();
    } while (this.again);
  }
}
