/** What the contract's sections share: the opened backend as tests see it, and record lookups. */
import type { LoadedRun, RunStore } from '../../src/runs/index.js';

/**
 * Behaviour the port documents that a backend is known not to have yet. Tests pinning it are
 * declared with `it.fails` for that backend, so they turn red (and the marker must go) once fixed.
 *
 * - `fencing-per-row`: a write at a newer epoch takes over only the row it wrote (the run row, or
 *   one job row; a step write takes over nothing), so an older owner can still write the other rows.
 *   Per-shard fencing replaces per-row fencing with the cluster's shards.
 */
export type KnownGap = 'fencing-per-row';

export type DeclareTest = (name: string, test: () => Promise<void>) => void;

export interface ContractContext {
  store(): RunStore;
  /** Seed a fixture's run and hand the fixture back. */
  seed<T extends { loaded: LoadedRun }>(fixture: T): Promise<T>;
  /** loadRun that insists the run is there. */
  load(runId: string): Promise<LoadedRun>;
  /** `it`, or `it.fails` where this backend has the gap. */
  gap(name: KnownGap): DeclareTest;
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
