/** What the contract's sections share: the opened backend as tests see it, and record lookups. */
import type { LoadedRun, RunStore } from '../../src/runs/index.js';

export interface ContractContext {
  store(): RunStore;
  /**
   * Seed a fixture's run, as written by the owner at `run.ownerEpoch`, into `shard` (by default the
   * suite's shared shard, whose row stays at E for the whole suite) and hand it back with its shard.
   */
  seed<T extends { loaded: LoadedRun }>(fixture: T, options?: { shard?: number }): Promise<T & { shard: number }>;
  /** A shard of this test's own, its row at E: a test that moves or drops a shard does it to its own. */
  newShard(): Promise<number>;
  /** The shard moves: a node gains it at `epoch` and raises its row (`epoch` must be above the row's). */
  moveShard(shard: number, epoch: number): Promise<void>;
  /** The shard's row is removed: no node holds it. */
  dropShard(shard: number): Promise<void>;
  /** Round trips to the database so far; undefined for a store without one. */
  roundTrips(): number | undefined;
  /** loadRun that insists the run is there. */
  load(runId: string): Promise<LoadedRun>;
}

export const jobIn = (loaded: LoadedRun, jobId: string) => {
  const job = loaded.jobs.find((j) => j.id === jobId);
  if (!job) throw new Error(`job ${jobId} not loaded`);
  return job;
};

export const stepIn = (loaded: LoadedRun, jobId: string, stepIndex: number) => {
  const step = loaded.steps.find((s) => s.jobId === jobId && s.stepIndex === stepIndex);
  if (!step) throw new Error(`step ${jobId}#${stepIndex} not loaded`);
  return step;
};
