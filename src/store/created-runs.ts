import type { RunSnapshot } from './runs.js';

/**
 * What this process wrote when it created runs, kept until each run's actor first loads it, so a
 * fresh run is not read back right after it was written. Bounded: a run whose actor lives on
 * another node (its shard is owned elsewhere) is never taken here, and the oldest go first.
 */
export class CreatedRuns {
  private readonly runs = new Map<string, RunSnapshot>();

  constructor(private readonly limit = 1_000) {}

  keep(snapshot: RunSnapshot): void {
    this.runs.set(snapshot.run.id, snapshot);
    if (this.runs.size > this.limit) this.runs.delete(this.runs.keys().next().value!);
  }

  /** The snapshot of a run created here, once; undefined when there is none (or it was taken). */
  take(runId: string): RunSnapshot | undefined {
    const snapshot = this.runs.get(runId);
    this.runs.delete(runId);
    return snapshot;
  }
}
