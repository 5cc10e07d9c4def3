/**
 * One deadline per job at a time (an ack deadline, then maybe a recovery deadline), delivered to the
 * actor as a message so it is handled in mailbox order like everything else.
 */
export class JobTimers<M> {
  private readonly cancels = new Map<string, () => void>();

  constructor(private readonly schedule: (ms: number, msg: M) => () => void) {}

  /** Replace the job's deadline; a deadline already past fires at once (through the mailbox). */
  arm(jobId: string, ms: number, msg: M): void {
    this.disarm(jobId);
    this.cancels.set(jobId, this.schedule(Math.max(0, ms), msg));
  }

  disarm(jobId: string): void {
    this.cancels.get(jobId)?.();
    this.cancels.delete(jobId);
  }

  clear(): void {
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }
}
