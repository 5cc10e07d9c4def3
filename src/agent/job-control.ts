/** Why a job is being stopped before its steps ran out. */
export interface JobStop {
  kind: 'cancel' | 'timeout';
  reason: string;
  /** SIGKILL at once instead of SIGTERM, grace, SIGKILL. */
  force: boolean;
}

/**
 * The stop switch of one running job, shared by whatever process it is running right now (a git
 * command or a step). A graceful stop can be escalated to a forced one; nothing de-escalates.
 */
export class JobControl {
  private current: JobStop | undefined;
  private listeners = new Set<(stop: JobStop) => void>();

  constructor(readonly graceMs: number) {}

  get stopped(): JobStop | undefined {
    return this.current;
  }

  stop(stop: JobStop): void {
    const escalates = this.current !== undefined && !this.current.force && stop.force;
    if (this.current && !escalates) return;
    // The first reason is the one reported; a later force only makes it harder.
    this.current = this.current ? { ...this.current, force: true } : stop;
    for (const listener of [...this.listeners]) listener(this.current);
  }

  /** Called at once if the job is already stopping; returns an unsubscribe function. */
  onStop(listener: (stop: JobStop) => void): () => void {
    this.listeners.add(listener);
    if (this.current) listener(this.current);
    return () => this.listeners.delete(listener);
  }
}
